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
public sealed class ComparedArtifact
{
    public ComparedArtifact(string path, string kind, ArtifactStatus status, string? leftSha256, string? rightSha256, long? leftSize, long? rightSize)
    {
        Path = path;
        Kind = kind;
        Status = status;
        LeftSha256 = leftSha256;
        RightSha256 = rightSha256;
        LeftSize = leftSize;
        RightSize = rightSize;
    }

    public string Path { get; }

    /// <summary>assembly, pdb, nupkg, zip, json, text, binary.</summary>
    public string Kind { get; }

    public ArtifactStatus Status { get; }

    public string? LeftSha256 { get; }

    public string? RightSha256 { get; }

    public long? LeftSize { get; }

    public long? RightSize { get; }
}

/// <summary>A value that was deliberately varied between the builds (from `securebuild rebuild`), so differences can be traced to it.</summary>
public sealed class KnownVariation
{
    public KnownVariation(string name, string left, string right, string cause = "environment-value")
    {
        Name = name;
        Left = left;
        Right = right;
        CauseId = cause;
    }

    /// <summary>e.g. <c>build path</c>, <c>USER</c>, <c>HOME</c>, <c>TZ</c>.</summary>
    public string Name { get; }

    public string Left { get; }

    public string Right { get; }

    /// <summary>The cause to report when an output contains this value: <c>environment-value</c> or an absolute-path cause.</summary>
    public string CauseId { get; }
}

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
