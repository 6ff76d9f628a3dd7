namespace SecureBuild.Core.Sigstore;

internal static class ByteArrays
{
    /// <summary>Equal length and content (no early exit on content, so timing does not reveal the first difference).</summary>
    public static bool Equal(byte[]? a, byte[]? b)
    {
        if (a is null || b is null || a.Length != b.Length)
        {
            return false;
        }

        int diff = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff |= a[i] ^ b[i];
        }

        return diff == 0;
    }

    public static bool StartsWith(byte[] a, byte[] prefix)
    {
        if (a.Length < prefix.Length)
        {
            return false;
        }

        for (int i = 0; i < prefix.Length; i++)
        {
            if (a[i] != prefix[i])
            {
                return false;
            }
        }

        return true;
    }
}
