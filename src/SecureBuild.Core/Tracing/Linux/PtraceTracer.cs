using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>What to trace and how to start it.</summary>
public sealed class TraceOptions
{
    /// <summary>The command: program (a path, or a name looked up on PATH) and its arguments.</summary>
    public IReadOnlyList<string> Command { get; init; } = Array.Empty<string>();

    /// <summary>How to start the launcher: an absolute program path and the arguments before the command, e.g.
    /// ["/usr/bin/securebuild", "__trace-exec"] or ["/usr/bin/dotnet", "/tool/securebuild.dll", "__trace-exec"].</summary>
    public IReadOnlyList<string> Launcher { get; init; } = Array.Empty<string>();

    /// <summary>The command's environment (default: this process's).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public TraceLimits Limits { get; init; } = new();

    /// <summary>Where digests are kept from one trace to the next (<see cref="TraceHashStore"/>; the CLI's default is
    /// <c>~/.cache/securebuild-trace/hashes</c>); null: every file is read and hashed.</summary>
    public string? HashStoreFile { get; init; }
}

/// <summary>What hashing cost a trace: files and bytes read, digests taken from the store, and whether the store was
/// discarded (it changed during the trace, or a traced process wrote into its folder).</summary>
public sealed record TraceHashing(int FilesHashed, long BytesHashed, int FromStore, bool StoreDiscarded);

