using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Recording;

/// <summary>
/// Hashes files, remembering each file's digests by path, size and last-write time so a no-op build
/// only stats what it records. Entries for files written in the last two seconds are not kept: a
/// same-size rewrite within the file system's timestamp granularity must not be mistaken for no change.
/// </summary>
public sealed class FileHashCache
{
    /// <summary>Digest algorithms a link may record, with their in-toto names.</summary>
    public static readonly IReadOnlyList<string> SupportedAlgorithms = new[] { "sha256", "sha384", "sha512" };

    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);
    private const string HeaderPrefix = "securebuild-hash-cache 2 ";

    private readonly string? _file;
    private readonly PathMapping? _mapping;
    private readonly string _header;
    private readonly Func<DateTime> _utcNow;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private bool _dirty;

    /// <summary>
    /// Digests shared by every cache of this process that sets <see cref="SharedAcrossProcess"/>: an
    /// MSBuild node builds many projects that read the same reference assemblies and packages, and a
    /// clean build has no per-project cache yet. Path-mapped digests are never shared.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Entry> Shared = new(StringComparer.Ordinal);

    /// <summary>Reuse (and contribute to) digests computed by other caches in this process.</summary>
    public bool SharedAcrossProcess { get; set; }

    /// <summary>Number of files actually read and hashed since this cache was created.</summary>
    public int FilesHashed { get; private set; }

    private FileHashCache(string? file, PathMapping? mapping, Func<DateTime> utcNow)
    {
        _file = file;
        _mapping = mapping;
        _utcNow = utcNow;
        // Digests of machine-local files depend on the mapping: a cache made under another one is not reused.
        _header = HeaderPrefix + (mapping is null ? "-" : Crypto.Sha256Hex.Of(mapping.Fingerprint));
    }

    /// <summary>A cache that lives only in memory.</summary>
    /// <param name="mapping">When given, machine-local files (see <see cref="PathMapping"/>) get path-mapped digests.</param>
    /// <param name="utcNow">The clock (tests pin it).</param>
    public static FileHashCache InMemory(PathMapping? mapping = null, Func<DateTime>? utcNow = null) =>
        new(null, mapping, utcNow ?? (() => DateTime.UtcNow));

    /// <summary>Loads the cache stored at <paramref name="file"/>; a missing, unreadable or foreign cache starts empty.</summary>
    public static FileHashCache Open(string file, PathMapping? mapping = null, Func<DateTime>? utcNow = null)
    {
        var cache = new FileHashCache(file, mapping, utcNow ?? (() => DateTime.UtcNow));
        cache.Load();
        return cache;
    }

    /// <summary>Validates algorithm names; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public static IReadOnlyList<string> ParseAlgorithms(string? list)
    {
        var names = (list ?? "").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(n => n.Trim().ToLowerInvariant()).Where(n => n.Length > 0).Distinct().ToList();
        if (names.Count == 0)
        {
            names.Add("sha256");
        }
        foreach (var name in names)
        {
            if (!SupportedAlgorithms.Contains(name))
            {
                throw new ArgumentException($"'{name}' is not a supported hash algorithm; use one or more of {string.Join(", ", SupportedAlgorithms)}.");
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>
    /// The digests of the file at <paramref name="fullPath"/>, algorithm name to lowercase hex. For a
    /// machine-local file (and a cache with a <see cref="PathMapping"/>) the names carry the
    /// <see cref="PathMapping.AlgorithmSuffix"/> and the digests are of the path-mapped content.
    /// </summary>
    public IReadOnlyDictionary<string, string> Hash(string fullPath, IReadOnlyList<string> algorithms)
    {
        var info = new FileInfo(fullPath);
        var length = info.Length; // throws FileNotFoundException for a missing file
        var ticks = info.LastWriteTimeUtc.Ticks;
        var mapped = _mapping is not null && PathMapping.IsMachineLocal(fullPath);
        var names = mapped ? algorithms.Select(a => a + PathMapping.AlgorithmSuffix).ToList() : algorithms;
        if (_entries.TryGetValue(fullPath, out var cached) && cached.Length == length && cached.Ticks == ticks &&
            names.All(cached.Digests.ContainsKey))
        {
            return names.ToDictionary(a => a, a => cached.Digests[a], StringComparer.Ordinal);
        }
        if (!mapped && SharedAcrossProcess && Shared.TryGetValue(fullPath, out var shared) && shared.Length == length && shared.Ticks == ticks &&
            names.All(shared.Digests.ContainsKey))
        {
            // Another project built by this process already hashed it (reference assemblies, packages).
            var reused = names.ToDictionary(a => a, a => shared.Digests[a], StringComparer.Ordinal);
            _entries[fullPath] = new Entry(length, ticks, new Dictionary<string, string>(reused, StringComparer.Ordinal));
            _dirty = true;
            return reused;
        }
        var digests = ComputeDigests(fullPath, algorithms, mapped ? _mapping : null);
        FilesHashed++;
        if (_utcNow() - info.LastWriteTimeUtc > RacyWindow)
        {
            _entries[fullPath] = new Entry(length, ticks, new Dictionary<string, string>(digests, StringComparer.Ordinal));
            _dirty = true;
            if (!mapped && SharedAcrossProcess)
            {
                Shared[fullPath] = new Entry(length, ticks, new Dictionary<string, string>(digests, StringComparer.Ordinal));
            }
        }
        else if (_entries.Remove(fullPath))
        {
            _dirty = true;
        }
        return digests;
    }

    /// <summary>Writes the cache back (atomically) if anything changed.</summary>
    public void Save()
    {
        if (_file is null || !_dirty)
        {
            return;
        }
        var text = new StringBuilder();
        text.Append(_header).Append('\n');
        foreach (var pair in _entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(pair.Value.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(pair.Value.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(string.Join(",", pair.Value.Digests.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => d.Key + "=" + d.Value)))
                .Append('\t').Append(pair.Key).Append('\n');
        }
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        AtomicFile.WriteAllBytes(_file, new UTF8Encoding(false).GetBytes(text.ToString()));
        _dirty = false;
    }

    private void Load()
    {
        string[] lines;
        try
        {
            if (!File.Exists(_file))
            {
                return;
            }
            lines = InputFile.ReadAllText(_file!, InputKind.Cache).Split('\n');
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }
        if (lines.Length == 0 || lines[0] != _header)
        {
            return; // another version or garbage: start over, it is only a cache
        }
        for (var i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split(new[] { '\t' }, 4);
            if (fields.Length != 4 ||
                !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length) ||
                !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
            {
                continue;
            }
            var digests = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in fields[2].Split(','))
            {
                var eq = pair.IndexOf('=');
                if (eq > 0 && IsLowerHex(pair.Substring(eq + 1)))
                {
                    digests[pair.Substring(0, eq)] = pair.Substring(eq + 1);
                }
            }
            if (digests.Count > 0)
            {
                _entries[fields[3]] = new Entry(length, ticks, digests);
            }
        }
    }

    private static bool IsLowerHex(string s) => s.Length > 0 && s.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));

    /// <summary>
    /// Streams the file through one hasher per algorithm; with a <paramref name="mapping"/>, the path-mapped content
    /// (block by block, never whole in memory) under the "-pathmapped" names.
    /// </summary>
    private static Dictionary<string, string> ComputeDigests(string fullPath, IReadOnlyList<string> algorithms, PathMapping? mapping)
    {
        var hashers = algorithms.Select(CreateAlgorithm).ToArray();
        try
        {
            if (mapping is null)
            {
                InputFile.Hash(fullPath, InputKind.Artifact, null, hashers);
            }
            else
            {
                using (var stream = InputFile.OpenRead(fullPath, InputKind.Assets))
                {
                    mapping.Map(stream, (bytes, offset, count) =>
                    {
                        foreach (var hasher in hashers)
                        {
                            hasher.TransformBlock(bytes, offset, count, null, 0);
                        }
                    });
                }
                foreach (var hasher in hashers)
                {
                    hasher.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                }
            }
            var suffix = mapping is null ? "" : PathMapping.AlgorithmSuffix;
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < hashers.Length; i++)
            {
                result[algorithms[i] + suffix] = Crypto.Hex.Encode(hashers[i].Hash!);
            }
            return result;
        }
        finally
        {
            foreach (var h in hashers)
            {
                h.Dispose();
            }
        }
    }

    private static HashAlgorithm CreateAlgorithm(string name) => name switch
    {
        "sha256" => SHA256.Create(),
        "sha384" => SHA384.Create(),
        "sha512" => SHA512.Create(),
        _ => throw new ArgumentException($"'{name}' is not a supported hash algorithm."),
    };

    private sealed record Entry(long Length, long Ticks, Dictionary<string, string> Digests);
}
