using System.Runtime.InteropServices;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>The system calls the tracer stops on, independent of the architecture's numbering.</summary>
internal enum TracedSyscall
{
    None,
    Open,
    Creat,
    OpenAt,
    OpenAt2,
    Unlink,
    UnlinkAt,
    Rmdir,
    Rename,
    RenameAt,
    RenameAt2,
    Mkdir,
    MkdirAt,
    Connect,
    Bind,
    SendTo,
    SendMsg,
    Execve,
    ExecveAt,
}

/// <summary>
/// One architecture's system call numbers and its audit architecture (what seccomp's <c>seccomp_data.arch</c> holds).
/// x86_64 and aarch64 are supported; aarch64 has only the *at variants (no open, creat, unlink, rmdir, rename, mkdir).
/// </summary>
internal sealed class SyscallTable
{
    private readonly Dictionary<long, TracedSyscall> _byNumber;

    private SyscallTable(string name, uint auditArch, Dictionary<long, TracedSyscall> byNumber, int sendToNumber, uint directoryFlag)
    {
        Name = name;
        AuditArch = auditArch;
        _byNumber = byNumber;
        SendToNumber = sendToNumber;
        DirectoryFlag = directoryFlag;
    }

    /// <summary>O_CREAT, the same on both architectures.</summary>
    public const uint CreateFlag = 0x40;

    /// <summary>__O_TMPFILE (O_TMPFILE is __O_TMPFILE | O_DIRECTORY), the same on both architectures.</summary>
    public const uint TmpFileFlag = 0x400000;

    /// <summary>O_DIRECTORY, which differs: 0200000 in the generic fcntl.h x86_64 uses, 040000 on arm64.</summary>
    public uint DirectoryFlag { get; }

    /// <summary>Which argument of an open-family call holds its flags (open: 1, openat: 2), for the calls whose flags the
    /// filter can read (openat2's are in memory it cannot see; creat has none).</summary>
    public IEnumerable<(long Number, int FlagsArgument)> OpenFlagsArguments =>
        _byNumber.Where(e => e.Value == TracedSyscall.Open || e.Value == TracedSyscall.OpenAt)
            .Select(e => (e.Key, e.Value == TracedSyscall.Open ? 1 : 2));

    public string Name { get; }

    /// <summary>AUDIT_ARCH_* of this architecture.</summary>
    public uint AuditArch { get; }

    /// <summary>sendto's number: the filter stops on it only when it carries an address (a connected socket's sends do not stop).</summary>
    public int SendToNumber { get; }

    public IEnumerable<long> Numbers => _byNumber.Keys;

    public TracedSyscall Lookup(long number) => _byNumber.TryGetValue(number, out var s) ? s : TracedSyscall.None;

    /// <summary>The table of the architecture this process runs on, or null when the tracer does not support it.</summary>
    public static SyscallTable? ForCurrentArchitecture() => For(RuntimeInformation.ProcessArchitecture);

    /// <summary>The table of <paramref name="architecture"/>, or null when the tracer does not support it.</summary>
    public static SyscallTable? For(Architecture architecture) => architecture switch
    {
        Architecture.X64 => X64,
        Architecture.Arm64 => Arm64,
        _ => null,
    };

    public static readonly SyscallTable X64 = new("x86_64", 0xC000003E, new Dictionary<long, TracedSyscall>
    {
        [2] = TracedSyscall.Open,
        [85] = TracedSyscall.Creat,
        [257] = TracedSyscall.OpenAt,
        [437] = TracedSyscall.OpenAt2,
        [87] = TracedSyscall.Unlink,
        [263] = TracedSyscall.UnlinkAt,
        [84] = TracedSyscall.Rmdir,
        [82] = TracedSyscall.Rename,
        [264] = TracedSyscall.RenameAt,
        [316] = TracedSyscall.RenameAt2,
        [83] = TracedSyscall.Mkdir,
        [258] = TracedSyscall.MkdirAt,
        [42] = TracedSyscall.Connect,
        [49] = TracedSyscall.Bind,
        [44] = TracedSyscall.SendTo,
        [46] = TracedSyscall.SendMsg,
        [59] = TracedSyscall.Execve,
        [322] = TracedSyscall.ExecveAt,
    }, sendToNumber: 44, directoryFlag: 0x10000);

    public static readonly SyscallTable Arm64 = new("aarch64", 0xC00000B7, new Dictionary<long, TracedSyscall>
    {
        [56] = TracedSyscall.OpenAt,
        [437] = TracedSyscall.OpenAt2,
        [35] = TracedSyscall.UnlinkAt,
        [38] = TracedSyscall.RenameAt,
        [276] = TracedSyscall.RenameAt2,
        [34] = TracedSyscall.MkdirAt,
        [203] = TracedSyscall.Connect,
        [200] = TracedSyscall.Bind,
        [206] = TracedSyscall.SendTo,
        [211] = TracedSyscall.SendMsg,
        [221] = TracedSyscall.Execve,
        [281] = TracedSyscall.ExecveAt,
    }, sendToNumber: 206, directoryFlag: 0x4000);
}