/// <summary>
/// The Linux tracer: ptrace with a seccomp-bpf prefilter. The command starts through <see cref="TraceLauncher"/>, which
/// installs <see cref="SeccompFilter"/> so that only the system calls in <see cref="SyscallTable"/> stop it; the tracer
/// PTRACE_SEIZEs it with fork/vfork/clone/exec/exit/seccomp events and EXITKILL, so the whole tree is followed and dies
/// with the tracer. At each seccomp stop the tracer resumes with PTRACE_SYSCALL and decodes at the system call's exit
/// (PTRACE_GET_SYSCALL_INFO, Linux 5.3+), so only what really happened is recorded. Every ptrace call and wait is made
/// on one dedicated thread (ptrace binds a tracee to the thread that attached it), which waits with __WNOTHREAD so it
/// never reaps another thread's children (System.Diagnostics.Process's).
/// </summary>
public static class PtraceTracer
{
    /// <summary>Monitor name recorded in <see cref="TraceLog.Monitor"/>.</summary>
    public static string MonitorName =>
        "securebuild ptrace+seccomp-bpf " + (typeof(PtraceTracer).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>The default store of digests kept between traces (<c>$XDG_CACHE_HOME/securebuild-trace/hashes</c>, else
    /// <c>~/.cache/securebuild-trace/hashes</c>) in this environment; null without a home.</summary>
    public static string? DefaultHashStoreFile(Func<string, string?> environment) => TraceHashStore.DefaultFile(environment);

    /// <summary>The number of a Linux signal name as the trace records it ("SIGKILL" is 9), or 0.</summary>
    public static int SignalNumber(string name) => LinuxNative.SignalNumber(name);

    /// <summary>Throws <see cref="TraceException"/> when the machine cannot trace at all (not Linux, other architecture);
    /// <paramref name="platform"/> defaults to this one (<see cref="TracePlatform.Current"/>).</summary>
    public static void EnsureSupported(TracePlatform? platform = null)
    {
        platform ??= TracePlatform.Current;
        if (!platform.IsLinux)
        {
            throw new TraceException("SB4100", "runtime tracing is available on Linux only (it uses ptrace and seccomp-bpf); run the build on a Linux machine or container.");
        }

        if (SyscallTable.For(platform.Architecture) is null)
        {
            throw new TraceException("SB4101", $"the tracer decodes system calls on x86_64 and aarch64 only, not {platform.Architecture}; run the build on one of those.");
        }
    }

    /// <summary>Runs the command under the tracer and returns what its process tree did.</summary>
    public static TraceResult Run(TraceOptions options)
    {
        if (options.Command.Count == 0)
        {
            throw new ArgumentException("No command to trace.", nameof(options));
        }

        if (options.Launcher.Count == 0 || !Path.IsPathRooted(options.Launcher[0]))
        {
            throw new ArgumentException("The launcher must start with an absolute program path.", nameof(options));
        }

        EnsureSupported();
        TraceResult? result = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var session = new Session(options, SyscallTable.ForCurrentArchitecture()!);
                result = session.Run();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 1 << 20) { Name = "securebuild tracer", IsBackground = true };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        return result!;
    }

    private sealed class TaskState
    {
        public TaskState(int tid, int tgid)
        {
            Tid = tid;
            Tgid = tgid;
        }

        public int Tid { get; }
        public int Tgid { get; set; }
        public bool AwaitingExit { get; set; }
        public TracedSyscall Pending { get; set; }
        public long[] Args { get; } = new long[6];
        public bool ExistedBefore { get; set; }
        public string? PendingExec { get; set; }
    }

    private sealed class Session : IDisposable
    {
        private const int AtFdCwd = -100;
        private const int InfoSize = 88;
        private const int ReadBufferSize = 4096;
        private const long OCreat = 0x40;
        private const long OExcl = 0x80;

        private readonly TraceOptions _options;
        private readonly SyscallTable _table;
        private readonly TraceRecorder _recorder;
        private readonly ContentHasher _hasher;
        private readonly TraceHashStore? _store;
        private readonly Dictionary<int, TaskState> _tasks = new();
        private readonly IntPtr _info = Marshal.AllocHGlobal(InfoSize);
        private readonly IntPtr _read = Marshal.AllocHGlobal(ReadBufferSize);
        private readonly byte[] _readCopy = new byte[ReadBufferSize];
        private int _topPid;
        private bool _topExecuted;
        private int? _exitCode;
        private string? _signal;
        private TraceException? _abort;

        public Session(TraceOptions options, SyscallTable table)
        {
            _options = options;
            _table = table;
            _recorder = new TraceRecorder(options.Limits);
            _store = options.HashStoreFile is { } file ? TraceHashStore.TryOpen(file) : null;
            _hasher = new ContentHasher(_store);
        }

        public TraceResult Run()
        {
            var start = DateTimeOffset.UtcNow;
            string cwd = Directory.GetCurrentDirectory();
            _topPid = Spawn();
            const long options = LinuxNative.OptionTraceSysGood | LinuxNative.OptionTraceFork | LinuxNative.OptionTraceVfork |
                LinuxNative.OptionTraceClone | LinuxNative.OptionTraceExec | LinuxNative.OptionTraceExit |
                LinuxNative.OptionTraceSeccomp | LinuxNative.OptionExitKill;
            if (LinuxNative.Ptrace(LinuxNative.PtraceSeize, _topPid, IntPtr.Zero, (IntPtr)options) != 0)
            {
                int errno = Marshal.GetLastWin32Error();
                LinuxNative.Kill(_topPid, LinuxNative.SigKill);
                LinuxNative.WaitPid(_topPid, out _, LinuxNative.WaitAll);
                throw new TraceException("SB4102", $"tracing is not permitted here: ptrace(PTRACE_SEIZE) failed ({LinuxNative.Describe(errno)}). " +
                    "Allow ptrace: in a container add the capability (docker run --cap-add=SYS_PTRACE, and a seccomp profile that allows ptrace), " +
                    "or lower kernel.yama.ptrace_scope to 1 or less.");
            }

            _tasks[_topPid] = new TaskState(_topPid, _topPid);
            _recorder.StartProcess(_topPid, 0);
            Loop();
            _recorder.HashWrittenFiles(_hasher);
            _hasher.Complete();
            if (_abort is not null)
            {
                throw _abort;
            }

            var log = _recorder.Build(_options.Command, cwd, start, _exitCode, _signal, MonitorName);
            bool discarded = false;
            if (_store is not null)
            {
                if (_store.ChangedSinceOpen() || _store.TracedWriteInto(log.Files.Select(f => (f.Kind, f.Path, f.RenamedTo))))
                {
                    discarded = true;
                    _store.Discard();
                }
                else
                {
                    try
                    {
                        _store.Save();
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                    {
                        // Only a cache: the next trace reads and hashes again.
                    }
                }
            }

            return new TraceResult(log, _topExecuted) { Hashing = new TraceHashing(_hasher.FilesHashed, _hasher.BytesHashed, _store?.Hits ?? 0, discarded) };
        }

        public void Dispose()
        {
            _hasher.Dispose();
            _store?.Dispose();
            Marshal.FreeHGlobal(_info);
            Marshal.FreeHGlobal(_read);
        }

        private int Spawn()
        {
            var argv = _options.Launcher.Concat(_options.Command).ToList();
            var env = (_options.Environment ?? System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                    .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? ""))
                .Select(kv => kv.Key + "=" + kv.Value).ToList();
            var allocated = new List<IntPtr>();
            IntPtr[] Native(List<string> strings)
            {
                var array = new IntPtr[strings.Count + 1];
                for (int i = 0; i < strings.Count; i++)
                {
                    var bytes = FileStatus.Utf8(strings[i]);
                    array[i] = Marshal.AllocHGlobal(bytes.Length);
                    Marshal.Copy(bytes, 0, array[i], bytes.Length);
                    allocated.Add(array[i]);
                }

                return array;
            }

            try
            {
                int rc = LinuxNative.PosixSpawn(out int pid, FileStatus.Utf8(argv[0]), IntPtr.Zero, IntPtr.Zero, Native(argv), Native(env));
                if (rc != 0)
                {
                    throw new TraceException("SB4105", $"cannot start the trace launcher '{argv[0]}': {LinuxNative.Describe(rc)}. Reinstall the securebuild tool.");
                }

                return pid;
            }
            finally
            {
                foreach (var p in allocated)
                {
                    Marshal.FreeHGlobal(p);
                }
            }
        }

        private void Loop()
        {
            while (true)
            {
                int tid = LinuxNative.WaitPid(-1, out int status, LinuxNative.WaitAll | LinuxNative.WaitNoThread);
                if (tid < 0)
                {
                    int errno = Marshal.GetLastWin32Error();
                    if (errno == LinuxNative.EIntr)
                    {
                        continue;
                    }

                    return; // ECHILD: every tracee is gone.
                }

                Handle(tid, status);
            }
        }

        private TaskState Task(int tid)
        {
            if (_tasks.TryGetValue(tid, out var task))
            {
                return task;
            }

            // A task reported before the event that created it (its parent's clone/fork stop is still queued): ask
            // /proc which thread group it belongs to. It is stopped, so its entry is there; if not, its events cannot be
            // attributed to a known process: they are recorded under its own id and counted as dropped, not hidden.
            if (Status(tid) is { } status)
            {
                return AddTask(tid, status.Tgid, status.ParentPid);
            }

            _recorder.DroppedEvents++;
            return AddTask(tid, tid, 0);
        }

        /// <summary>Thread group id and parent process id of a live task, from /proc/TID/status; null when it is gone or has
        /// exited (a zombie: its exit was reported to the tracer, its real parent has not reaped it yet).</summary>
        private static (int Tgid, int ParentPid)? Status(int tid)
        {
            int? tgid = null;
            int ppid = 0;
            try
            {
                foreach (var line in File.ReadAllLines($"/proc/{tid.ToString(CultureInfo.InvariantCulture)}/status"))
                {
                    if (line.StartsWith("State:", StringComparison.Ordinal) && line.Substring(6).Trim() is { Length: > 0 } state && (state[0] == 'Z' || state[0] == 'X'))
                    {
                        return null;
                    }

                    if (line.StartsWith("Tgid:", StringComparison.Ordinal))
                    {
                        tgid = int.Parse(line.Substring(5).Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("PPid:", StringComparison.Ordinal))
                    {
                        ppid = int.Parse(line.Substring(5).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is FormatException)
            {
                return null;
            }

            return tgid is { } id && id > 0 ? (id, ppid) : null;
        }

        private TaskState AddTask(int tid, int tgid, int parentPid)
        {
            var task = new TaskState(tid, tgid);
            _tasks[tid] = task;
            if (tid == tgid && _recorder.Live(tgid) is null)
            {
                _recorder.StartProcess(tgid, parentPid);
            }

            return task;
        }

        private void Handle(int tid, int status)
        {
            if (LinuxNative.Exited(status) || LinuxNative.Signaled(status))
            {
                // A task never seen (an exec's old leader is not reported, so this is rare) ends nothing but a live process of that pid.
                int tgid = _tasks.TryGetValue(tid, out var gone) ? gone.Tgid : tid;
                if (gone is { AwaitingExit: true })
                {
                    // It died inside a traced call without a PTRACE_EVENT_EXIT stop: what the call did is unknown.
                    _recorder.DroppedEvents++;
                }

                _tasks.Remove(tid);
                if (tid == tgid)
                {
                    int? code = LinuxNative.Exited(status) ? LinuxNative.ExitStatus(status) : null;
                    string? signal = LinuxNative.Signaled(status) ? LinuxNative.SignalName(LinuxNative.TermSignal(status)) : null;
                    _recorder.EndProcess(tid, code, signal);
                    if (tid == _topPid)
                    {
                        _exitCode = code;
                        _signal = signal;
                    }
                }

                return;
            }

            if (!LinuxNative.Stopped(status))
            {
                return;
            }

            var task = Task(tid);
            int sig = LinuxNative.StopSignal(status);
            int ev = LinuxNative.Event(status);
            if (sig == (LinuxNative.SigTrap | 0x80))
            {
                OnSyscallExit(task);
                Resume(task, 0);
                return;
            }

            switch (ev)
            {
                case LinuxNative.EventSeccomp:
                    OnSeccomp(task);
                    Resume(task, 0);
                    return;
                case LinuxNative.EventExec:
                    task = OnExec(task);
                    Resume(task, 0);
                    return;
                case LinuxNative.EventFork:
                case LinuxNative.EventVfork:
                case LinuxNative.EventClone:
                    OnNewTask(task);
                    Resume(task, 0);
                    return;
                case LinuxNative.EventExit:
                    if (tid == task.Tgid && _recorder.Live(tid) is { } process)
                    {
                        process.Exit = DateTimeOffset.UtcNow;
                    }

                    OnExitDuringCall(task);
                    task.AwaitingExit = false;
                    Resume(task, 0);
                    return;
                case LinuxNative.EventStop:
                    if (sig == LinuxNative.SigStop || sig == LinuxNative.SigTstp || sig == LinuxNative.SigTtin || sig == LinuxNative.SigTtou)
                    {
                        // Group-stop: keep it stopped (job control works as without the tracer) until SIGCONT.
                        LinuxNative.Ptrace(LinuxNative.PtraceListen, tid, IntPtr.Zero, IntPtr.Zero);
                    }
                    else
                    {
                        Resume(task, 0);
                    }

                    return;
                case 0:
                    // Signal-delivery-stop: deliver the signal the tracee was sent.
                    Resume(task, sig);
                    return;
                default:
                    Resume(task, 0);
                    return;
            }
        }

        private void Resume(TaskState task, int signal)
        {
            int request = task.AwaitingExit ? LinuxNative.PtraceSyscall : LinuxNative.PtraceCont;
            LinuxNative.Ptrace(request, task.Tid, IntPtr.Zero, (IntPtr)signal); // ESRCH: it died meanwhile; its exit follows.
        }

        /// <summary>
        /// A task stopped at PTRACE_EVENT_EXIT between a traced call's seccomp stop and its exit: another thread's
        /// exit_group (or exec, or a SIGKILL) made it die there, and the kernel reports no syscall-exit stop to a task
        /// with a fatal signal pending, though the call may have completed (a runtime thread opening an assembly while
        /// the process exits). Its memory and fd table are still there at this stop: an open that succeeded left an fd
        /// on the path, so it is recorded from that fd; a path not open, or another call, is counted as dropped.
        /// </summary>
        private void OnExitDuringCall(TaskState task)
        {
            var call = task.Pending;
            if (!task.AwaitingExit || call == TracedSyscall.None)
            {
                return;
            }

            task.Pending = TracedSyscall.None;
            if (TryOpenArguments(task, call, out int dirfd, out long pathArg, out _) && ResolvePath(task.Tid, dirfd, pathArg) is { } path)
            {
                if (!FileStatus.TryGetFollowingLinks(path, out _))
                {
                    return; // Nothing there: the open failed (a failed open is not recorded) or created nothing.
                }

                if (OpenDescriptor(task.Tid, path) is { } fd)
                {
                    OnOpened(task, call, fd);
                    return;
                }
            }

            _recorder.DroppedEvents++;
        }

        /// <summary>The lowest fd of the task that names <paramref name="path"/> (as /proc/TID/fd shows it), or null.</summary>
        private static int? OpenDescriptor(int tid, string path)
        {
            string real = InputFile.RealPath(path) ?? path;
            try
            {
                int? lowest = null;
                foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/{tid.ToString(CultureInfo.InvariantCulture)}/fd"))
                {
                    if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd) &&
                        InputFile.ReadLink(entry) is { } target && (target == path || target == real) && (lowest is null || fd < lowest))
                    {
                        lowest = fd;
                    }
                }

                return lowest;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }
        }

        private void OnNewTask(TaskState parent)
        {
            if (LinuxNative.Ptrace(LinuxNative.PtraceGetEventMsg, parent.Tid, IntPtr.Zero, _info) != 0)
            {
                _recorder.DroppedEvents++;
                return;
            }

            int child = (int)Marshal.ReadInt64(_info);
            if (_tasks.ContainsKey(child))
            {
                return; // Its own first stop came first (Task read its thread group from /proc).
            }

            // The child runs independently of this stop: by now it may have stopped, run and exited, its exit already
            // reaped (then its id is gone and nothing is added: recording it again would invent a process that never
            // was, or take a thread for one). Otherwise its thread group comes from /proc, not from guessing by event
            // kind: a clone without CLONE_THREAD is a process, and CLONE_PARENT gives it another parent.
            if (Status(child) is { } status)
            {
                AddTask(child, status.Tgid, status.Tgid == child ? status.ParentPid : parent.Tgid);
            }
        }

        private TaskState OnExec(TaskState task)
        {
            int pid = task.Tid;
            int former = pid;
            if (LinuxNative.Ptrace(LinuxNative.PtraceGetEventMsg, pid, IntPtr.Zero, _info) == 0)
            {
                former = (int)Marshal.ReadInt64(_info);
            }

            string? requested = task.PendingExec;
            if (pid == _topPid && !_topExecuted && former == pid && requested is null)
            {
                // The launcher's own start: posix_spawn's vfork returns as soon as the exec is past the point of no
                // return, so the tracer can attach before this event. The command's exec comes after the filter's stop.
                return task;
            }

            if (former != pid && _tasks.TryGetValue(former, out var execing))
            {
                // A non-leader thread executed: it took over the thread group's id; the old leader is gone unreported.
                _tasks.Remove(former);
                requested = execing.PendingExec;
            }

            task.Tgid = pid;
            task.AwaitingExit = false;
            task.PendingExec = null;
            var process = _recorder.Live(pid) ?? _recorder.StartProcess(pid, 0);
            string? image = InputFile.ReadLink($"/proc/{pid}/exe");
            string executable = requested ?? image ?? "";
            process.Executable = executable;
            process.WorkingDirectory = InputFile.ReadLink($"/proc/{pid}/cwd") ?? "";
            process.Arguments = ReadCommandLine(pid);
            process.ExecutableSlot = _hasher.Request(executable, out bool missing);
            if (missing)
            {
                _recorder.UnhashedFiles++;
            }

            _recorder.AddFile(pid, FileAccessKind.Execute, executable, process.ExecutableSlot);
            if (image is not null && image != executable && !image.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                // A script (its interpreter) or a symbolic link (its target): what the kernel loaded is executed too.
                _recorder.AddFile(pid, FileAccessKind.Execute, image, _hasher.Request(image, out _));
            }

            if (pid == _topPid && !_topExecuted)
            {
                _topExecuted = true;
                if (!SeccompActive(pid))
                {
                    _abort = new TraceException("SB4103", "the seccomp filter is not active in the traced command, so it would run partly unobserved; it was stopped. Run on a kernel with CONFIG_SECCOMP_FILTER.");
                    foreach (var t in _tasks.Keys)
                    {
                        LinuxNative.Kill(t, LinuxNative.SigKill);
                    }
                }
            }

            return task;
        }

        private static bool SeccompActive(int pid)
        {
            try
            {
                return File.ReadAllLines($"/proc/{pid}/status").Any(l => l.StartsWith("Seccomp:", StringComparison.Ordinal) && l.Substring(8).Trim() == "2");
            }
            catch (IOException)
            {
                return false;
            }
        }

        private static IReadOnlyList<string> ReadCommandLine(int pid)
        {
            try
            {
                var bytes = File.ReadAllBytes($"/proc/{pid}/cmdline");
                var args = new List<string>();
                int start = 0;
                for (int i = 0; i < bytes.Length; i++)
                {
                    if (bytes[i] == 0)
                    {
                        args.Add(Encoding.UTF8.GetString(bytes, start, i - start));
                        start = i + 1;
                    }
                }

                if (start < bytes.Length)
                {
                    args.Add(Encoding.UTF8.GetString(bytes, start, bytes.Length - start));
                }

                return args;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return Array.Empty<string>();
            }
        }

        private bool ReadSyscallInfo(int tid, byte expectedOp)
        {
            if (LinuxNative.Ptrace(LinuxNative.PtraceGetSyscallInfo, tid, (IntPtr)InfoSize, _info) <= 0)
            {
                int errno = Marshal.GetLastWin32Error();
                if (errno == 5 || errno == 22) // EIO, EINVAL: the request is unknown to this kernel
                {
                    _abort ??= new TraceException("SB4104", "this kernel has no PTRACE_GET_SYSCALL_INFO (Linux 5.3 or later is needed); run the build on a newer kernel.");
                    foreach (var t in _tasks.Keys)
                    {
                        LinuxNative.Kill(t, LinuxNative.SigKill);
                    }
                }

                return false;
            }

            return Marshal.ReadByte(_info) == expectedOp;
        }

        private void OnSeccomp(TaskState task)
        {
            if (!ReadSyscallInfo(task.Tid, LinuxNative.SyscallInfoSeccomp))
            {
                _recorder.DroppedEvents++;
                return;
            }

            uint arch = (uint)Marshal.ReadInt32(_info, 4);
            long nr = Marshal.ReadInt64(_info, 24);
            var call = arch == _table.AuditArch ? _table.Lookup(nr) : TracedSyscall.None;
            if (call == TracedSyscall.None)
            {
                // Another architecture's convention (int 0x80, x32): the call cannot be decoded. Counted, not hidden.
                _recorder.DroppedEvents++;
                return;
            }

            for (int i = 0; i < 6; i++)
            {
                task.Args[i] = Marshal.ReadInt64(_info, 32 + 8 * i);
            }

            if (call == TracedSyscall.Execve || call == TracedSyscall.ExecveAt)
            {
                // Success shows as PTRACE_EVENT_EXEC (a failed exec is not recorded): no need to stop at the exit.
                task.PendingExec = call == TracedSyscall.Execve
                    ? ResolvePath(task.Tid, AtFdCwd, task.Args[0])
                    : ResolvePath(task.Tid, (int)task.Args[0], task.Args[1]);
                return;
            }

            task.Pending = call;
            task.AwaitingExit = true;
            task.ExistedBefore = false;
            if (TryOpenArguments(task, call, out int dirfd, out long pathArg, out long flags) && (flags & OCreat) != 0 && (flags & OExcl) == 0)
            {
                // O_CREAT without O_EXCL: whether the open creates the file is known only before it runs.
                var path = ResolvePath(task.Tid, dirfd, pathArg);
                task.ExistedBefore = path is null || FileStatus.TryGetFollowingLinks(path, out _);
            }
        }

        /// <summary>For the open family: the directory fd, the path pointer and the flags of the pending call.</summary>
        private bool TryOpenArguments(TaskState task, TracedSyscall call, out int dirfd, out long pathArg, out long flags)
        {
            var a = task.Args;
            dirfd = AtFdCwd;
            pathArg = 0;
            flags = 0;
            switch (call)
            {
                case TracedSyscall.Open:
                    pathArg = a[0];
                    flags = a[1];
                    return true;
                case TracedSyscall.Creat:
                    pathArg = a[0];
                    flags = OCreat | 0x1 | 0x200; // O_CREAT | O_WRONLY | O_TRUNC
                    return true;
                case TracedSyscall.OpenAt:
                    dirfd = (int)a[0];
                    pathArg = a[1];
                    flags = a[2];
                    return true;
                case TracedSyscall.OpenAt2:
                    // openat2(dirfd, path, struct open_how { u64 flags; u64 mode; u64 resolve; } *how, size)
                    dirfd = (int)a[0];
                    pathArg = a[1];
                    if (ReadMemory(task.Tid, a[2], 8) is not { } how)
                    {
                        return false;
                    }

                    flags = BitConverter.ToInt64(how, 0);
                    return true;
                default:
                    return false;
            }
        }

        private void OnSyscallExit(TaskState task)
        {
            var call = task.Pending;
            task.Pending = TracedSyscall.None;
            task.AwaitingExit = false;
            if (call == TracedSyscall.None)
            {
                return;
            }

            if (!ReadSyscallInfo(task.Tid, LinuxNative.SyscallInfoExit))
            {
                _recorder.DroppedEvents++;
                return;
            }

            long rval = Marshal.ReadInt64(_info, 24);
            bool ok = Marshal.ReadByte(_info, 32) == 0;
            var a = task.Args;
            int pid = task.Tgid;
            switch (call)
            {
                case TracedSyscall.Open:
                case TracedSyscall.Creat:
                case TracedSyscall.OpenAt:
                case TracedSyscall.OpenAt2:
                    if (ok)
                    {
                        OnOpened(task, call, (int)rval);
                    }

                    break;
                case TracedSyscall.Unlink:
                case TracedSyscall.Rmdir:
                    if (ok)
                    {
                        RecordPath(task, FileAccessKind.Delete, AtFdCwd, a[0]);
                    }

                    break;
                case TracedSyscall.UnlinkAt:
                    if (ok)
                    {
                        RecordPath(task, FileAccessKind.Delete, (int)a[0], a[1]);
                    }

                    break;
                case TracedSyscall.Mkdir:
                    if (ok)
                    {
                        RecordPath(task, FileAccessKind.Create, AtFdCwd, a[0]);
                    }

                    break;
                case TracedSyscall.MkdirAt:
                    if (ok)
                    {
                        RecordPath(task, FileAccessKind.Create, (int)a[0], a[1]);
                    }

                    break;
                case TracedSyscall.Rename:
                case TracedSyscall.RenameAt:
                case TracedSyscall.RenameAt2:
                    if (ok)
                    {
                        bool plain = call == TracedSyscall.Rename;
                        var from = plain ? ResolvePath(task.Tid, AtFdCwd, a[0]) : ResolvePath(task.Tid, (int)a[0], a[1]);
                        var to = plain ? ResolvePath(task.Tid, AtFdCwd, a[1]) : ResolvePath(task.Tid, (int)a[2], a[3]);
                        if (from is null || to is null)
                        {
                            _recorder.DroppedEvents++;
                        }
                        else
                        {
                            _recorder.AddFile(pid, FileAccessKind.Rename, from, null, to);
                        }
                    }

                    break;
                case TracedSyscall.Connect:
                    RecordAddress(task, NetworkOperation.Connect, a[1], a[2], ok && rval == 0);
                    break;
                case TracedSyscall.Bind:
                    RecordAddress(task, NetworkOperation.Bind, a[1], a[2], ok && rval == 0);
                    break;
                case TracedSyscall.SendTo:
                    RecordAddress(task, NetworkOperation.SendTo, a[4], a[5], ok);
                    break;
                case TracedSyscall.SendMsg:
                    // struct msghdr: void *msg_name; socklen_t msg_namelen; ...
                    if (ReadMemory(task.Tid, a[1], 12) is { } header)
                    {
                        long name = BitConverter.ToInt64(header, 0);
                        if (name != 0)
                        {
                            RecordAddress(task, NetworkOperation.SendTo, name, BitConverter.ToUInt32(header, 8), ok);
                        }
                    }
                    else
                    {
                        _recorder.DroppedEvents++;
                    }

                    break;
            }
        }

        private void OnOpened(TaskState task, TracedSyscall call, int fd)
        {
            if (!TryOpenArguments(task, call, out int dirfd, out long pathArg, out long flags))
            {
                _recorder.DroppedEvents++;
                return;
            }

            var path = ResolvePath(task.Tid, dirfd, pathArg);
            if (path is null)
            {
                _recorder.DroppedEvents++;
                return;
            }

            bool created = (flags & OCreat) != 0 && ((flags & OExcl) != 0 || !task.ExistedBefore);
            if ((flags & 3) == 0 && !created)
            {
                var slot = _hasher.Request($"/proc/{task.Tid}/fd/{fd}", out bool missing);
                if (missing)
                {
                    _recorder.UnhashedFiles++;
                }

                _recorder.AddFile(task.Tgid, FileAccessKind.Read, path, slot);
                return;
            }

            _recorder.AddFile(task.Tgid, created ? FileAccessKind.Create : FileAccessKind.Write, path, null, hashAtEnd: true);
        }

        private void RecordPath(TaskState task, FileAccessKind kind, int dirfd, long pathArg)
        {
            var path = ResolvePath(task.Tid, dirfd, pathArg);
            if (path is null)
            {
                _recorder.DroppedEvents++;
                return;
            }

            _recorder.AddFile(task.Tgid, kind, path, null);
        }

        private void RecordAddress(TaskState task, NetworkOperation operation, long address, long length, bool succeeded)
        {
            if (address == 0 || length < 2)
            {
                return;
            }

            if (ReadMemory(task.Tid, address, (int)Math.Min(length, 110)) is not { } sa)
            {
                _recorder.DroppedEvents++;
                return;
            }

            int family = BitConverter.ToUInt16(sa, 0);
            string? familyName = null, text = null;
            int port = 0;
            if (family == 2 && sa.Length >= 8)
            {
                familyName = "inet";
                port = (sa[2] << 8) | sa[3];
                text = new IPAddress(new[] { sa[4], sa[5], sa[6], sa[7] }).ToString();
            }
            else if (family == 10 && sa.Length >= 24)
            {
                familyName = "inet6";
                port = (sa[2] << 8) | sa[3];
                var bytes = new byte[16];
                Array.Copy(sa, 8, bytes, 0, 16);
                text = new IPAddress(bytes).ToString();
            }
            else if (family == 1)
            {
                familyName = "unix";
                if (sa.Length <= 2)
                {
                    text = ""; // unnamed
                }
                else if (sa[2] == 0)
                {
                    text = "@" + Encoding.UTF8.GetString(sa, 3, sa.Length - 3).TrimEnd('\0'); // abstract namespace
                }
                else
                {
                    int end = Array.IndexOf(sa, (byte)0, 2);
                    text = Encoding.UTF8.GetString(sa, 2, (end < 0 ? sa.Length : end) - 2);
                }
            }

            if (familyName is null || text is null)
            {
                // Netlink, packet and other families are not network operations a policy judges (documented).
                return;
            }

            _recorder.AddNetwork(new TracedNetworkOperation(task.Tgid, DateTimeOffset.UtcNow, operation, familyName, text, port, succeeded));
        }

        /// <summary>The absolute path a path argument names, resolved against the directory fd or the working directory
        /// (lexically: . and .. are folded, symbolic links are kept as the tracee named them). Null when it cannot be read.</summary>
        private string? ResolvePath(int tid, int dirfd, long pathArg)
        {
            var path = ReadString(tid, pathArg);
            if (path is null)
            {
                return null;
            }

            if (path.StartsWith("/", StringComparison.Ordinal))
            {
                return OwnProc(Normalize(path), tid);
            }

            var directory = dirfd == AtFdCwd
                ? InputFile.ReadLink($"/proc/{tid}/cwd")
                : InputFile.ReadLink($"/proc/{tid}/fd/{dirfd.ToString(CultureInfo.InvariantCulture)}");
            if (directory is null || !directory.StartsWith("/", StringComparison.Ordinal))
            {
                return null;
            }

            return OwnProc(Normalize(path.Length == 0 ? directory : directory + "/" + path), tid);
        }

        /// <summary>/proc/self and /proc/thread-self name the tracee, not the tracer: the trace says which process they were.</summary>
        private string OwnProc(string path, int tid)
        {
            if (!path.StartsWith("/proc/", StringComparison.Ordinal))
            {
                return path;
            }

            int tgid = _tasks.TryGetValue(tid, out var task) ? task.Tgid : tid;
            if (path == "/proc/self" || path.StartsWith("/proc/self/", StringComparison.Ordinal))
            {
                return "/proc/" + tgid.ToString(CultureInfo.InvariantCulture) + path.Substring("/proc/self".Length);
            }

            if (path == "/proc/thread-self" || path.StartsWith("/proc/thread-self/", StringComparison.Ordinal))
            {
                return $"/proc/{tgid.ToString(CultureInfo.InvariantCulture)}/task/{tid.ToString(CultureInfo.InvariantCulture)}" + path.Substring("/proc/thread-self".Length);
            }

            return path;
        }

        private static string Normalize(string path)
        {
            if (path.IndexOf("/.", StringComparison.Ordinal) < 0 && path.IndexOf("//", StringComparison.Ordinal) < 0 && (path.Length == 1 || !path.EndsWith("/", StringComparison.Ordinal)))
            {
                return path;
            }

            var parts = new List<string>();
            foreach (var part in path.Split('/'))
            {
                if (part.Length == 0 || part == ".")
                {
                    continue;
                }

                if (part == "..")
                {
                    if (parts.Count > 0)
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }

                    continue;
                }

                parts.Add(part);
            }

            return "/" + string.Join("/", parts);
        }

        /// <summary>A NUL-terminated string from the tracee's memory (PATH_MAX at most), read a page at a time.</summary>
        private string? ReadString(int tid, long address)
        {
            if (address == 0)
            {
                return null;
            }

            var collected = new List<byte>();
            long at = address;
            while (collected.Count < ReadBufferSize)
            {
                int chunk = (int)(4096 - (at & 4095));
                int n = ReadRaw(tid, at, chunk);
                if (n <= 0)
                {
                    return null;
                }

                Marshal.Copy(_read, _readCopy, 0, n);
                int end = Array.IndexOf(_readCopy, (byte)0, 0, n);
                if (end >= 0)
                {
                    if (collected.Count == 0)
                    {
                        return Encoding.UTF8.GetString(_readCopy, 0, end);
                    }

                    for (int i = 0; i < end; i++)
                    {
                        collected.Add(_readCopy[i]);
                    }

                    return Encoding.UTF8.GetString(collected.ToArray());
                }

                for (int i = 0; i < n; i++)
                {
                    collected.Add(_readCopy[i]);
                }

                at += n;
            }

            return null;
        }

        private byte[]? ReadMemory(int tid, long address, int length)
        {
            if (address == 0 || length <= 0 || length > ReadBufferSize)
            {
                return null;
            }

            int n = ReadRaw(tid, address, length);
            if (n != length)
            {
                return null;
            }

            var bytes = new byte[length];
            Marshal.Copy(_read, bytes, 0, length);
            return bytes;
        }

        private int ReadRaw(int tid, long address, int length)
        {
            var local = new LinuxNative.IoVec { Base = _read, Length = (UIntPtr)(uint)length };
            var remote = new LinuxNative.IoVec { Base = (IntPtr)address, Length = (UIntPtr)(uint)length };
            return (int)LinuxNative.ProcessVmReadv(tid, ref local, (UIntPtr)1, ref remote, (UIntPtr)1, UIntPtr.Zero);
        }
    }
}

/// <summary>The outcome of <see cref="PtraceTracer.Run"/>.</summary>
/// <param name="Log">What the command's process tree did.</param>
/// <param name="CommandExecuted">False when the command never started (not found, not executable, or the launcher failed:
/// its reason is on standard error and <see cref="TraceLog.ExitCode"/> is the launcher's 125, 126 or 127).</param>
public sealed record TraceResult(TraceLog Log, bool CommandExecuted)
{
    /// <summary>What hashing cost the trace.</summary>
    public TraceHashing Hashing { get; init; } = new(0, 0, 0, false);
}
