using System.Globalization;
using System.Runtime.InteropServices;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// The first process of a trace, run as a hidden mode of the securebuild executable (<c>securebuild __trace-exec
/// PROGRAM ARGS...</c>), because .NET cannot fork and run code in the child. It prepares everything in native memory,
/// waits until the tracer has attached to it (PTRACE_SEIZE; it polls TracerPid in /proc/self/status, bounded), then
/// sets no_new_privs, installs the seccomp filter on its main thread and execve()s the command. Only the main thread is
/// traced and filtered: the runtime's other threads are untouched and die at the exec. Nothing is allocated between
/// installing the filter and the exec. It never runs the command unconfined: if the tracer does not attach or the filter
/// cannot be installed it exits with <see cref="SetupFailed"/> without executing anything.
/// </summary>
public static class TraceLauncher
{
    /// <summary>The launcher's exit code when it could not set up the trace (the reason is on standard error).</summary>
    public const int SetupFailed = 125;

    /// <summary>The exit code when the command exists but cannot be executed (like a shell's).</summary>
    public const int CannotExecute = 126;

    /// <summary>The exit code when the command was not found (like a shell's).</summary>
    public const int NotFound = 127;

    /// <summary>The hidden verb's name.</summary>
    public const string Verb = "__trace-exec";

    /// <summary>
    /// The environment variable that bounds how long the launcher waits for the tracer to attach, in whole seconds
    /// (1 to 300; anything else is the default, 30). The tracer attaches within milliseconds; the bound only decides
    /// how soon a launcher that nothing traces gives up (the tests use 1 s instead of waiting 30).
    /// </summary>
    public const string AttachTimeoutVariable = "SECUREBUILD_TRACE_ATTACH_SECONDS";

    /// <summary>Runs the launcher; returns only on failure (the exit code to use).</summary>
    public static int Run(IReadOnlyList<string> command, TextWriter stderr)
    {
        if (command.Count == 0)
        {
            stderr.WriteLine("securebuild trace: SB4108: no command to run.");
            return SetupFailed;
        }

        var table = SyscallTable.ForCurrentArchitecture();
        if (table is null || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            stderr.WriteLine("securebuild trace: SB4101: the tracer supports Linux on x86_64 and aarch64 only.");
            return SetupFailed;
        }

        string? program = ResolveProgram(command[0], Environment.GetEnvironmentVariable("PATH"));
        if (program is null)
        {
            stderr.WriteLine($"securebuild trace: SB4106: cannot run '{command[0]}': command not found (not a path and not on PATH). Give the program's path or fix PATH.");
            return NotFound;
        }

        // Native memory prepared before anything is traced: the path, argv, envp and the filter.
        var pathBytes = FileStatus.Utf8(program);
        IntPtr path = Marshal.AllocHGlobal(pathBytes.Length);
        Marshal.Copy(pathBytes, 0, path, pathBytes.Length);
        IntPtr argv = NativeStringArray(command);
        IntPtr envp = NativeStringArray(Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(e => (string)e.Key + "=" + (string?)e.Value).ToList());
        var filterBytes = SeccompFilter.Build(table);
        IntPtr filter = Marshal.AllocHGlobal(filterBytes.Length);
        Marshal.Copy(filterBytes, 0, filter, filterBytes.Length);
        var fprog = new LinuxNative.SockFilterProgram { Length = (ushort)(filterBytes.Length / 8), Filter = filter };

        // The command gets default signal dispositions and an empty mask, not the .NET runtime's (which ignores SIGPIPE).
        LinuxNative.Signal(13, IntPtr.Zero);
        LinuxNative.SigProcMask(2, new byte[128], IntPtr.Zero);
        // Warm the execve stub: the call below must not need the JIT once the filter is in place.
        LinuxNative.Execve(IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);

        int attachSeconds = AttachTimeoutSeconds(Environment.GetEnvironmentVariable(AttachTimeoutVariable));
        if (!WaitForTracer(TimeSpan.FromSeconds(attachSeconds)))
        {
            stderr.WriteLine($"securebuild trace: SB4102: the tracer did not attach to the command within {attachSeconds} seconds; nothing was run.");
            return SetupFailed;
        }

        if (LinuxNative.Prctl(LinuxNative.PrSetNoNewPrivs, 1, 0, 0, 0) != 0 ||
            LinuxNative.PrctlSeccomp(LinuxNative.PrSetSeccomp, LinuxNative.SeccompModeFilter, ref fprog, 0, 0) != 0)
        {
            int errno = Marshal.GetLastWin32Error();
            stderr.WriteLine($"securebuild trace: SB4103: cannot install the seccomp filter ({LinuxNative.Describe(errno)}); nothing was run. " +
                "The kernel needs CONFIG_SECCOMP_FILTER and a container's seccomp profile must allow seccomp() and prctl() " +
                "(e.g. docker run --security-opt seccomp=unconfined).");
            return SetupFailed;
        }

        LinuxNative.Execve(path, argv, envp);
        int error = Marshal.GetLastWin32Error();
        stderr.WriteLine($"securebuild trace: SB4106: cannot execute '{program}': {LinuxNative.Describe(error)}.");
        return error == 2 ? NotFound : CannotExecute;
    }

    /// <summary>Like execvp: a name with a slash is taken as it is, a bare name is looked up on PATH (first executable file).</summary>
    public static string? ResolveProgram(string name, string? pathVariable)
    {
        if (name.Length == 0)
        {
            return null;
        }

        if (name.IndexOf('/') >= 0)
        {
            return name;
        }

        foreach (var directory in (pathVariable ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The attach bound <see cref="AttachTimeoutVariable"/> gives: 1 to 300 whole seconds, else 30.</summary>
    public static int AttachTimeoutSeconds(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) && seconds >= 1 && seconds <= 300 ? seconds : 30;

    private static bool WaitForTracer(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in File.ReadAllLines("/proc/self/status"))
            {
                if (line.StartsWith("TracerPid:", StringComparison.Ordinal))
                {
                    if (int.TryParse(line.Substring(10).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int tracer) && tracer != 0)
                    {
                        return true;
                    }

                    break;
                }
            }

            Thread.Sleep(1);
        }

        return false;
    }

    private static IntPtr NativeStringArray(IReadOnlyList<string> strings)
    {
        IntPtr array = Marshal.AllocHGlobal(IntPtr.Size * (strings.Count + 1));
        for (int i = 0; i < strings.Count; i++)
        {
            var bytes = FileStatus.Utf8(strings[i]);
            IntPtr s = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, s, bytes.Length);
            Marshal.WriteIntPtr(array, i * IntPtr.Size, s);
        }

        Marshal.WriteIntPtr(array, strings.Count * IntPtr.Size, IntPtr.Zero);
        return array;
    }
}
