using System.Collections.Concurrent;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Locking;

/// <summary>
/// What earlier builds verified, by folder: the fingerprint (paths, sizes, write times) of a package
/// or pack folder that passed, with its content hash (or tree digest) and signature summary. Kept in
/// obj/ per project, and shared in memory by every project an MSBuild node builds. A missing,
/// unreadable or foreign file starts empty: it is only a cache, never a source of trust on its own
/// (a changed folder has another fingerprint and is verified again in full).
/// </summary>
public sealed class PackageVerificationState
{
    private const string Header = "securebuild-package-state 1";
    private static readonly ConcurrentDictionary<string, Entry> Shared = new(StringComparer.Ordinal);
    private readonly string? _file;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private bool _dirty;

    private PackageVerificationState(string? file) => _file = file;

    /// <summary>One folder that passed.</summary>
    public sealed class Entry
    {
        public Entry(string fingerprint, string contentHash, string? signature)
        {
            Fingerprint = fingerprint;
            ContentHash = contentHash;
            Signature = signature;
        }

        public string Fingerprint { get; }
        public string ContentHash { get; }
        public string? Signature { get; }
    }

    public static PackageVerificationState InMemory() => new(null);

    public static PackageVerificationState Open(string file)
    {
        var state = new PackageVerificationState(file);
        try
        {
            if (File.Exists(file))
            {
                var lines = File.ReadAllText(file, Encoding.UTF8).Split('\n');
                if (lines.Length > 0 && lines[0] == Header)
                {
                    foreach (var line in lines.Skip(1))
                    {
                        var f = line.Split('\t');
                        if (f.Length == 4 && f[0].Length == 64)
                        {
                            state._entries[f[3]] = new Entry(f[0], f[1], f[2].Length == 0 ? null : Unescape(f[2]));
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
        return _file is not null && Shared.TryGetValue(directory, out var shared) ? shared : null;
    }

    public void Set(string directory, Entry entry)
    {
        _entries[directory] = entry;
        Shared[directory] = entry;
        _dirty = true;
    }

    public void Remove(string directory)
    {
        _dirty |= _entries.Remove(directory);
        Shared.TryRemove(directory, out _);
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
            text.Append(kv.Value.Fingerprint).Append('\t').Append(kv.Value.ContentHash).Append('\t')
                .Append(Escape(kv.Value.Signature ?? "")).Append('\t').Append(kv.Key).Append('\n');
        }
        AtomicFile.WriteAllBytes(_file, new UTF8Encoding(false).GetBytes(text.ToString()));
        _dirty = false;
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
