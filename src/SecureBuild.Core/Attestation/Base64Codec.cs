namespace SecureBuild.Core.Attestation;

/// <summary>
/// Base64 as DSSE and proto3 JSON use it: standard (<c>+/</c>) or URL-safe (<c>-_</c>) alphabet, with or without
/// '=' padding, on read; standard with padding on write. Unlike <see cref="Convert.FromBase64String(string)"/>,
/// whitespace, mixed alphabets and misplaced padding are rejected.
/// </summary>
internal static class Base64Codec
{
    public static string Encode(byte[] bytes) => Convert.ToBase64String(bytes);

    /// <summary>Decodes <paramref name="text"/>; returns false (and an explanation) for anything that is not base64.</summary>
    public static bool TryDecode(string text, out byte[] bytes, out string error)
    {
        bytes = Array.Empty<byte>();
        error = string.Empty;
        if (text is null)
        {
            error = "missing";
            return false;
        }

        int length = text.Length;
        int padding = 0;
        while (length > 0 && text[length - 1] == '=')
        {
            length--;
            padding++;
        }

        if (padding > 2)
        {
            error = "too much '=' padding";
            return false;
        }

        bool standard = false;
        bool urlSafe = false;
        for (int i = 0; i < length; i++)
        {
            char c = text[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            {
                continue;
            }

            if (c == '+' || c == '/')
            {
                standard = true;
            }
            else if (c == '-' || c == '_')
            {
                urlSafe = true;
            }
            else if (c == '=')
            {
                error = $"'=' padding in the middle (at character {i})";
                return false;
            }
            else
            {
                error = char.IsWhiteSpace(c)
                    ? $"whitespace at character {i}"
                    : $"character '{(c < 0x20 || c > 0x7E ? "\\u" + ((int)c).ToString("X4") : c.ToString())}' at index {i} is not base64";
                return false;
            }
        }

        if (standard && urlSafe)
        {
            error = "mixes the standard (+/) and URL-safe (-_) alphabets";
            return false;
        }

        if (length % 4 == 1)
        {
            error = "wrong length (truncated?)";
            return false;
        }

        if (padding > 0 && (length + padding) % 4 != 0)
        {
            error = "wrong '=' padding";
            return false;
        }

        var sb = new System.Text.StringBuilder(length + 3);
        for (int i = 0; i < length; i++)
        {
            char c = text[i];
            sb.Append(c == '-' ? '+' : c == '_' ? '/' : c);
        }

        while (sb.Length % 4 != 0)
        {
            sb.Append('=');
        }

        try
        {
            bytes = Convert.FromBase64String(sb.ToString());
            return true;
        }
        catch (FormatException)
        {
            error = "not valid base64";
            return false;
        }
    }
}
