namespace SecureBuild.Core.Internal;

/// <summary>Lowercase hex encoding/decoding (netstandard2.0 has no Convert.ToHexString).</summary>
internal static class Hex
{
    private const string Digits = "0123456789abcdef";

    public static string Encode(byte[] bytes)
    {
        var chars = new char[bytes.Length * 2];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = Digits[bytes[i] >> 4];
            chars[2 * i + 1] = Digits[bytes[i] & 0xF];
        }

        return new string(chars);
    }

    /// <summary>Decodes hex (either case). Returns false for odd length or non-hex characters.</summary>
    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = Array.Empty<byte>();
        if (text.Length % 2 != 0)
        {
            return false;
        }

        var result = new byte[text.Length / 2];
        for (int i = 0; i < result.Length; i++)
        {
            int hi = Nibble(text[2 * i]);
            int lo = Nibble(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
            {
                return false;
            }

            result[i] = (byte)((hi << 4) | lo);
        }

        bytes = result;
        return true;
    }

    public static bool IsHex(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (Nibble(c) < 0)
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsLowerHex(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static int Nibble(char c)
    {
        if (c >= '0' && c <= '9')
        {
            return c - '0';
        }

        if (c >= 'a' && c <= 'f')
        {
            return c - 'a' + 10;
        }

        if (c >= 'A' && c <= 'F')
        {
            return c - 'A' + 10;
        }

        return -1;
    }
}
