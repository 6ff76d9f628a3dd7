using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.InToto;

/// <summary>Artifact names that are not normalized relative paths (warned about; rules compare names as plain strings).</summary>
internal static class ArtifactPath
{
    /// <summary>Empty, absolute, a backslash, an empty, "." or ".." segment, or a trailing '/'. One pass.</summary>
    public static bool IsUnusual(string p)
    {
        int n = p.Length;
        if (n == 0 || p[0] == '/' || p[n - 1] == '/')
        {
            return true;
        }

        int segmentStart = 0;
        for (int i = 0; i <= n; i++)
        {
            char c = i < n ? p[i] : '/';
            if (c == '\\')
            {
                return true;
            }

            if (c == '/')
            {
                int length = i - segmentStart;
                if (length == 0 || (length <= 2 && p[segmentStart] == '.' && (length == 1 || p[segmentStart + 1] == '.')))
                {
                    return true;
                }

                segmentStart = i + 1;
            }
        }

        return false;
    }

    /// <summary>
    /// The same test on a name's UTF-8 bytes: '/', '\\' and '.' are single bytes that never occur inside a multi-byte
    /// character, and a segment is "." or ".." in bytes exactly when it is in characters.
    /// </summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public static bool IsUnusual(byte[] b, int start, int length)
    {
        // A name is certainly usual when it does not start with '/' or '.', does not end with '/', and holds no '\\',
        // "//" or "/." (every unusual name has one of these); that is checked eight bytes at a time.
        int end = start + length;
        if (length == 0 || b[start] == '/' || b[start] == '.' || b[end - 1] == '/')
        {
            return IsUnusualBytes(b, start, length);
        }

        const ulong ones = 0x0101010101010101UL;
        ulong carry = 0; // 0x80 in the lowest byte when the previous word ended with '/'
        int i = start;
        for (; i + 8 <= end; i += 8)
        {
            ulong v = BitConverter.ToUInt64(b, i);
            ulong slash = ZeroBytes(v ^ (ones * '/'));
            ulong suspicious = ZeroBytes(v ^ (ones * '\\')) | (((slash << 8) | carry) & (slash | ZeroBytes(v ^ (ones * '.'))));
            if (suspicious != 0)
            {
                return IsUnusualBytes(b, start, length);
            }

            carry = slash >> 56;
        }

        for (; i < end; i++)
        {
            byte c = b[i];
            if (c == '\\' || ((c == '/' || c == '.') && i > start && b[i - 1] == '/'))
            {
                return IsUnusualBytes(b, start, length);
            }
        }

        return false;
    }

    // 0x80 in every byte of v that is zero, 0 elsewhere (exact: no borrow between bytes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroBytes(ulong v)
    {
        const ulong lows = 0x7F7F7F7F7F7F7F7FUL;
        return ~(((v & lows) + lows) | v | lows);
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static bool IsUnusualBytes(byte[] b, int start, int length)
    {
        int end = start + length;
        if (length == 0 || b[start] == '/' || b[end - 1] == '/')
        {
            return true;
        }

        int segmentStart = start;
        for (int i = start; i <= end; i++)
        {
            byte c = i < end ? b[i] : (byte)'/';
            if (c > '/' && c != '\\')
            {
                continue; // neither a separator, a dot nor a backslash
            }

            if (c == '\\')
            {
                return true;
            }

            if (c == '/')
            {
                int segment = i - segmentStart;
                if (segment == 0 || (segment <= 2 && b[segmentStart] == '.' && (segment == 1 || b[segmentStart + 1] == '.')))
                {
                    return true;
                }

                segmentStart = i + 1;
            }
        }

        return false;
    }
}
