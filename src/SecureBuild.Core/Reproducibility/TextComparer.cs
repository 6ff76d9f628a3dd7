using System.Globalization;
using System.Text;

namespace SecureBuild.Core.Reproducibility;

/// <summary>Line diff of text files, each changed hunk classified on its own.</summary>
internal static class TextComparer
{
    internal readonly struct Hunk
    {
        public Hunk(int leftStart, int leftCount, int rightStart, int rightCount)
        {
            LeftStart = leftStart;
            LeftCount = leftCount;
            RightStart = rightStart;
            RightCount = rightCount;
        }

        public int LeftStart { get; }

        public int LeftCount { get; }

        public int RightStart { get; }

        public int RightCount { get; }
    }

    public static void Compare(ArtifactDiffer differ, string name, string left, string right, Cause fallback)
    {
        if (ValueClassifier.SameItemsReordered(left, right))
        {
            differ.Add(new Difference(name, "line order", Items(left), Items(right), Causes.Ordering, UnifiedDiff(left, right, 1, 30)));
            return;
        }

        var a = Lines(left);
        var b = Lines(right);
        var hunks = Diff(a, b);
        int reported = 0;
        foreach (var h in hunks)
        {
            if (reported++ >= differ.Options.MaxDifferencesPerFile)
            {
                differ.Add(new Difference(name, $"{hunks.Count - reported + 1} more changed regions", null, null, fallback));
                break;
            }

            var lt = string.Join("\n", a.Skip(h.LeftStart).Take(h.LeftCount));
            var rt = string.Join("\n", b.Skip(h.RightStart).Take(h.RightCount));
            var aspect = h.LeftCount <= 1 && h.RightCount <= 1
                ? string.Format(CultureInfo.InvariantCulture, "line {0}", h.LeftStart + 1)
                : string.Format(CultureInfo.InvariantCulture, "lines {0}-{1}", h.LeftStart + 1, h.LeftStart + Math.Max(h.LeftCount, 1));
            var cause = differ.Classifier.Classify(lt, rt, fallback, Causes.PathInContent);
            differ.Add(new Difference(name, aspect, ValueClassifier.Short(lt, 400), ValueClassifier.Short(rt, 400), cause, Render(a, b, new List<Hunk> { h }, 2, 40)));
        }
    }

    /// <summary>The non-empty lines of a text as one comma-separated line, for showing a reordering.</summary>
    public static string Items(string text) => ValueClassifier.Short(string.Join(", ", Lines(text).Where(l => l.Length > 0)), 300);

    public static string[] Lines(string text) => text.Replace("\r\n", "\n").Split('\n');

    /// <summary>Changed regions, by longest common subsequence over the lines between the common prefix and suffix.</summary>
    public static List<Hunk> Diff(string[] a, string[] b)
    {
        int prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        int suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        int n = a.Length - prefix - suffix;
        int m = b.Length - prefix - suffix;
        var hunks = new List<Hunk>();
        if (n == 0 && m == 0)
        {
            return hunks;
        }

        if ((long)n * m > 4_000_000)
        {
            hunks.Add(new Hunk(prefix, n, prefix, m));
            return hunks;
        }

        var lcs = new int[n + 1, m + 1];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        int x = 0, y = 0;
        int hs = -1, hr = -1;
        while (x < n || y < m)
        {
            if (x < n && y < m && a[prefix + x] == b[prefix + y])
            {
                if (hs >= 0)
                {
                    hunks.Add(new Hunk(prefix + hs, x - hs, prefix + hr, y - hr));
                    hs = hr = -1;
                }

                x++;
                y++;
                continue;
            }

            if (hs < 0)
            {
                hs = x;
                hr = y;
            }

            if (y < m && (x >= n || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                y++;
            }
            else
            {
                x++;
            }
        }

        if (hs >= 0)
        {
            hunks.Add(new Hunk(prefix + hs, x - hs, prefix + hr, y - hr));
        }

        return hunks;
    }

    /// <summary>The first changed region of each side, shortened.</summary>
    public static (string Left, string Right) FirstDifferingLines(string left, string right)
    {
        if (ValueClassifier.SameItemsReordered(left, right))
        {
            return (Items(left), Items(right));
        }

        var a = Lines(left);
        var b = Lines(right);
        var hunks = Diff(a, b);
        if (hunks.Count == 0)
        {
            return (string.Empty, string.Empty);
        }

        var h = hunks[0];
        return (ValueClassifier.Short(string.Join("\n", a.Skip(h.LeftStart).Take(Math.Min(h.LeftCount, 6))).Trim(), 300),
                ValueClassifier.Short(string.Join("\n", b.Skip(h.RightStart).Take(Math.Min(h.RightCount, 6))).Trim(), 300));
    }

    /// <summary>A unified diff (without file headers) of at most <paramref name="maxLines"/> lines.</summary>
    public static string UnifiedDiff(string left, string right, int context, int maxLines)
    {
        var a = Lines(left);
        var b = Lines(right);
        return Render(a, b, Diff(a, b), context, maxLines);
    }

    private static string Render(string[] a, string[] b, List<Hunk> hunks, int context, int maxLines)
    {
        var sb = new StringBuilder();
        int lines = 0;
        foreach (var h in hunks)
        {
            int start = Math.Max(0, h.LeftStart - context);
            int rightStart = Math.Max(0, h.RightStart - context);
            int before = h.LeftStart - start;
            int after = Math.Min(context, a.Length - (h.LeftStart + h.LeftCount));
            sb.AppendFormat(CultureInfo.InvariantCulture, "@@ -{0},{1} +{2},{3} @@\n", start + 1, before + h.LeftCount + after, rightStart + 1, before + h.RightCount + after);
            for (int i = start; i < h.LeftStart; i++)
            {
                sb.Append(' ').Append(a[i]).Append('\n');
            }

            for (int i = 0; i < h.LeftCount && lines < maxLines; i++, lines++)
            {
                sb.Append('-').Append(ValueClassifier.Short(a[h.LeftStart + i], 300)).Append('\n');
            }

            for (int i = 0; i < h.RightCount && lines < maxLines; i++, lines++)
            {
                sb.Append('+').Append(ValueClassifier.Short(b[h.RightStart + i], 300)).Append('\n');
            }

            for (int i = 0; i < after; i++)
            {
                sb.Append(' ').Append(a[h.LeftStart + h.LeftCount + i]).Append('\n');
            }

            if (lines >= maxLines)
            {
                sb.Append("…\n");
                break;
            }
        }

        return sb.ToString();
    }
}
