using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// The tracer's digests kept from one trace to the next, so that a build's thousand unchanged SDK and package files are
/// not read and hashed again each time (a no-op build of ten projects reads about 150 MB of them). An entry is keyed by
/// what the kernel says of the file: device, inode, size, modification time and change time, both in nanoseconds. The
/// change time cannot be set from user space: any write, rename or chmod moves it to "now". This is the trust the SDK's
/// hash cache and MSBuild's incremental build already place in file metadata (documented; <c>--no-hash-cache</c> turns
/// it off). Two guards:
/// <list type="bullet">
/// <item>A digest is kept only when the file's status after hashing is the one before, and its change time is more than
/// two seconds old: a rewrite of the same size within the file system's timestamp granularity cannot hide behind it.</item>
/// <item>A build cannot plant digests for the next trace: the store lives outside every folder the default policy lets a
/// build write, and it is deleted instead of saved when the store file is not exactly as it was when the trace started
/// (<see cref="ChangedSinceOpen"/>: any write through any name, a hard link or a symbolic link included, moves its change
/// time, and every process of the traced tree ends before the trace does), or when a traced process wrote, created,
/// renamed or deleted anything in the store's folder (<see cref="TracedWriteInto"/>).</item>
/// </list>
/// A trace holds the store's lock (an advisory lock on <c>hashes.lock</c> beside it) from before the command starts until
/// the store is saved, so no other trace saves it meanwhile; a trace that finds it held goes without the store (a
/// concurrent trace of the same user), instead of mistaking the other's save for tampering.
/// What this does not stop is another process of the same user, outside the trace, rewriting the store between two
/// traces; such a process could as well replace the securebuild tool itself.
/// A missing, unreadable, oversized or foreign store is an empty one: it is only a cache.
/// </summary>
internal sealed class TraceHashStore : IDisposable
{
    private const string Header = "securebuild-trace-hashes 1";
    private const int MaxEntries = 100_000;
    private static readonly long RacyWindowNs = 2_000_000_000L;

    private readonly string _file;
    private readonly FileStream _lock;
    private readonly Key? _atOpen;
    private readonly Dictionary<Key, string> _loaded = new();
    private readonly ConcurrentDictionary<Key, string> _used = new();
    private int _hits;

    private TraceHashStore(string file, FileStream held)
    {
        _file = file;
        _lock = held;
        _atOpen = StatusOf(file);
    }

    /// <summary>Digests this trace took from the store instead of reading the file.</summary>
    public int Hits => _hits;

    /// <summary>The default store: <c>$XDG_CACHE_HOME/securebuild-trace/hashes</c>, else <c>~/.cache/securebuild-trace/hashes</c>
    /// (not under <c>securebuild/</c>, where the SDK keeps per-user state a traced build may write); null without a home.</summary>
    public static string? DefaultFile(Func<string, string?> environment) =>
        UserCache.Root(environment) is { } root ? Path.Combine(root, "securebuild-trace", "hashes") : null;

