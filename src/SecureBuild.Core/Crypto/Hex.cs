namespace SecureBuild.Core.Crypto;

/// <summary>
/// The one hex helper: lowercase encoding, decoding and checks (netstandard2.0 has no Convert.ToHexString, and
/// digests, keyids and signatures are lowercase hex everywhere SecureBuild writes them). Digests of bytes, strings
/// and files are <see cref="Sha256Hex"/>, over this.
/// </summary>
public static class Hex
{
    private const string Digits = "0123456789abcdef";

    /// <summary>Lowercase hex of all of <paramref name="bytes"/>.</summary>
    public static string Encode(byte[] bytes) => Encode(bytes, bytes?.Length ?? 0);

    /// <summary>Lowercase hex of the first <paramref name="count"/> bytes (a short digest prefix for a file name).</summary>
    public static string Encode(byte[] bytes, int count)
    {
        if (bytes is null)
        {
            throw new ArgumentNullException(nameof(bytes));
        }

        if (count < 0 || count > bytes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        var chars = new char[count * 2];
        for (int i = 0; i < count; i++)
        {
            chars[2 * i] = Digits[bytes[i] >> 4];
            chars[2 * i + 1] = Digits[bytes[i] & 0xF];
        }

        return new string(chars);
    }

    /// <summary>The lowercase hex digit of <paramref name="nibble"/> (0-15).</summary>
    public static char Digit(int nibble) => Digits[nibble & 0xF];

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
            int hi = ValueOf(text[2 * i]);
            int lo = ValueOf(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
            {
                return false;
            }

            result[i] = (byte)((hi << 4) | lo);
        }

        bytes = result;
        return true;
    }

    /// <summary>True when <paramref name="text"/> is a non-empty run of hex digits (either case).</summary>
    public static bool IsHex(string text) => IsHex(text, text.Length);

    /// <summary>True when the first <paramref name="length"/> characters are a non-empty run of hex digits.</summary>
    public static bool IsHex(string text, int length)
    {
        if (length <= 0 || length > text.Length)
        {
            return false;
        }

        for (int i = 0; i < length; i++)
        {
            if (ValueOf(text[i]) < 0)
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

    /// <summary>The value of one hex digit (either case), or -1 for any other character (or byte).</summary>
    public static int ValueOf(int c)
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
