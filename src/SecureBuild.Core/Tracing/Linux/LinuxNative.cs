using System.Runtime.InteropServices;

namespace SecureBuild.Core.Tracing.Linux;

// The C library calls the Linux tracer needs. Every signature is blittable (ints, longs, IntPtr, byte arrays and
// blittable structs by reference), so the same declarations work under the JIT and under Native AOT, where ILC
// generates the marshalling at compile time. ptrace and prctl are variadic in glibc; passing four register-sized
// arguments is what the x86_64 and aarch64 calling conventions expect for them.
internal static class LinuxNative
{
    // ptrace requests (linux/ptrace.h)
    public const int PtraceCont = 7;
    public const int PtraceSyscall = 24;
    public const int PtraceGetEventMsg = 0x4201;
    public const int PtraceSeize = 0x4206;
    public const int PtraceListen = 0x4208;
    public const int PtraceGetSyscallInfo = 0x420e;

    // ptrace options
    public const long OptionTraceSysGood = 0x1;
    public const long OptionTraceFork = 0x2;
    public const long OptionTraceVfork = 0x4;
    public const long OptionTraceClone = 0x8;
    public const long OptionTraceExec = 0x10;
    public const long OptionTraceExit = 0x40;
    public const long OptionTraceSeccomp = 0x80;
    public const long OptionExitKill = 0x100000;

    // ptrace events (status >> 16)
    public const int EventFork = 1;
    public const int EventVfork = 2;
    public const int EventClone = 3;
    public const int EventExec = 4;
    public const int EventExit = 6;
    public const int EventSeccomp = 7;
    public const int EventStop = 128;

    // PTRACE_GET_SYSCALL_INFO ops
    public const byte SyscallInfoExit = 2;
    public const byte SyscallInfoSeccomp = 3;

    // waitpid flags
    public const int WaitNoThread = 0x20000000; // __WNOTHREAD: only this thread's children and tracees
    public const int WaitAll = 0x40000000;      // __WALL: threads and processes alike

    // signals
    public const int SigTrap = 5;
    public const int SigKill = 9;
    public const int SigStop = 19;
    public const int SigTstp = 20;
    public const int SigTtin = 21;
    public const int SigTtou = 22;

    // errno
    public const int EIntr = 4;
    public const int ESrch = 3;
    public const int EChild = 10;
    public const int EPerm = 1;

    // prctl
    public const int PrSetNoNewPrivs = 38;
    public const int PrSetSeccomp = 22;
    public const int SeccompModeFilter = 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public IntPtr Base;
        public UIntPtr Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockFilterProgram
    {
        public ushort Length;
        public IntPtr Filter;
    }

    [DllImport("libc", EntryPoint = "ptrace", SetLastError = true)]
    public static extern long Ptrace(int request, int pid, IntPtr address, IntPtr data);

    [DllImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static extern int WaitPid(int pid, out int status, int options);

    [DllImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    public static extern IntPtr ProcessVmReadv(int pid, ref IoVec local, UIntPtr localCount, ref IoVec remote, UIntPtr remoteCount, UIntPtr flags);

    [DllImport("libc", EntryPoint = "posix_spawn", SetLastError = true)]
    public static extern int PosixSpawn(out int pid, byte[] path, IntPtr fileActions, IntPtr attributes, IntPtr[] argv, IntPtr[] envp);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static extern int Prctl(int option, long arg2, long arg3, long arg4, long arg5);

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static extern int PrctlSeccomp(int option, long mode, ref SockFilterProgram program, long arg4, long arg5);

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    public static extern int Execve(IntPtr path, IntPtr argv, IntPtr envp);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    public static extern IntPtr Signal(int signal, IntPtr handler);

    [DllImport("libc", EntryPoint = "sigprocmask", SetLastError = true)]
    public static extern int SigProcMask(int how, byte[] set, IntPtr oldSet);

    [DllImport("libc", EntryPoint = "strerror")]
    private static extern IntPtr StrError(int errno);

    /// <summary>The C library's text for an errno value ("Operation not permitted").</summary>
    public static string Describe(int errno) => Marshal.PtrToStringAnsi(StrError(errno)) ?? "error " + errno;

    public static bool Exited(int status) => (status & 0x7f) == 0;
    public static int ExitStatus(int status) => (status >> 8) & 0xff;
    public static bool Signaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
    public static int TermSignal(int status) => status & 0x7f;
    public static bool Stopped(int status) => (status & 0xff) == 0x7f;
    public static int StopSignal(int status) => (status >> 8) & 0xff;
    public static int Event(int status) => (status >> 16) & 0xff;

    /// <summary>The name of a Linux signal number ("SIGKILL"), as the trace records it.</summary>
    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS",
        8 => "SIGFPE", 9 => "SIGKILL", 10 => "SIGUSR1", 11 => "SIGSEGV", 12 => "SIGUSR2", 13 => "SIGPIPE",
        14 => "SIGALRM", 15 => "SIGTERM", 16 => "SIGSTKFLT", 17 => "SIGCHLD", 18 => "SIGCONT", 19 => "SIGSTOP",
        20 => "SIGTSTP", 21 => "SIGTTIN", 22 => "SIGTTOU", 23 => "SIGURG", 24 => "SIGXCPU", 25 => "SIGXFSZ",
        26 => "SIGVTALRM", 27 => "SIGPROF", 28 => "SIGWINCH", 29 => "SIGIO", 30 => "SIGPWR", 31 => "SIGSYS",
        _ => "SIG" + signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The number of a signal name, the inverse of <see cref="SignalName"/> (0 when unknown).</summary>
    public static int SignalNumber(string name)
    {
        for (int i = 1; i < 65; i++)
        {
            if (SignalName(i) == name)
            {
                return i;
            }
        }

        return 0;
    }
}
