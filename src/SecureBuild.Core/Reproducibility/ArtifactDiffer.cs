using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Reproducibility;

/// <summary>Options of a comparison.</summary>
public sealed class DiffOptions
{
    /// <summary>Values varied on purpose between the builds (from a rebuild), used to name causes.</summary>
    public IReadOnlyList<KnownVariation> Variations { get; set; } = Array.Empty<KnownVariation>();

    /// <summary>At most this many differences are reported per file (the rest are summarized).</summary>
    public int MaxDifferencesPerFile { get; set; } = 40;

    /// <summary>
    /// Relative paths (with '/') to skip when comparing directories, and why; a path ending in '/' skips a directory.
    /// Matching is on path segments: "attestations/" skips every directory of that name.
    /// </summary>
    public IDictionary<string, string> SkipDirectoryNames { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How much packages and zips may decompress to; an archive beyond them is compared as bytes, with the reason.</summary>
    public Archives.ArchiveLimits ArchiveLimits { get; set; } = Archives.ArchiveLimits.Default;
}

/// <summary>
/// The .NET-aware diff: compares two files or two directory trees and explains every difference. Assemblies are
/// compared by PE header, debug directory, metadata, IL and resources; portable PDBs by documents and debug
/// information; packages and zips entry by entry (recursively); JSON structurally; text by lines; anything else
/// by bytes. Differences that only follow from others (content hashes, copies of one file) are marked as
/// consequences so the root causes come first.
/// </summary>
public sealed class ArtifactDiffer
{
    private readonly DiffOptions _options;
    private readonly DiffReport _report;
    private readonly ValueClassifier _classifier;

    private ArtifactDiffer(DiffReport report, DiffOptions options)
    {
        _report = report;
        _options = options;
        _classifier = new ValueClassifier(options.Variations);
        report.Variations.AddRange(options.Variations);
    }

    private ArtifactDiffer(DiffReport report, DiffOptions options, ValueClassifier classifier)
    {
        _report = report;
        _options = options;
        _classifier = classifier;
    }

    internal ValueClassifier Classifier => _classifier;

    internal DiffOptions Options => _options;

    /// <summary>Compares two files, or two directories (every file below them, matched by relative path).</summary>
    public static DiffReport Compare(string left, string right, DiffOptions? options = null)
    {
        options ??= new DiffOptions();
        var report = new DiffReport(left, right);
        var differ = new ArtifactDiffer(report, options);
        if (Directory.Exists(left) && Directory.Exists(right))
        {
            differ.CompareTrees(left, right);
        }
        else if (File.Exists(left) && File.Exists(right))
        {
            differ.CompareBytes(Path.GetFileName(right) == Path.GetFileName(left) ? Path.GetFileName(left) : Path.GetFileName(left) + " ↔ " + Path.GetFileName(right),
                InputFile.ReadAllBytes(left, InputKind.Compared), InputFile.ReadAllBytes(right, InputKind.Compared));
        }
        else
        {
            throw new ArgumentException(
                Directory.Exists(left) || Directory.Exists(right)
                    ? "compare two directories or two files, not a directory with a file"
                    : $"{(File.Exists(left) ? right : left)} does not exist");
        }

        CascadeAnalyzer.Link(report);
        return report;
    }

    /// <summary>Compares two explicit sets of files (relative name → full path), as a rebuild does.</summary>
    public static DiffReport CompareSets(string leftLabel, IReadOnlyDictionary<string, string> left, string rightLabel, IReadOnlyDictionary<string, string> right, DiffOptions? options = null)
    {
        options ??= new DiffOptions();
        var report = new DiffReport(leftLabel, rightLabel);
        var differ = new ArtifactDiffer(report, options);
        differ.CompareFileSets(left, right);
        CascadeAnalyzer.Link(report);
        return report;
    }

