namespace SecureBuild.Core.Json;

/// <summary>
/// Orders strings by Unicode code point (what Python's str ordering and UTF-8 byte order do).
/// Plain UTF-16 ordinal order differs for astral characters: U+1F600 is stored as D83D DE00 and would
/// sort before U+FFFD.
/// </summary>
public sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    private CodePointComparer()
    {
    }

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        int n = Math.Min(x.Length, y.Length);
        for (int i = 0; i < n; i++)
        {
            char a = x[i];
            char b = y[i];
            if (a != b)
            {
                return Fix(a) - Fix(b);
            }
        }

        return x.Length - y.Length;
    }

    // Move surrogates (D800-DFFF) above E000-FFFF so that UTF-16 code unit order equals code point order.
    private static int Fix(char c)
    {
        if (c >= 0xE000)
        {
            return c - 0x800;
        }

        if (c >= 0xD800)
        {
            return c + 0x2000;
        }

        return c;
    }
}
