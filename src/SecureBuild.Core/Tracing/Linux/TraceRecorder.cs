using System.Globalization;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// What the tracer saw, kept in bounded memory until the trace ends, then turned into a <see cref="TraceLog"/>. Used by
/// the tracer thread only (the hashes it refers to are filled by the <see cref="ContentHasher"/>'s worker).
/// A process's repeated opens of one path for the same access and the same content are recorded once (the first).
/// Past the caps (<see cref="TraceLimits"/>) events are counted in <see cref="TraceLog.DroppedEvents"/>, never lost silently.
/// </summary>
internal sealed class TraceRecorder
{
    private readonly TraceLimits _limits;
    private readonly Dictionary<int, ProcessState> _live = new();
    private readonly List<ProcessState> _ended = new();
    private readonly List<FileEvent> _files = new();
    private readonly HashSet<(int Pid, FileAccessKind Kind, string Path, HashSlot? Slot)> _seen = new();
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly List<TracedNetworkOperation> _network = new();
    private int _processCount;

    public TraceRecorder(TraceLimits limits)
    {
        _limits = limits;
    }

    public long DroppedEvents { get; set; }

    public long UnhashedFiles { get; set; }

    public ProcessState? Live(int pid) => _live.TryGetValue(pid, out var p) ? p : null;

    /// <summary>A new process (thread group) appeared.</summary>
    public ProcessState StartProcess(int pid, int parentPid)
    {
        if (_live.TryGetValue(pid, out var stale))
        {
            // The pid was reused before its end was seen (its exit was reported to someone else): close the old one.
            _live.Remove(pid);
            _ended.Add(stale);
        }

        var process = new ProcessState(pid, parentPid, DateTimeOffset.UtcNow) { Recorded = ++_processCount <= _limits.MaxProcesses };
        if (!process.Recorded)
        {
            DroppedEvents++;
        }

        _live[pid] = process;
        return process;
    }

    public void EndProcess(int pid, int? exitCode, string? signal)
    {
        if (!_live.TryGetValue(pid, out var process))
        {
            return;
        }

        _live.Remove(pid);
        process.Exit ??= DateTimeOffset.UtcNow;
        process.ExitCode = exitCode;
        process.Signal = signal;
        _ended.Add(process);
    }

    public void AddFile(int pid, FileAccessKind kind, string path, HashSlot? slot, string? renamedTo = null, bool hashAtEnd = false)
    {
        path = Intern(path);
        if (kind != FileAccessKind.Rename && kind != FileAccessKind.Delete && !_seen.Add((pid, kind, path, slot)))
        {
            return;
        }

        if (_files.Count >= _limits.MaxFileEvents)
        {
            DroppedEvents++;
            return;
        }

        _files.Add(new FileEvent(pid, DateTimeOffset.UtcNow, kind, path, slot, renamedTo is null ? null : Intern(renamedTo), hashAtEnd));
    }

    public void AddNetwork(TracedNetworkOperation operation)
    {
        if (_network.Count >= _limits.MaxNetworkEvents)
        {
            DroppedEvents++;
            return;
        }

        _network.Add(operation);
    }

    /// <summary>
    /// Hashes what was written, now that every process is gone: each written or created path (followed through later
    /// renames) as it is at the end of the trace. A written file that no longer exists anywhere is counted as unhashed.
    /// Writes into /proc, /sys and /dev (a thread's name, a terminal) are not content and are not hashed or counted.
    /// </summary>
    public void HashWrittenFiles(ContentHasher hasher)
    {
        var renamedFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in _files)
        {
            if (e.Kind == FileAccessKind.Rename && e.RenamedTo is not null)
            {
                renamedFrom[e.Path] = e.RenamedTo;
            }
        }