    /// <summary>Compares two in-memory files.</summary>
    public static DiffReport CompareContents(string name, byte[] left, byte[] right, DiffOptions? options = null)
    {
        options ??= new DiffOptions();
        var report = new DiffReport("left", "right");
        new ArtifactDiffer(report, options).CompareBytes(name, left, right);
        CascadeAnalyzer.Link(report);
        return report;
    }

    private void CompareTrees(string left, string right)
    {
        var l = ListFiles(left);
        var r = ListFiles(right);
        CompareFileSets(l, r, left, right);
    }

    private Dictionary<string, string> ListFiles(string root)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var full = Path.GetFullPath(root);
        foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories))
        {
            var relative = file.Substring(full.Length).TrimStart(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Replace('\\', '/');
            var skip = SkipReason(relative);
            if (skip is not null)
            {
                if (!_report.Skipped.Any(s => s.Key == skip.Value.Key))
                {
                    _report.Skipped.Add(skip.Value);
                }

                continue;
            }

            files[relative] = file;
        }

        return files;
    }

    private KeyValuePair<string, string>? SkipReason(string relative)
    {
        var segments = relative.Split('/');
        foreach (var skip in _options.SkipDirectoryNames)
        {
            var name = skip.Key.TrimEnd('/');
            for (int i = 0; i < segments.Length - 1; i++)
            {
                if (segments[i] == name)
                {
                    return new KeyValuePair<string, string>(string.Join("/", segments.Take(i + 1)) + "/", skip.Value);
                }
            }
        }

        return null;
    }

    /// <param name="left">Relative name to full path of the left files.</param>
    /// <param name="right">Likewise for the right files.</param>
    /// <param name="leftRoot">The tree the left files come from: a file whose link leads out of it is refused (SB1702).</param>
    /// <param name="rightRoot">Likewise for the right files.</param>
    private void CompareFileSets(IReadOnlyDictionary<string, string> left, IReadOnlyDictionary<string, string> right, string? leftRoot = null, string? rightRoot = null)
    {
        // Each file is compared on its own (in parallel, into its own report), then merged in name order, so the
        // report does not depend on scheduling.
        var names = left.Keys.Union(right.Keys).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var parts = new DiffReport[names.Count];
        try
        {
            CompareEach(names, parts, left, right, leftRoot, rightRoot);
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is IOException || x is UnauthorizedAccessException) is { } refused)
        {
            // A file that cannot be read, or that the bounded reader refuses, ends the whole comparison with its own error.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(refused).Throw();
        }

        foreach (var part in parts)
        {
            _report.Artifacts.AddRange(part.Artifacts);
            _report.Differences.AddRange(part.Differences);
        }
    }

    private void CompareEach(List<string> names, DiffReport[] parts, IReadOnlyDictionary<string, string> left, IReadOnlyDictionary<string, string> right, string? leftRoot, string? rightRoot)
    {
        System.Threading.Tasks.Parallel.For(0, names.Count, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var part = new DiffReport(_report.LeftLabel, _report.RightLabel);
            var differ = new ArtifactDiffer(part, _options, _classifier);
            var name = names[i];
            bool inLeft = left.TryGetValue(name, out var lp);
            bool inRight = right.TryGetValue(name, out var rp);
            if (inLeft && inRight)
            {
                differ.CompareBytes(name, InputFile.ReadAllBytes(lp!, InputKind.Compared, leftRoot), InputFile.ReadAllBytes(rp!, InputKind.Compared, rightRoot));
            }
            else
            {
                var bytes = InputFile.ReadAllBytes(inLeft ? lp! : rp!, InputKind.Compared, inLeft ? leftRoot : rightRoot);
                part.Artifacts.Add(new ComparedArtifact(name, KindOf(name, bytes), inLeft ? ArtifactStatus.OnlyLeft : ArtifactStatus.OnlyRight,
                    inLeft ? Crypto.Sha256Hex.Of(bytes) : null, inRight ? Crypto.Sha256Hex.Of(bytes) : null, inLeft ? bytes.Length : null, inRight ? bytes.Length : null));
                differ.Add(new Difference(name, "file", inLeft ? "present" : null, inRight ? "present" : null, Causes.OnlyInOneBuild));
            }

            parts[i] = part;
        });
    }

    /// <summary>Compares one pair of files (or archive entries) and records the artifact and its differences.</summary>
    internal void CompareBytes(string name, byte[] left, byte[] right)
    {
        var kind = KindOf(name, left);
        if (left.AsSpan().SequenceEqual(right))
        {
            _report.Artifacts.Add(new ComparedArtifact(name, kind, ArtifactStatus.Identical, Crypto.Sha256Hex.Of(left), Crypto.Sha256Hex.Of(right), left.Length, right.Length));
            return;
        }

        _report.Artifacts.Add(new ComparedArtifact(name, kind, ArtifactStatus.Different, Crypto.Sha256Hex.Of(left), Crypto.Sha256Hex.Of(right), left.Length, right.Length));
        int before = _report.Differences.Count;
        bool unreadable = false;
        try
        {
            switch (kind)
            {
                case "assembly":
                    new AssemblyComparer(this, name).Compare(left, right);
                    break;
                case "pdb":
                    new PdbComparer(this, name).Compare(left, right);
                    break;
                case "nupkg":
                case "zip":
                    new ZipComparer(this, name).Compare(left, right);
                    break;
                case "json":
                    JsonComparer.Compare(this, name, left, right);
                    break;
                case "text":
                    TextComparer.Compare(this, name, Decode(left), Decode(right), Causes.Unknown);
                    break;
            }
        }
        catch (Exception e) when (Diagnostics.InternalError.IsCatchable(e) && e is not OutOfMemoryException)
        {
            // Both files are data: whatever the readers (System.Reflection.Metadata, the zip reader, the JSON parser)
            // throw on a damaged one (BadImageFormatException mostly, but also InvalidCastException, KeyNotFound, ...)
            // means "not readable as this kind", shown in the report with the exception, and compared as bytes.
            Add(new Difference(name, "structure", null, null, Causes.Unknown, $"could not be read as {kind} ({e.GetType().Name}: {e.Message}); compared as bytes"));
            unreadable = true;
        }

        // The report says "compared as bytes" for an unreadable file: keep that promise, also when the reader found
        // differences before it gave up.
        if (unreadable || _report.Differences.Count == before)
        {
            BinaryComparer.Compare(this, name, left, right);
        }
    }

    internal void Add(Difference difference) => _report.Differences.Add(difference);

    internal int CountFor(string artifact) => _report.Differences.Count(d => d.Artifact == artifact);

    internal DiffReport Report => _report;

    internal static string KindOf(string name, byte[] bytes)
    {
        var lower = name.ToLowerInvariant();
        if (bytes.Length >= 64 && bytes[0] == 'M' && bytes[1] == 'Z')
        {
            return "assembly";
        }

        if (bytes.Length >= 4 && bytes[0] == 'B' && bytes[1] == 'S' && bytes[2] == 'J' && bytes[3] == 'B')
        {
            return "pdb";
        }

        if (bytes.Length >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && (bytes[2] == 3 || bytes[2] == 5))
        {
            return lower.EndsWith(".nupkg", StringComparison.Ordinal) || lower.EndsWith(".snupkg", StringComparison.Ordinal) ? "nupkg" : "zip";
        }

        if (LooksLikeText(bytes))
        {
            return lower.EndsWith(".json", StringComparison.Ordinal) ? "json" : "text";
        }

        return "binary";
    }

    internal static bool LooksLikeText(byte[] bytes)
    {
        int n = Math.Min(bytes.Length, 8192);
        for (int i = 0; i < n; i++)
        {
            if (bytes[i] == 0)
            {
                return false;
            }
        }

        try
        {
            new UTF8Encoding(false, true).GetString(bytes, 0, bytes.Length);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    internal static string Decode(byte[] bytes)
    {
        int offset = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        return Encoding.UTF8.GetString(bytes, offset, bytes.Length - offset);
    }
}
