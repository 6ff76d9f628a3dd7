using System.Collections.Concurrent;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Locking;

/// <summary>
/// What earlier builds verified, by folder: the fingerprint (paths, sizes, write times) of a package
/// or pack folder that passed, with its content hash (or tree digest) and signature summary. Kept in
/// obj/ per project, and shared in memory by every project an MSBuild node builds. A missing,
/// unreadable or foreign file starts empty: it is only a cache, never a source of trust on its own
/// (a changed folder has another fingerprint and is verified again in full). With a <see cref="UserVerificationStore"/>,
/// a folder this file does not know is looked up there (what another build of this user verified), and every folder
/// that passes or fails is written to or deleted from it too.
/// </summary>
public sealed class PackageVerificationState
{
    private const string Header = "securebuild-package-state 2";
    private static readonly ConcurrentDictionary<string, Entry> Shared = new(StringComparer.Ordinal);
    private readonly string? _file;
    private readonly UserVerificationStore? _store;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private bool _dirty;

    private PackageVerificationState(string? file, UserVerificationStore? store)
    {
        _file = file;
        _store = store;
    }

    /// <summary>How many entries came from the <see cref="UserVerificationStore"/>.</summary>
    public int FromUserStore { get; private set; }

    /// <summary>One folder that passed.</summary>
    public sealed class Entry
    {
        public Entry(string fingerprint, string contentHash, string? signature, IReadOnlyList<string>? paths = null)
        {
            Fingerprint = fingerprint;
            ContentHash = contentHash;
            Signature = signature;
            Paths = paths;
        }

        private Entry(string fingerprint, string contentHash, string? signature, string escapedPaths)
            : this(fingerprint, contentHash, signature) => _escapedPaths = escapedPaths;

        private string? _escapedPaths;
        private string? _pathList;

        /// <summary>
        /// Every entry of the folder when it passed (relative, directories ending in '/'), so that a
        /// no-op build can lstat them by name instead of listing the folder; null when not recorded.
        /// </summary>
        public IReadOnlyList<string>? Paths
        {
            get => PathList?.Split('\0');
            private set => _pathList = value is null || value.Count == 0 ? null : string.Join("\0", value);
        }

        /// <summary><see cref="Paths"/> joined with NUL (which no file name contains), as kept in memory.</summary>
        public string? PathList
        {
            get
            {
                if (_pathList is null && _escapedPaths is not null)
                {
                    _pathList = _escapedPaths.Length == 0 ? null : _escapedPaths.IndexOf('\\') < 0 ? _escapedPaths : Unescape(_escapedPaths);
                    _escapedPaths = null;
                }
                return _pathList;
            }
        }

        internal static Entry Read(string fingerprint, string contentHash, string? signature, string escapedPaths) =>
            new(fingerprint, contentHash, signature, escapedPaths);

        public string Fingerprint { get; }
        public string ContentHash { get; }
        public string? Signature { get; }
    }

    public static PackageVerificationState InMemory(UserVerificationStore? store = null) => new(null, store);

    /// <param name="file">This project's state (obj/).</param>
    /// <param name="store">The per-user store consulted for folders the file does not know; null: none.</param>
    public static PackageVerificationState Open(string file, UserVerificationStore? store = null)
    {
        var state = new PackageVerificationState(file, store);
        try
        {
            if (File.Exists(file))
            {
                // Line by line: the file can be hundreds of kilobytes, and one string that large would land on
                // the large object heap of the MSBuild node, whose collection costs more than reading the file.
                using var reader = new StreamReader(InputFile.OpenRead(file, InputKind.Cache), new UTF8Encoding(false), false, 1 << 16);
                if (reader.ReadLine() == Header)
                {
                    string? line;
                    while ((line = reader.ReadLine()) is not null)
                    {
                        if (TryParseLine(line, out var key, out var entry))
                        {
                            state._entries[key] = entry;
                        }
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return state;
    }

    public Entry? Get(string directory)
    {
        if (_entries.TryGetValue(directory, out var entry))
        {
            return entry;
        }
        // Another project in this process verified it (the fingerprint decides whether it still holds).
        if (_file is not null && Shared.TryGetValue(directory, out var shared))
        {
            return shared;
        }
        // Another build of this user verified it (a clean build: obj/ is gone); again the fingerprint decides.
        if (_store?.Read(directory) is { } stored)
        {
            FromUserStore++;
            return stored;
        }
        return null;
    }

    public void Set(string directory, Entry entry)
    {
        _entries[directory] = entry;
        Shared[directory] = entry;
        _dirty = true;
        _store?.Write(directory, entry);
    }

    /// <summary>
    /// Keeps an entry that still holds in this project's file. An entry another project of this process verified
    /// (answered from the shared memory) is copied in, so the next build, in a fresh process, finds it here
    /// instead of verifying the folder again in full.
    /// </summary>
    public void Keep(string directory, Entry entry)
    {
        if (!_entries.TryGetValue(directory, out var own) || !ReferenceEquals(own, entry))
        {
            _entries[directory] = entry;
            _dirty = true;
        }
    }

    public void Remove(string directory)
    {
        _dirty |= _entries.Remove(directory);
        Shared.TryRemove(directory, out _);
        _store?.Delete(directory);
    }

    /// <summary>Keeps only these folders (what the project uses now) and writes the file if anything changed.</summary>
    public void Save(IEnumerable<string>? keep = null)
    {
        if (keep is not null)
        {
            var set = new HashSet<string>(keep, StringComparer.Ordinal);
            foreach (var stale in _entries.Keys.Where(k => !set.Contains(k)).ToList())
            {
                _entries.Remove(stale);
                _dirty = true;
            }
        }
        if (_file is null || !_dirty)
        {
            return;
        }
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        foreach (var kv in _entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(FormatLine(kv.Key, kv.Value));
        }
        AtomicFile.WriteAllBytes(_file, new UTF8Encoding(false).GetBytes(text.ToString()));
        _dirty = false;
    }

    /// <summary>One entry as a line of the file: fingerprint, content hash, signature, key, paths (tab-separated, escaped).</summary>
    internal static string FormatLine(string key, Entry entry) =>
        new StringBuilder().Append(entry.Fingerprint).Append('\t').Append(entry.ContentHash).Append('\t')
            .Append(Escape(entry.Signature ?? "")).Append('\t').Append(key).Append('\t')
            .Append(entry.PathList is { } paths ? Escape(paths) : "").Append('\n').ToString();

    /// <summary>Reads a line <see cref="FormatLine"/> wrote; false for anything else.</summary>
    internal static bool TryParseLine(string line, out string key, out Entry entry)
    {
        var f = line.Split('\t');
        if (f.Length == 5 && f[0].Length == 64 && f[1].Length > 0 && f[3].Length > 0)
        {
            key = f[3];
            entry = Entry.Read(f[0], f[1], f[2].Length == 0 ? null : Unescape(f[2]), f[4]);
            return true;
        }
        key = "";
        entry = null!;
        return false;
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\n", "\\n");

    private static string Unescape(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
                sb.Append(s[i] switch { 't' => '\t', 'n' => '\n', _ => s[i] });
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }
}
