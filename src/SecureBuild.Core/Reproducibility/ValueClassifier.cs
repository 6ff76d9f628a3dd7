using System.Text.RegularExpressions;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// Decides why two values of the same thing differ: a varied environment value, an absolute path, a timestamp, a
/// GUID, a commit, a version, the same items reordered. Heuristic by nature; every rule looks only at the part of
/// the two values that differs.
/// </summary>
public sealed class ValueClassifier
{
    private static readonly Regex GuidPattern = new(@"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", RegexOptions.CultureInvariant);
    private static readonly Regex DatePattern = new(
        @"(\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}:\d{2}:\d{2}|\d{8}T?\d{6}|\b1[5-9]\d{8}\b|\b1[5-9]\d{11}\b|\b6\d{17}\b)",
        RegexOptions.CultureInvariant);
    private static readonly Regex CommitPattern = new(@"(\+|@|commit=""|/)[0-9a-f]{7,40}\b", RegexOptions.CultureInvariant);
    private static readonly Regex HexRun = new(@"\b[0-9a-f]{40}\b", RegexOptions.CultureInvariant);
    private static readonly Regex BranchAttribute = new(@"\s+branch=""[^""]*""", RegexOptions.CultureInvariant);
    private static readonly Regex VersionPattern = new(@"\d+\.\d+(\.\d+){0,2}", RegexOptions.CultureInvariant);
    private static readonly Regex AbsolutePath = new(@"(?<![\w.])(/(?:[\w.+@~-]+/)+[\w.+@~-]*|[A-Za-z]:\\(?:[^\\\s""'<>|]+\\)*[^\\\s""'<>|]*)", RegexOptions.CultureInvariant);

    private readonly IReadOnlyList<KnownVariation> _variations;

    public ValueClassifier(IReadOnlyList<KnownVariation>? variations = null)
    {
        _variations = variations ?? Array.Empty<KnownVariation>();
    }

    /// <summary>
    /// The cause of <paramref name="left"/> vs <paramref name="right"/>, or <paramref name="fallback"/> when no rule
    /// applies. <paramref name="pathCause"/> is reported for build-path differences (PDB documents, code, content).
    /// </summary>
    public Cause Classify(string? left, string? right, Cause fallback, Cause? pathCause = null)
    {
        pathCause ??= Causes.PathInContent;
        if (left is null || right is null || left == right)
        {
            return fallback;
        }

        // 1. A value we varied on purpose appears on each side: the cleanest explanation there is.
        foreach (var v in _variations)
        {
            if (v.Left.Length < 2 || v.Right.Length < 2 || v.Left == v.Right)
            {
                continue;
            }

            bool leftHas = left.IndexOf(v.Left, StringComparison.Ordinal) >= 0;
            bool rightHas = right.IndexOf(v.Right, StringComparison.Ordinal) >= 0;
            if (leftHas && rightHas && !(left.IndexOf(v.Right, StringComparison.Ordinal) >= 0 && v.Right.Contains(v.Left)))
            {
                if (v.CauseId == Causes.PathInContent.Id)
                {
                    return pathCause;
                }

                return Causes.Environment.WithTitle($"Value taken from the build environment: {v.Name} (\"{Short(v.Left)}\" vs \"{Short(v.Right)}\")");
            }
        }

        var (l, r) = DifferingWindow(left, right);

        // 2. Absolute paths that differ in their prefix only.
        var lp = AbsolutePath.Matches(left).Cast<Match>().Select(m => m.Value).Where(p => Overlaps(left, p, l)).ToList();
        var rp = AbsolutePath.Matches(right).Cast<Match>().Select(m => m.Value).Where(p => Overlaps(right, p, r)).ToList();
        if (lp.Count > 0 && rp.Count > 0 && lp.Count == rp.Count)
        {
            return pathCause;
        }

        string lw = l.Text, rw = r.Text;

        // 3. The nuspec's branch= (a branch vs a detached HEAD, or two branches): the rest is the same.
        if (BranchAttribute.IsMatch(left) || BranchAttribute.IsMatch(right))
        {
            if (BranchAttribute.Replace(left, string.Empty) == BranchAttribute.Replace(right, string.Empty))
            {
                return Causes.GitBranch;
            }
        }

        // 4. Commits: +<sha> in a version, commit="<sha>" in a nuspec, /<sha>/ in a Source Link URL. A commit on one
        //    side only: that build had no git repository.
        bool leftCommit = CommitPattern.IsMatch(Expand(left, l, 48)) || HexRun.IsMatch(Expand(left, l, 40));
        bool rightCommit = CommitPattern.IsMatch(Expand(right, r, 48)) || HexRun.IsMatch(Expand(right, r, 40));
        if (leftCommit && rightCommit)
        {
            return Causes.Commit;
        }

        if (leftCommit != rightCommit)
        {
            // The side without a commit lacks exactly what the other adds (+sha, commit="sha", a Source Link map).
            var (added, other, otherWindow) = leftCommit ? (lw, right, rw) : (rw, left, lw);
            if (HasCommit(added) && otherWindow.Trim().Length == 0 && !HasCommit(other))
            {
                return Causes.NoGitRepository;
            }
        }

        // 5. GUIDs.
        if (GuidPattern.IsMatch(Expand(left, l, 36)) && GuidPattern.IsMatch(Expand(right, r, 36)))
        {
            return Causes.RandomGuid;
        }

        // 6. Dates, times, epoch seconds/milliseconds, ticks.
        if (DatePattern.IsMatch(Expand(left, l, 19)) && DatePattern.IsMatch(Expand(right, r, 19)))
        {
            return Causes.Timestamp;
        }

        // 7. Same lines (or items) in another order.
        if (SameItemsReordered(left, right))
        {
            return Causes.Ordering;
        }

        // 8. Version numbers.
        if (VersionPattern.IsMatch(Expand(left, l, 12)) && VersionPattern.IsMatch(Expand(right, r, 12)) && lw.Any(char.IsDigit) && rw.Any(char.IsDigit))
        {
            return Causes.Version;
        }

        return fallback;
    }