    /// <summary>Takes the store's lock and loads the store at <paramref name="file"/> (bounded: a cache file of at most
    /// 256 MiB); null when another trace holds the lock or the folder cannot be made (this trace then hashes everything).
    /// Dispose releases the lock.</summary>
    public static TraceHashStore? TryOpen(string file)
    {
        string full = Path.GetFullPath(file);
        FileStream held;
        try
        {
            PrivateFile.CreateDirectory(Path.GetDirectoryName(full)!);
            // FileShare.None is an exclusive advisory lock (flock) on Unix, released when the stream is closed or the process ends.
            held = new FileStream(full + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }

        var store = new TraceHashStore(full, held);
        store.Load();
        return store;
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>The digest kept for a file in this state, if any.</summary>
    public bool TryGet(in FileStatus status, out string sha256)
    {
        var key = Key.Of(status);
        if (_loaded.TryGetValue(key, out var found) || _used.TryGetValue(key, out found))
        {
            _used[key] = found;
            Interlocked.Increment(ref _hits);
            sha256 = found;
            return true;
        }

        sha256 = "";
        return false;
    }

    /// <summary>Keeps a digest the hasher computed, when the file did not change while it was read
    /// (<paramref name="before"/> and <paramref name="after"/> agree) and its change time is older than the racy window.</summary>
    public void Add(in FileStatus before, in FileStatus after, string sha256, long nowNs)
    {
        var key = Key.Of(before);
        if (!key.Equals(Key.Of(after)) || nowNs - before.ChangedNs <= RacyWindowNs || nowNs - before.ModifiedNs <= RacyWindowNs)
        {
            return;
        }

        _used[key] = sha256;
    }

    /// <summary>True when the store file is not as it was when this store was opened: created, replaced, written,
    /// truncated, renamed away or deleted since (its device, inode, size, modification and change time, without following
    /// a symbolic link).</summary>
    public bool ChangedSinceOpen() => !Nullable.Equals(StatusOf(_file), _atOpen);

    private static Key? StatusOf(string file) => FileStatus.TryGet(file, out var status) ? Key.Of(status) : null;

    /// <summary>True when the trace shows a traced process changing anything in the store's folder.</summary>
    public bool TracedWriteInto(IEnumerable<(FileAccessKind Kind, string Path, string? RenamedTo)> files)
    {
        string folder = Path.GetDirectoryName(_file)!;
        bool Inside(string? path) => path is not null && (path == folder || path.StartsWith(folder + "/", StringComparison.Ordinal));
        return files.Any(f => f.Kind is FileAccessKind.Write or FileAccessKind.Create or FileAccessKind.Delete or FileAccessKind.Rename &&
                              (Inside(f.Path) || Inside(f.RenamedTo)));
    }

    /// <summary>Writes what this trace used or computed, then earlier entries, up to the cap (atomically, private to the user).</summary>
    public void Save()
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        int count = 0;
        foreach (var (key, sha) in _used.Select(e => (e.Key, e.Value)).Concat(_loaded.Where(e => !_used.ContainsKey(e.Key)).Select(e => (e.Key, e.Value))))
        {
            if (count++ >= MaxEntries)
            {
                break;
            }

            text.Append(key.Device.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(key.Inode.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(key.Size.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(key.ModifiedNs.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(key.ChangedNs.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(sha).Append('\n');
        }

        PrivateFile.CreateDirectory(Path.GetDirectoryName(_file)!);
        AtomicFile.WriteAllBytes(_file, Encoding.ASCII.GetBytes(text.ToString()));
    }

    /// <summary>Removes the store (after a traced process wrote into its folder); false when it could not be removed.</summary>
    public bool Discard()
    {
        try
        {
            File.Delete(_file);
            return true;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return false;
        }
    }

    private void Load()
    {
        string text;
        try
        {
            if (!File.Exists(_file))
            {
                return;
            }

            text = Encoding.ASCII.GetString(InputFile.ReadAllBytes(_file, InputKind.Cache));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InputFileException)
        {
            return;
        }

        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0] != Header)
        {
            return;
        }

        for (int i = 1; i < lines.Length && _loaded.Count < MaxEntries; i++)
        {
            var f = lines[i].Split(' ');
            if (f.Length == 6 && Number(f[0], out long device) && Number(f[1], out long inode) && Number(f[2], out long size) &&
                Number(f[3], out long modified) && Number(f[4], out long changed) && IsSha256(f[5]))
            {
                _loaded[new Key(device, inode, size, modified, changed)] = f[5];
            }
        }
    }

    private static bool Number(string s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    private static bool IsSha256(string s) => s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>A file's state as the store compares it; the type tells a symbolic link at the store's path from the file.</summary>
    private readonly record struct Key(long Device, long Inode, long Size, long ModifiedNs, long ChangedNs, int Type = 0x8000)
    {
        public static Key Of(in FileStatus s) => new(s.Device, s.Inode, s.Size, s.ModifiedNs, s.ChangedNs, s.Type);
    }
}