        var byPath = new Dictionary<string, HashSlot?>(StringComparer.Ordinal);
        foreach (var e in _files)
        {
            if (!e.HashAtEnd)
            {
                continue;
            }

            if (IsPseudoFile(e.Path))
            {
                e.Slot = null;
                continue;
            }

            if (!byPath.TryGetValue(e.Path, out var slot))
            {
                string current = e.Path;
                bool missing = true;
                for (int hop = 0; hop < 40; hop++)
                {
                    slot = hasher.Request(current, out missing);
                    if (!missing || !renamedFrom.TryGetValue(current, out var next))
                    {
                        break;
                    }

                    current = next;
                }

                if (missing)
                {
                    UnhashedFiles++;
                }

                byPath[e.Path] = slot;
            }

            e.Slot = slot;
        }
    }

    public TraceLog Build(IReadOnlyList<string> command, string workingDirectory, DateTimeOffset start, int? exitCode, string? signal, string monitor)
    {
        var end = DateTimeOffset.UtcNow;
        var failed = new HashSet<HashSlot>();
        foreach (var e in _files)
        {
            if (e.Slot is { Failed: true } && !e.HashAtEnd)
            {
                failed.Add(e.Slot);
            }
        }

        foreach (var p in _ended.Concat(_live.Values))
        {
            if (p.ExecutableSlot is { Failed: true })
            {
                failed.Add(p.ExecutableSlot);
            }
        }

        var processes = _ended.Concat(_live.Values).Where(p => p.Recorded).OrderBy(p => p.Start).ThenBy(p => p.Pid)
            .Select(p => new TracedProcess(p.Pid, p.ParentPid, p.Executable, p.ExecutableSlot?.Sha256, p.Arguments, p.WorkingDirectory,
                p.Start, p.Exit, p.ExitCode, p.Signal))
            .ToList();
        var files = _files.Select(e => new TracedFileAccess(e.Pid, e.Time, e.Kind, e.Path, e.Slot?.Sha256, e.RenamedTo)).ToList();
        return new TraceLog(command, workingDirectory, start, end, exitCode, signal, processes, files, _network.ToList())
        {
            DroppedEvents = DroppedEvents,
            UnhashedFiles = UnhashedFiles + failed.Count,
            Monitor = monitor,
        };
    }

    private static bool IsPseudoFile(string path) =>
        path.StartsWith("/proc/", StringComparison.Ordinal) || path.StartsWith("/sys/", StringComparison.Ordinal) || path.StartsWith("/dev/", StringComparison.Ordinal);

    private string Intern(string path)
    {
        if (_paths.TryGetValue(path, out var existing))
        {
            return existing;
        }

        if (_paths.Count < 1_000_000)
        {
            _paths[path] = path;
        }

        return path;
    }

    private sealed class FileEvent
    {
        public FileEvent(int pid, DateTimeOffset time, FileAccessKind kind, string path, HashSlot? slot, string? renamedTo, bool hashAtEnd)
        {
            Pid = pid;
            Time = time;
            Kind = kind;
            Path = path;
            Slot = slot;
            RenamedTo = renamedTo;
            HashAtEnd = hashAtEnd;
        }

        public int Pid { get; }
        public DateTimeOffset Time { get; }
        public FileAccessKind Kind { get; }
        public string Path { get; }
        public HashSlot? Slot { get; set; }
        public string? RenamedTo { get; }
        public bool HashAtEnd { get; }
    }
}

/// <summary>One process (thread group) while the trace runs.</summary>
internal sealed class ProcessState
{
    public ProcessState(int pid, int parentPid, DateTimeOffset start)
    {
        Pid = pid;
        ParentPid = parentPid;
        Start = start;
    }

    public int Pid { get; }
    public int ParentPid { get; }
    public DateTimeOffset Start { get; }
    public bool Recorded { get; set; }
    public string Executable { get; set; } = "";
    public HashSlot? ExecutableSlot { get; set; }
    public IReadOnlyList<string> Arguments { get; set; } = Array.Empty<string>();
    public string WorkingDirectory { get; set; } = "";
    public DateTimeOffset? Exit { get; set; }
    public int? ExitCode { get; set; }
    public string? Signal { get; set; }

    public override string ToString() => Pid.ToString(CultureInfo.InvariantCulture) + " " + Executable;
}

/// <summary>The caps that keep a trace's memory bounded; what goes past them is counted as dropped.</summary>
public sealed class TraceLimits
{
    public int MaxFileEvents { get; init; } = 1_000_000;
    public int MaxNetworkEvents { get; init; } = 100_000;
    public int MaxProcesses { get; init; } = 100_000;
}
