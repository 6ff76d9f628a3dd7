using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace SecureBuild.Core.Processes;

/// <summary>
/// Everything a child started, and how to end it. On Unix every child is started through <c>setsid</c> (util-linux
/// or busybox, which call setsid(2) and exec in place because .NET's child is never a group leader), so the child's
/// pid is also its session and process-group id. Killing then covers:
/// <list type="bullet">
/// <item>the child's process group (<c>kill(-pgid, SIGKILL)</c>), which includes background jobs such as
/// <c>sh -c 'sleep 1000 &amp;'</c> long after the shell exited;</item>
/// <item>on Linux, every process of the child's session (read from <c>/proc/*/stat</c>), which also covers children
/// that moved to a process group of their own;</item>
/// <item>on Linux, every process that still holds one of the child's output pipes (<c>/proc/*/fd</c>), whatever its
/// session;</item>
/// <item>elsewhere, or without <c>setsid</c>: the live descendants (<c>Process.Kill(entireProcessTree: true)</c>).</item>
/// </list>
/// Not covered: a double-forked daemon that starts a session of its own (setsid(2)) and does not hold the pipes, or
/// one running under another user. Those outlive the child; the runner still returns (reading stops after a bounded
/// grace period).
/// </summary>
internal static class ProcessTree
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int AccessExecute = 1;

    private static readonly ConcurrentDictionary<int, byte> LiveGroups = new();
    private static readonly Lazy<string?> SetsidPath = new(FindSetsid);
    private static int _handlersRegistered;

    public static bool IsUnix => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    private static bool IsLinux => RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

    /// <summary>The setsid program, or null where there is none (macOS, Windows).</summary>
    public static string? Setsid => SetsidPath.Value;

    /// <summary>
    /// Where <paramref name="fileName"/> is: a path is taken as it is (relative to <paramref name="workingDirectory"/>),
    /// a bare name is looked up on <paramref name="path"/> like execvp, then next to the running executable (never in
    /// the current directory). Null with the reason when it cannot run.
    /// On Windows the name is left to Process.Start (PATHEXT and the rest).
    /// </summary>
    public static string? ResolveProgram(string fileName, string workingDirectory, string? path, out string? error)
    {
        error = null;
        if (!IsUnix)
        {
            return fileName;
        }

        if (fileName.Length == 0)
        {
            error = "the program name is empty";
            return null;
        }

        if (fileName.IndexOf('/') >= 0)
        {
            string full = Path.IsPathRooted(fileName) ? fileName : Path.Combine(workingDirectory, fileName);
            return CheckExecutable(full, out error) ? full : null;
        }

        foreach (string directory in (path ?? "").Split(':'))
        {
            if (directory.Length == 0)
            {
                continue; // an empty entry would mean "the current directory": never look there
            }

            string candidate = Path.Combine(directory, fileName);
            if (File.Exists(candidate) && Access(candidate, AccessExecute) == 0)
            {
                return candidate;
            }
        }

        // Then, as Process.Start does, next to the running executable (the dotnet host for `dotnet securebuild.dll`).
        string? own = OwnDirectory();
        if (own is not null && File.Exists(Path.Combine(own, fileName)) && Access(Path.Combine(own, fileName), AccessExecute) == 0)
        {
            return Path.Combine(own, fileName);
        }

        error = $"'{fileName}' was not found on PATH (No such file or directory)";
        return null;
    }

    /// <summary>The pipe inode behind our end of a redirected stream ("pipe:[123]"), read on Linux; else null.</summary>
    public static string? PipeOf(Stream stream)
    {
        if (!IsLinux || stream is not PipeStream pipe)
        {
            return null;
        }

        try
        {
            int fd = pipe.SafePipeHandle.DangerousGetHandle().ToInt32();
            return ReadLink($"/proc/self/fd/{fd.ToString(CultureInfo.InvariantCulture)}") is { } target && target.StartsWith("pipe:", StringComparison.Ordinal) ? target : null;
        }
        catch (Exception e) when (e is ObjectDisposedException || e is InvalidOperationException || e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Remembers a group so that Ctrl+C reaches it as SIGINT, as the terminal would send it (the group is not the
    /// terminal's foreground group), and a normal exit of this process kills it. A SIGTERM or SIGHUP of this process
    /// is not passed on: .NET ends the process without raising ProcessExit.
    /// </summary>
    public static void Track(int group)
    {
        if (Interlocked.Exchange(ref _handlersRegistered, 1) == 0)
        {
            Console.CancelKeyPress += (_, _) => SignalAll(SigInt);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => SignalAll(SigKill);
        }

        LiveGroups[group] = 0;
    }

    public static void Untrack(int group) => LiveGroups.TryRemove(group, out _);

    /// <summary>Kills the child, its group and session (when it has one) and whatever holds <paramref name="pipes"/>.</summary>
    public static void Kill(Process process, int? group, IReadOnlyCollection<string> pipes)
    {
        if (group is int g)
        {
            Signal(-g, SigKill);
            if (IsLinux)
            {
                KillLinux(g, pipes);
            }
        }
        else
        {
            KillDescendants(process);
        }

        if (group is null && IsLinux && pipes.Count > 0)
        {
            KillLinux(null, pipes);
        }
    }

    private static void KillDescendants(Process process)
    {
        try
        {
            // Process.Kill(bool entireProcessTree) exists on .NET Core 3.0+, not in netstandard2.0.
            var tree = typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);
            if (tree is not null)
            {
                tree.Invoke(process, new object[] { true });
            }
            else
            {
                process.Kill();
            }
        }
        catch (Exception e) when (e is InvalidOperationException || e is Win32Exception || e is TargetInvocationException || e is NotSupportedException)
        {
            // Already gone.
        }
    }

    /// <summary>One pass over /proc: every process of the session <paramref name="session"/> and every holder of a pipe.</summary>
    private static void KillLinux(int? session, IReadOnlyCollection<string> pipes)
    {
        int self = Process.GetCurrentProcess().Id;
        string[] entries;
        try
        {
            entries = Directory.GetDirectories("/proc");
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return;
        }

        foreach (string entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == self)
            {
                continue;
            }

            if ((session is int s && SessionOf(entry) == s) || (pipes.Count > 0 && HoldsPipe(entry, pipes)))
            {
                Signal(pid, SigKill);
            }
        }
    }

    private static int? SessionOf(string procDirectory)
    {
        try
        {
            // "pid (comm) state ppid pgrp session ...".
            string[] fields = ProcessTable.StatFields(File.ReadAllText(Path.Combine(procDirectory, "stat")));
            return fields.Length > 3 && int.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out int session) ? session : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static bool HoldsPipe(string procDirectory, IReadOnlyCollection<string> pipes)
    {
        try
        {
            foreach (string fd in Directory.EnumerateFileSystemEntries(Path.Combine(procDirectory, "fd")))
            {
                if (ReadLink(fd) is { } target && pipes.Contains(target))
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            // Gone, or another user's process: not ours to kill.
        }

        return false;
    }

    private static void SignalAll(int signal)
    {
        foreach (int group in LiveGroups.Keys)
        {
            Signal(-group, signal);
        }
    }

    private static void Signal(int pid, int signal)
    {
        try
        {
            _ = NativeKill(pid, signal);
        }
        catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
        {
        }
    }

    private static bool CheckExecutable(string full, out string? error)
    {
        error = null;
        if (Directory.Exists(full))
        {
            error = $"'{full}' is a directory (Permission denied)";
        }
        else if (!File.Exists(full))
        {
            error = $"'{full}' does not exist (No such file or directory)";
        }
        else if (Access(full, AccessExecute) != 0)
        {
            error = $"'{full}' is not executable (Permission denied)";
        }

        return error is null;
    }

    private static string? OwnDirectory()
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return self.MainModule?.FileName is { } exe ? Path.GetDirectoryName(exe) : null;
        }
        catch (Exception e) when (e is Win32Exception || e is InvalidOperationException || e is NotSupportedException)
        {
            return null;
        }
    }

    private static string? FindSetsid()
    {
        if (!IsUnix)
        {
            return null;
        }

        foreach (string candidate in new[] { "/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid" })
        {
            if (File.Exists(candidate) && Access(candidate, AccessExecute) == 0)
            {
                return candidate;
            }
        }

        return null;
    }

    private static int Access(string path, int mode)
    {
        try
        {
            return NativeAccess(Utf8z(path), mode);
        }
        catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            return File.Exists(path) ? 0 : -1;
        }
    }

    private static string? ReadLink(string path)
    {
        var buffer = new byte[4096];
        long n = NativeReadLink(Utf8z(path), buffer, (IntPtr)buffer.Length).ToInt64();
        return n <= 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    /// <summary>A path as the C library takes it: UTF-8 with a terminating NUL (netstandard2.0 has no LPUTF8Str).</summary>
    private static byte[] Utf8z(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, 0, path.Length, bytes, 0);
        return bytes;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "access", SetLastError = true)]
    private static extern int NativeAccess(byte[] nullTerminatedPath, int mode);

    [DllImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static extern IntPtr NativeReadLink(byte[] nullTerminatedPath, [Out] byte[] buffer, IntPtr size);
}
