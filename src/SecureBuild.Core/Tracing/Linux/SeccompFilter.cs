namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// The seccomp-bpf program that makes only the system calls of interest stop the tracee (SECCOMP_RET_TRACE, seen by the
/// tracer as PTRACE_EVENT_SECCOMP); every other call runs at full speed (SECCOMP_RET_ALLOW). A call made under another
/// architecture's convention (i386's int 0x80 on x86_64, or an x32 call) also stops, so that the tracer can count it as
/// an event it cannot decode instead of missing it. sendto stops only when it carries a destination address: the sends
/// of a connected socket are not network operations of their own.
/// </summary>
internal static class SeccompFilter
{
    private const ushort LoadWordAbsolute = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private const ushort JumpIfEqual = 0x15;      // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JumpIfGreaterOrEqual = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    private const ushort Return = 0x06;           // BPF_RET | BPF_K

    public const uint ReturnAllow = 0x7fff0000;
    public const uint ReturnTrace = 0x7ff00000;

    // struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
    private const uint OffsetNr = 0;
    private const uint OffsetArch = 4;
    private const uint OffsetArgs = 16;

    /// <summary>The program as struct sock_filter[] bytes (8 bytes each: u16 code, u8 jt, u8 jf, u32 k).</summary>
    public static byte[] Build(SyscallTable table)
    {
        var numbers = table.Numbers.Where(n => n != table.SendToNumber).OrderBy(n => n).ToList();
        var program = new List<(ushort Code, byte JumpTrue, byte JumpFalse, uint K)>();

        // Instruction indexes are resolved at the end: "trace" and "allow" are the last two instructions.
        // Layout: [0] ld arch, [1] jeq arch ? next : trace, [2] ld nr, [3] (x86_64) jge 0x40000000 ? trace : next,
        // then one jeq per number (? trace : next), jeq sendto ? sendto-check : allow, sendto-check (4), trace, allow.
        bool x64 = table.AuditArch == SyscallTable.X64.AuditArch;
        int count = 3 + (x64 ? 1 : 0) + numbers.Count + 1 + 4 + 2;
        int trace = count - 2;
        int allow = count - 1;

        byte To(int target) => checked((byte)(target - program.Count - 1));

        program.Add((LoadWordAbsolute, 0, 0, OffsetArch));
        program.Add((JumpIfEqual, 0, To(trace), table.AuditArch));
        program.Add((LoadWordAbsolute, 0, 0, OffsetNr));
        if (x64)
        {
            program.Add((JumpIfGreaterOrEqual, To(trace), 0, 0x40000000)); // __X32_SYSCALL_BIT
        }

        foreach (var n in numbers)
        {
            program.Add((JumpIfEqual, To(trace), 0, checked((uint)n)));
        }

        int sendToCheck = program.Count + 1;
        program.Add((JumpIfEqual, To(sendToCheck), To(allow), (uint)table.SendToNumber));
        // sendto(fd, buf, len, flags, dest_addr, addrlen): trace unless dest_addr (args[4], both halves) is NULL.
        program.Add((LoadWordAbsolute, 0, 0, OffsetArgs + 8 * 4));
        program.Add((JumpIfEqual, 0, To(trace), 0));
        program.Add((LoadWordAbsolute, 0, 0, OffsetArgs + 8 * 4 + 4));
        program.Add((JumpIfEqual, To(allow), To(trace), 0));
        program.Add((Return, 0, 0, ReturnTrace));
        program.Add((Return, 0, 0, ReturnAllow));
        if (program.Count != count)
        {
            throw new InvalidOperationException("The seccomp program's layout is inconsistent.");
        }

        var bytes = new byte[program.Count * 8];
        for (int i = 0; i < program.Count; i++)
        {
            var (code, jt, jf, k) = program[i];
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
}
