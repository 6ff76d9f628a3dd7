using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Recording;

/// <summary>
/// Records one build step as an in-toto link: materials hashed before the step, products after,
/// artifact names made machine independent by an <see cref="ArtifactNamer"/>.
/// </summary>
public sealed class StepRecorder
{
    private readonly ArtifactNamer _namer;
    private readonly FileHashCache _cache;
    private readonly IReadOnlyList<string> _algorithms;
    private readonly List<string> _excludedDirectories;

    public StepRecorder(ArtifactNamer namer, FileHashCache cache, IReadOnlyList<string> algorithms, IEnumerable<string>? excludedDirectories = null)
    {
        _namer = namer;
        _cache = cache;
        _algorithms = algorithms;
        _excludedDirectories = (excludedDirectories ?? Enumerable.Empty<string>())
            .Where(d => !string.IsNullOrWhiteSpace(d))
            .Select(d => Path.GetFullPath(d).Replace('\\', '/').TrimEnd('/') + "/")
            .ToList();
    }

    /// <summary>How this recorder names artifacts.</summary>
    public ArtifactNamer Namer => _namer;

    /// <summary>Paths that were asked for but did not exist (they are left out of the map).</summary>
    public List<string> Missing { get; } = new();

    /// <summary>
    /// Hashes the given files, and every file below the given directories, into an artifact map.
    /// Missing paths are skipped and listed in <see cref="Missing"/>.
    /// </summary>
    public SortedDictionary<string, IReadOnlyDictionary<string, string>> Record(IEnumerable<string> files, IEnumerable<string>? directories = null) =>
        Record(Resolve(files, directories));

    /// <summary>Hashes files found by <see cref="Resolve"/> into an artifact map.</summary>
    public SortedDictionary<string, IReadOnlyDictionary<string, string>> Record(IEnumerable<RecordedFile> files)
    {
        var map = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            map[file.Name] = _cache.Hash(file.FullPath, _algorithms);
        }
        return map;
    }

    /// <summary>
    /// The files <see cref="Record(IEnumerable{string}, IEnumerable{string})"/> would hash, with their artifact
    /// names, without reading them. Missing paths are skipped and listed in <see cref="Missing"/>.
    /// </summary>
    public List<RecordedFile> Resolve(IEnumerable<string> files, IEnumerable<string>? directories = null)
    {
        var found = new List<RecordedFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                continue;
            }
            var full = Path.GetFullPath(file);
            if (!seen.Add(full) || IsExcluded(full))
            {
                continue;
            }
            if (!File.Exists(full))
            {
                Missing.Add(full);
                continue;
            }
            found.Add(new RecordedFile(full, _namer.Name(full)));
        }
        foreach (var directory in directories ?? Enumerable.Empty<string>())
        {
            if (string.IsNullOrWhiteSpace(directory))
            {
                continue;
            }
            var fullDir = Path.GetFullPath(directory);
            if (!Directory.Exists(fullDir))
            {
                Missing.Add(fullDir);
                continue;
            }
            foreach (var full in Directory.EnumerateFiles(fullDir, "*", SearchOption.AllDirectories))
            {
                if (seen.Add(full) && !IsExcluded(full))
                {
                    found.Add(new RecordedFile(full, _namer.Name(full)));
                }
            }
        }
        return found;
    }

    private bool IsExcluded(string fullPath)
    {
        var normalized = fullPath.Replace('\\', '/');
        return _excludedDirectories.Any(d => normalized.StartsWith(d, StringComparison.Ordinal));
    }

    /// <summary>Stores the materials of a step until its products are recorded.</summary>
    public static void WritePendingMaterials(string file, string stepName, SortedDictionary<string, IReadOnlyDictionary<string, string>> materials,
        DateTimeOffset? startedOn = null)
    {
        var root = new JsonMap
        {
            ["step"] = new JsonString(stepName),
            ["materials"] = ArtifactMapJson.ToJson(materials),
        };
        if (startedOn is { } started)
        {
            root["startedOn"] = started.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        AtomicFile.WriteAllBytes(file, JsonText.WriteUtf8(root));
    }

    /// <summary>The materials stored for <paramref name="stepName"/>, or null when there are none (or they are unreadable).</summary>
    public static SortedDictionary<string, IReadOnlyDictionary<string, string>>? ReadPendingMaterials(string file, string stepName)
    {
        try
        {
            if (!File.Exists(file))
            {
                return null;
            }
            if (JsonParser.Parse(InputFile.ReadAllBytes(file, InputKind.Cache)) is not JsonMap root ||
                !root.TryGetValue("step", out var step) || step is not JsonString s || s.Value != stepName ||
                !root.TryGetValue("materials", out var materials) || materials is not JsonMap m)
            {
                return null;
            }
            return ArtifactMapJson.FromJson(m);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonFormatException || e is InTotoFormatException)
        {
            return null;
        }
    }

    /// <summary>When the step whose materials are pending started, if it was recorded.</summary>
    public static DateTimeOffset? ReadPendingStartedOn(string file)
    {
        try
        {
            if (File.Exists(file) && JsonParser.Parse(InputFile.ReadAllBytes(file, InputKind.Cache)) is JsonMap root &&
                root.TryGetValue("startedOn", out var value) && value is JsonString s &&
                DateTimeOffset.TryParse(s.Value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var started))
            {
                return started;
            }
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonFormatException)
        {
        }
        return null;
    }

    /// <summary>
    /// Signs <paramref name="link"/> into <paramref name="directory"/> unless the file there already holds
    /// the same statement, validly signed by the same key (then the file is left untouched).
    /// </summary>
    /// <returns>The link's path, and whether it was (re)written.</returns>
    public static (string Path, bool Written) WriteLinkIfChanged(Link link, SigningKey key, string directory)
    {
        var (path, written, _) = WriteLinkIfChangedWithBytes(link, key, directory);
        return (path, written);
    }

    /// <summary>
    /// <see cref="WriteLinkIfChanged"/>, also giving the bytes of the link file as they were verified or written.
    /// <paramref name="certificatePem"/>: the X.509-SVID chain of <paramref name="key"/> for the signature's "cert"
    /// (<see cref="LinkFile.WriteSigned"/>); an existing file counts as the same only with the same certificate.
    /// </summary>
    public static (string Path, bool Written, byte[] Bytes) WriteLinkIfChangedWithBytes(Link link, SigningKey key, string directory, string? certificatePem = null)
    {
        var path = Path.Combine(directory, LinkFile.FileName(link.Name, key.KeyId));
        if (File.Exists(path))
        {
            try
            {
                var bytes = InputFile.ReadAllBytes(path, InputKind.Link);
                var existing = Metablock.Parse(bytes);
                var same = CanonicalJson.Serialize(existing.Signed).SequenceEqual(CanonicalJson.Serialize(link.ToJson()));
                if (same && existing.Signatures.Count == 1 && existing.Signatures[0].Cert == certificatePem && existing.VerifySignature(key.Public))
                {
                    return (path, false, bytes);
                }
            }
            catch (Exception e) when (e is IOException || e is JsonFormatException || e is InTotoFormatException)
            {
                // unreadable or foreign content: overwrite it below
            }
        }
        var written = LinkFile.WriteSigned(link, key, directory, certificatePem);
        return (written, true, InputFile.ReadAllBytes(written, InputKind.Link));
    }
}

/// <summary>A file a step records: its absolute path and its artifact name.</summary>
public readonly struct RecordedFile
{
    public RecordedFile(string fullPath, string name)
    {
        FullPath = fullPath;
        Name = name;
    }

    public string FullPath { get; }

    public string Name { get; }
}