    /// <summary>A commit anywhere in <paramref name="text"/>: +sha in a version, commit="sha", a 40-hex run.</summary>
    private static bool HasCommit(string text) => CommitPattern.IsMatch(text) || HexRun.IsMatch(text);

    /// <summary>True when the two texts hold the same lines (or comma/semicolon separated items) in a different order.</summary>
    public static bool SameItemsReordered(string left, string right)
    {
        foreach (var separators in new[] { new[] { '\n' }, new[] { ',', ';' } })
        {
            var a = left.Replace("\r", string.Empty).Split(separators).Select(s => s.Trim()).ToList();
            var b = right.Replace("\r", string.Empty).Split(separators).Select(s => s.Trim()).ToList();
            if (a.Count > 1 && a.Count == b.Count && !a.SequenceEqual(b) &&
                a.OrderBy(s => s, StringComparer.Ordinal).SequenceEqual(b.OrderBy(s => s, StringComparer.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    internal readonly struct Window
    {
        public Window(int start, int length, string text)
        {
            Start = start;
            Length = length;
            Text = text;
        }

        public int Start { get; }

        public int Length { get; }

        public string Text { get; }
    }

    /// <summary>The part of each string between their common prefix and common suffix.</summary>
    internal static (Window Left, Window Right) DifferingWindow(string left, string right)
    {
        int prefix = 0;
        int max = Math.Min(left.Length, right.Length);
        while (prefix < max && left[prefix] == right[prefix])
        {
            prefix++;
        }

        int suffix = 0;
        while (suffix < max - prefix && left[left.Length - 1 - suffix] == right[right.Length - 1 - suffix])
        {
            suffix++;
        }

        return (new Window(prefix, left.Length - prefix - suffix, left.Substring(prefix, left.Length - prefix - suffix)),
                new Window(prefix, right.Length - prefix - suffix, right.Substring(prefix, right.Length - prefix - suffix)));
    }

    private static bool Overlaps(string text, string token, Window w)
    {
        int index = 0;
        while ((index = text.IndexOf(token, index, StringComparison.Ordinal)) >= 0)
        {
            if (index <= w.Start + Math.Max(w.Length, 1) && index + token.Length >= w.Start)
            {
                return true;
            }

            index += Math.Max(1, token.Length);
        }

        return false;
    }

    /// <summary>The differing window widened by <paramref name="margin"/> characters on each side.</summary>
    private static string Expand(string text, Window w, int margin)
    {
        int start = Math.Max(0, w.Start - margin);
        int end = Math.Min(text.Length, w.Start + w.Length + margin);
        return text.Substring(start, end - start);
    }

    internal static string Short(string value, int max = 120)
    {
        if (value.Length <= max)
        {
            return value;
        }

        int cut = max - 1;
        if (char.IsHighSurrogate(value[cut - 1]))
        {
            cut--;
        }

        return value.Substring(0, cut) + "…";
    }
}
