using System.Text.RegularExpressions;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The tracer's system call numbers against the kernel's own headers (Debian's linux-libc-dev, which the C compiler
/// brings): x86_64's asm/unistd_64.h, and for aarch64 asm-generic/unistd.h, the table arm64 uses. The aarch64 table
/// cannot be run here (qemu-user does not emulate ptrace for its guests), so this is what checks it: every number it
/// stops on names the call it decodes as, and every traced call the architecture has is in it.
/// </summary>
public class SyscallTableTests
{
    private static Dictionary<string, long> Header(string path)
    {
        if (!File.Exists(path))
        {
            Assert.Inconclusive($"{path} is not installed (apt-get install linux-libc-dev).");
        }

        var numbers = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(File.ReadAllText(path), @"^#define __NR_([a-z0-9_]+)\s+(\d+)\s*$", RegexOptions.Multiline))
        {
            numbers.TryAdd(m.Groups[1].Value, long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }

        return numbers;
    }

    private static void AssertMatches(SyscallTable table, Dictionary<string, long> kernel)
    {
        var ours = table.Numbers.ToDictionary(n => table.Lookup(n).ToString().ToLowerInvariant(), n => n);
        foreach (var (name, number) in ours)
        {
            Assert.That(kernel.TryGetValue(name, out long expected), Is.True, $"{table.Name}: the kernel has no {name}");
            Assert.That(number, Is.EqualTo(expected), $"{table.Name}: {name}");
        }

        var missing = Enum.GetValues<TracedSyscall>().Where(s => s != TracedSyscall.None)
            .Select(s => s.ToString().ToLowerInvariant()).Where(n => kernel.ContainsKey(n) && !ours.ContainsKey(n)).ToList();
        Assert.That(missing, Is.Empty, $"{table.Name}: calls the kernel has that the table would let pass unseen");
        Assert.That(table.Lookup(table.SendToNumber), Is.EqualTo(TracedSyscall.SendTo));
    }

    [Test]
    public void The_x86_64_numbers_are_the_kernels() =>
        AssertMatches(SyscallTable.X64, Header("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"));

    [Test]
    public void The_aarch64_numbers_are_the_kernels_generic_table()
    {
        var generic = Header("/usr/include/asm-generic/unistd.h");
        // arm64 defines __ARCH_WANT_RENAMEAT, the one guarded call of the generic table the tracer stops on.
        Assert.That(generic, Does.ContainKey("renameat"));
        AssertMatches(SyscallTable.Arm64, generic);
        Assert.That(SyscallTable.Arm64.AuditArch, Is.EqualTo(0xC00000B7u), "AUDIT_ARCH_AARCH64: EM_AARCH64 (183) | 64-bit | little endian");
        Assert.That(SyscallTable.X64.AuditArch, Is.EqualTo(0xC000003Eu), "AUDIT_ARCH_X86_64: EM_X86_64 (62) | 64-bit | little endian");
    }
}
