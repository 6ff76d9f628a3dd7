namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// The seccomp-bpf program that makes only the system calls of interest stop the tracee (SECCOMP_RET_TRACE, seen by the
/// tracer as PTRACE_EVENT_SECCOMP); every other call runs at full speed (SECCOMP_RET_ALLOW). A call made under another
/// architecture's convention (i386's int 0x80 on x86_64, or an x32 call) also stops, so that the tracer can count it as
/// an event it cannot decode instead of missing it. Two calls stop only when their arguments make them matter:
/// <list type="bullet">
/// <item>sendto stops only when it carries a destination address: the sends of a connected socket are not network
/// operations of their own.</item>
/// <item>open and openat do not stop when they open a directory to list it (O_DIRECTORY without O_CREAT or O_TMPFILE,
/// what opendir(3) and .NET's directory enumeration do): such an open can only ever yield a directory (a regular file
/// fails with ENOTDIR), so no file content is read or written through it, and a trace records files, not listings.
/// O_TMPFILE includes the O_DIRECTORY bit and creates a file, and O_CREAT with O_DIRECTORY created a regular file on
/// some kernels (5.7 to 6.3): both still stop. openat2's flags are in memory the filter cannot read, so it always stops.</item>
/// </list>
/// </summary>
internal static class SeccompFilter
{
    private const ushort LoadWordAbsolute = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private const ushort JumpAlways = 0x05;       // BPF_JMP | BPF_JA
    private const ushort JumpIfEqual = 0x15;      // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JumpIfGreaterOrEqual = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    private const ushort JumpIfAnySet = 0x45;     // BPF_JMP | BPF_JSET | BPF_K
    private const ushort Return = 0x06;           // BPF_RET | BPF_K

    public const uint ReturnAllow = 0x7fff0000;
    public const uint ReturnTrace = 0x7ff00000;

    // struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; (little endian: an argument's
    // low 32 bits come first, and the kernel reads open's and openat's flags as an int, so the low word is all of them)
    private const uint OffsetNr = 0;
    private const uint OffsetArch = 4;
    private const uint OffsetArgs = 16;

    private const string Trace = "trace";
    private const string Allow = "allow";
    private const string SendToCheck = "sendto";
    private const string FlagsCheck = "flags";

    /// <summary>The program as struct sock_filter[] bytes (8 bytes each: u16 code, u8 jt, u8 jf, u32 k).</summary>
    public static byte[] Build(SyscallTable table)
    {
        var opens = table.OpenFlagsArguments.ToDictionary(o => o.Number, o => o.FlagsArgument);
        var numbers = table.Numbers.Where(n => n != table.SendToNumber).OrderBy(n => n).ToList();
        var program = new Assembler();

        program.Emit(LoadWordAbsolute, OffsetArch);
        program.Jump(JumpIfEqual, table.AuditArch, null, Trace);
        program.Emit(LoadWordAbsolute, OffsetNr);
        if (table.AuditArch == SyscallTable.X64.AuditArch)
        {
            program.Jump(JumpIfGreaterOrEqual, 0x40000000, Trace, null); // __X32_SYSCALL_BIT
        }

        foreach (var n in numbers)
        {
            program.Jump(JumpIfEqual, checked((uint)n), opens.ContainsKey(n) ? "open" + n : Trace, null);
        }

        program.Jump(JumpIfEqual, (uint)table.SendToNumber, SendToCheck, Allow);

        // sendto(fd, buf, len, flags, dest_addr, addrlen): trace unless dest_addr (args[4], both halves) is NULL.
        program.Label(SendToCheck);
        program.Emit(LoadWordAbsolute, OffsetArgs + 8 * 4);
        program.Jump(JumpIfEqual, 0, null, Trace);
        program.Emit(LoadWordAbsolute, OffsetArgs + 8 * 4 + 4);
        program.Jump(JumpIfEqual, 0, Allow, Trace);

        // open(path, flags, mode) / openat(dirfd, path, flags, mode): load the flags, then the check they share.
        foreach (var open in opens.OrderBy(o => o.Key))
        {
            program.Label("open" + open.Key);
            program.Emit(LoadWordAbsolute, OffsetArgs + 8 * (uint)open.Value);
            program.Always(FlagsCheck);
        }

        program.Label(FlagsCheck);
        program.Jump(JumpIfAnySet, table.DirectoryFlag, null, Trace);
        program.Jump(JumpIfAnySet, SyscallTable.CreateFlag | SyscallTable.TmpFileFlag, Trace, Allow);

        program.Label(Trace);
        program.Emit(Return, ReturnTrace);
        program.Label(Allow);
        program.Emit(Return, ReturnAllow);
        return program.Assemble();
    }

    /// <summary>Classic BPF with forward jumps to named labels (a null target: the next instruction).</summary>
    private sealed class Assembler
    {
        private readonly List<(ushort Code, uint K, string? True, string? False, string? Always)> _code = new();
        private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);

        public void Emit(ushort code, uint k) => _code.Add((code, k, null, null, null));

        public void Jump(ushort code, uint k, string? whenTrue, string? whenFalse) => _code.Add((code, k, whenTrue, whenFalse, null));

        public void Always(string target) => _code.Add((JumpAlways, 0, null, null, target));

        public void Label(string name) => _labels.Add(name, _code.Count);

        public byte[] Assemble()
        {
            var bytes = new byte[_code.Count * 8];
            for (int i = 0; i < _code.Count; i++)
            {
                var (code, k, whenTrue, whenFalse, always) = _code[i];
                byte jt = Offset(i, whenTrue), jf = Offset(i, whenFalse);
                if (always is not null)
                {
                    k = Offset(i, always);
                }

                bytes[i * 8] = (byte)code;
                bytes[i * 8 + 1] = (byte)(code >> 8);
                bytes[i * 8 + 2] = jt;
                bytes[i * 8 + 3] = jf;
                bytes[i * 8 + 4] = (byte)k;
                bytes[i * 8 + 5] = (byte)(k >> 8);
                bytes[i * 8 + 6] = (byte)(k >> 16);
                bytes[i * 8 + 7] = (byte)(k >> 24);
            }

            return bytes;
        }

        /// <summary>A jump's offset from the instruction after <paramref name="from"/>; jumps go forward only, at most 255.</summary>
        private byte Offset(int from, string? label)
        {
            if (label is null)
            {
                return 0;
            }

            int target = _labels.TryGetValue(label, out int at) ? at : throw new InvalidOperationException($"The seccomp program has no label '{label}'.");
            if (target <= from)
            {
                throw new InvalidOperationException($"The seccomp program jumps backwards to '{label}'.");
            }

            return checked((byte)(target - from - 1));
        }
    }
}
