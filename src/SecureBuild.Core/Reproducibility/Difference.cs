namespace SecureBuild.Core.Reproducibility;

/// <summary>One explained difference between two builds' outputs.</summary>
public sealed class Difference
{
    public Difference(string artifact, string aspect, string? left, string? right, Cause cause, string? detail = null)
    {
        Artifact = artifact;
        Aspect = aspect;
        Left = left;
        Right = right;
        Cause = cause;
        Detail = detail;
    }

    /// <summary>The output, relative to the compared roots; an entry inside an archive is <c>pkg.nupkg!/lib/net8.0/A.dll</c>.</summary>
    public string Artifact { get; }

    /// <summary>What differs inside the artifact, e.g. <c>PE debug directory: CodeView PDB path</c>.</summary>
    public string Aspect { get; }

    /// <summary>The value in the first (left) build, shortened for display; null when absent there.</summary>
    public string? Left { get; }

    /// <summary>The value in the second (right) build.</summary>
    public string? Right { get; }

    public Cause Cause { get; internal set; }

    /// <summary>A longer explanation (e.g. a unified line diff), or null.</summary>
    public string? Detail { get; }

    /// <summary>
    /// When this difference only follows from another one (an MVID that is a hash of content that differs, an
    /// archive entry whose content differs), the artifact/aspect it follows from; null for a root cause.
    /// </summary>
    public string? ConsequenceOf { get; internal set; }

    public bool IsRootCause => ConsequenceOf is null;

    public override string ToString() => $"{Artifact}: {Aspect}: {Cause.Id}";
}

/// <summary>The state of one compared output.</summary>
public enum ArtifactStatus
{
    Identical,
    Different,
    OnlyLeft,
    OnlyRight,
}

/// <summary>One output file compared.</summary>
/// <param name="Path">The file's path inside the outputs.</param>
/// <param name="Kind">assembly, pdb, nupkg, zip, json, text, binary.</param>
/// <param name="Status">Identical, different, or only on one side.</param>
/// <param name="LeftSha256">The left file's SHA-256 (hex), when there is one.</param>
/// <param name="RightSha256">The right file's SHA-256 (hex), when there is one.</param>
/// <param name="LeftSize">The left file's size.</param>
/// <param name="RightSize">The right file's size.</param>
public sealed record ComparedArtifact(string Path, string Kind, ArtifactStatus Status, string? LeftSha256, string? RightSha256, long? LeftSize, long? RightSize);

/// <summary>A value that was deliberately varied between the builds (from `securebuild rebuild`), so differences can be traced to it.</summary>
/// <param name="Name">e.g. <c>build path</c>, <c>USER</c>, <c>HOME</c>, <c>TZ</c>.</param>
/// <param name="Left">The value in the first build.</param>
/// <param name="Right">The value in the second build.</param>
/// <param name="CauseId">The cause to report when an output contains this value: <c>environment-value</c> or an absolute-path cause.</param>
public sealed record KnownVariation(string Name, string Left, string Right, string CauseId = "environment-value");

/// <summary>Everything a comparison found.</summary>
public sealed class DiffReport
{
    public DiffReport(string leftLabel, string rightLabel)
    {
        LeftLabel = leftLabel;
        RightLabel = rightLabel;
    }

    public string LeftLabel { get; }

    public string RightLabel { get; }

    public List<ComparedArtifact> Artifacts { get; } = new();

    public List<Difference> Differences { get; } = new();

    /// <summary>Files deliberately not compared, with the reason (e.g. attestations signed per build).</summary>
    public List<KeyValuePair<string, string>> Skipped { get; } = new();

    /// <summary>What was varied between the builds (empty for a plain diff).</summary>
    public List<KnownVariation> Variations { get; } = new();

    public bool Identical => Artifacts.All(a => a.Status == ArtifactStatus.Identical) && Differences.Count == 0;

    /// <summary>Root-cause differences first (in the order found), then the consequences.</summary>
    public IEnumerable<Difference> Ordered() =>
        Differences.Where(d => d.IsRootCause).Concat(Differences.Where(d => !d.IsRootCause));

    /// <summary>One cause for a group: its specific title when all agree, else the catalog's general one.</summary>
    private static Cause Representative(IReadOnlyList<Cause> causes) =>
        causes.All(c => c.Title == causes[0].Title) ? causes[0] : Causes.All.FirstOrDefault(c => c.Id == causes[0].Id) ?? causes[0];

    /// <summary>The distinct causes of root differences, most frequent first.</summary>
    public IReadOnlyList<(Cause Cause, int Count, IReadOnlyList<string> Artifacts)> RootCauses() =>
        Differences.Where(d => d.IsRootCause)
            .GroupBy(d => d.Cause.Id)
            .Select(g => (Representative(g.Select(d => d.Cause).ToList()), g.Count(), (IReadOnlyList<string>)g.Select(d => d.Artifact).Distinct().ToList()))
            .OrderByDescending(t => t.Item2).ThenBy(t => t.Item1.Id, StringComparer.Ordinal)
            .ToList();
}
