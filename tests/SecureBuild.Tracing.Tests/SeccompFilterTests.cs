using System.Text.RegularExpressions;
using SecureBuild.Core.Tracing;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The seccomp program's decisions: run by a small classic-BPF interpreter here on both architectures' tables (aarch64
/// cannot run on this machine), and by the kernel on this one through a real trace.
/// </summary>
public class SeccompFilterTests : TracingFixture
{
    private const long ODirectoryX64 = 0x10000;
    private const long OCreat = 0x40;
    private const long OTmpFile = 0x400000 | ODirectoryX64;

    private static readonly string[] Tables = { "x86_64", "aarch64" };

    /// <summary>Runs the program on one struct seccomp_data (nr, arch, instruction pointer 0, args) as the kernel would.</summary>
    private static uint Decide(byte[] program, uint arch, long nr, params long[] args)
    {
        var data = new byte[64];
        BitConverter.GetBytes((int)nr).CopyTo(data, 0);
        BitConverter.GetBytes(arch).CopyTo(data, 4);
        for (int i = 0; i < args.Length; i++)
        {
            BitConverter.GetBytes(args[i]).CopyTo(data, 16 + 8 * i);
        }

        uint a = 0;
        for (int pc = 0, steps = 0; steps < 1000; steps++)
        {
            Assert.That(pc, Is.LessThan(program.Length / 8), "the program runs off its end");
            ushort code = BitConverter.ToUInt16(program, pc * 8);
            byte jt = program[pc * 8 + 2], jf = program[pc * 8 + 3];
            uint k = BitConverter.ToUInt32(program, pc * 8 + 4);
            pc++;
            switch (code)
            {
                case 0x20: a = BitConverter.ToUInt32(data, (int)k); break;
                case 0x05: pc += (int)k; break;
                case 0x15: pc += a == k ? jt : jf; break;
                case 0x35: pc += a >= k ? jt : jf; break;
                case 0x45: pc += (a & k) != 0 ? jt : jf; break;
                case 0x06: return k;
                default: Assert.Fail($"unexpected BPF instruction 0x{code:x}"); break;
            }
        }

        Assert.Fail("the program does not end");
        return 0;
    }

    private static long Number(SyscallTable table, TracedSyscall call) => table.Numbers.Single(n => table.Lookup(n) == call);

    [Test]
    public void Directory_listings_run_free_and_every_other_open_stops([ValueSource(nameof(Tables))] string architecture)
    {
        var table = architecture == "x86_64" ? SyscallTable.X64 : SyscallTable.Arm64;
        var program = SeccompFilter.Build(table);
        long dir = table.DirectoryFlag, openat = Number(table, TracedSyscall.OpenAt);
        uint Openat(long flags) => Decide(program, table.AuditArch, openat, -100, 0x1000, flags, 0);

        Assert.That(Openat(0), Is.EqualTo(SeccompFilter.ReturnTrace), "a plain read");
        Assert.That(Openat(1 | OCreat), Is.EqualTo(SeccompFilter.ReturnTrace), "a write");
        Assert.That(Openat(dir | 0x80000 | 0x800), Is.EqualTo(SeccompFilter.ReturnAllow), "opendir(3): O_DIRECTORY|O_CLOEXEC|O_NONBLOCK");
        Assert.That(Openat(dir | 0x200000), Is.EqualTo(SeccompFilter.ReturnAllow), "O_PATH|O_DIRECTORY");
        Assert.That(Openat(dir | OCreat), Is.EqualTo(SeccompFilter.ReturnTrace), "O_CREAT|O_DIRECTORY created a file on some kernels");
        Assert.That(Openat(0x400000 | dir | 2), Is.EqualTo(SeccompFilter.ReturnTrace), "O_TMPFILE|O_RDWR creates a file");
        Assert.That(Openat(unchecked((long)0xFFFFFFFF00000000) | 0), Is.EqualTo(SeccompFilter.ReturnTrace), "the kernel reads flags as an int: high bits change nothing");
        Assert.That(Openat(unchecked((long)0xFFFFFFFF00000000) | dir), Is.EqualTo(SeccompFilter.ReturnAllow));
        var otherDirectoryFlag = table == SyscallTable.X64 ? SyscallTable.Arm64.DirectoryFlag : SyscallTable.X64.DirectoryFlag;
        Assert.That(Openat(otherDirectoryFlag), Is.EqualTo(SeccompFilter.ReturnTrace), "the other architecture's O_DIRECTORY is another flag here");

        if (table == SyscallTable.X64)
        {
            long open = Number(table, TracedSyscall.Open);
            Assert.That(Decide(program, table.AuditArch, open, 0x1000, dir), Is.EqualTo(SeccompFilter.ReturnAllow), "open(2): flags are its second argument");
            Assert.That(Decide(program, table.AuditArch, open, 0x1000, 0, dir), Is.EqualTo(SeccompFilter.ReturnTrace), "open's third argument is its mode");
            Assert.That(Decide(program, table.AuditArch, Number(table, TracedSyscall.Creat), 0x1000, dir), Is.EqualTo(SeccompFilter.ReturnTrace), "creat has no flags");
            Assert.That(Decide(program, table.AuditArch, 0x40000000 + openat, -100, 0x1000, dir), Is.EqualTo(SeccompFilter.ReturnTrace), "an x32 call is never let through");
        }

        Assert.That(Decide(program, table.AuditArch, Number(table, TracedSyscall.OpenAt2), -100, 0x1000, dir), Is.EqualTo(SeccompFilter.ReturnTrace), "openat2's flags are in memory");
        Assert.That(Decide(program, table.AuditArch ^ 1, openat, -100, 0x1000, dir), Is.EqualTo(SeccompFilter.ReturnTrace), "another architecture's convention");
        foreach (var n in table.Numbers.Where(n => n != table.SendToNumber && table.Lookup(n) is not (TracedSyscall.OpenAt or TracedSyscall.Open)))
        {
            Assert.That(Decide(program, table.AuditArch, n, -100, 0x1000, dir, dir, dir, dir), Is.EqualTo(SeccompFilter.ReturnTrace), table.Lookup(n).ToString());
        }

        long sendto = table.SendToNumber;
        Assert.That(Decide(program, table.AuditArch, sendto, 3, 0x1000, 4, 0, 0, 0), Is.EqualTo(SeccompFilter.ReturnAllow), "a connected socket's send");
        Assert.That(Decide(program, table.AuditArch, sendto, 3, 0x1000, 4, 0, 0x7fff00000000, 16), Is.EqualTo(SeccompFilter.ReturnTrace), "a send with an address");
        Assert.That(Decide(program, table.AuditArch, 39 + 1000, 0), Is.EqualTo(SeccompFilter.ReturnAllow), "an untraced call");
    }

    [Test]
    public void The_flags_are_the_kernels()
    {
        const string header = "/usr/include/asm-generic/fcntl.h";
        if (!File.Exists(header))
        {
            Assert.Inconclusive($"{header} is not installed (apt-get install linux-libc-dev).");
        }

        string text = File.ReadAllText(header);
        long Define(string name) => Convert.ToInt64(Regex.Match(text, $@"#define {name}\s+(0[0-7]*)").Groups[1].Value, 8);
        Assert.That(SyscallTable.X64.DirectoryFlag, Is.EqualTo(Define("O_DIRECTORY")), "x86_64 uses the generic fcntl.h");
        Assert.That(SyscallTable.CreateFlag, Is.EqualTo(Define("O_CREAT")));
        Assert.That(SyscallTable.TmpFileFlag, Is.EqualTo(Define("__O_TMPFILE")));
        // arch/arm64/include/uapi/asm/fcntl.h: O_DIRECTORY 040000 (not installed on an x86_64 machine).
        Assert.That(SyscallTable.Arm64.DirectoryFlag, Is.EqualTo(Convert.ToInt64("040000", 8)));
    }

    [Test]
    public void A_traced_directory_listing_records_no_file_while_a_plain_open_of_a_directory_and_o_tmpfile_still_count()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "listed"));
        File.WriteAllText(Path.Combine(Dir, "listed", "a.txt"), "a");
        Directory.CreateDirectory(Path.Combine(Dir, "plain"));
        Directory.CreateDirectory(Path.Combine(Dir, "tmp"));
        File.WriteAllText(Path.Combine(Dir, "t.py"),
            "import os\n" +
            "print(os.listdir('listed'))\n" +
            "os.close(os.open('listed', os.O_RDONLY | os.O_DIRECTORY))\n" +
            "os.close(os.open('plain', os.O_RDONLY))\n" +
            "fd = os.open('tmp', os.O_TMPFILE | os.O_RDWR, 0o600); os.write(fd, b'x'); os.close(fd)\n" +
            "print(open('listed/a.txt').read())\n");
        var log = Tracer.Run(Dir, Tracer.System("python3"), "t.py");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        Assert.That(log.Files.Where(f => f.Path == Path.Combine(Dir, "listed")), Is.Empty, "listing a directory is not a file access");
        Assert.That(log.Files.Single(f => f.Path == Path.Combine(Dir, "listed", "a.txt")).Sha256, Is.EqualTo(Tracer.Sha256("a")), "the file listed and then read is");
        Assert.That(log.Files.Single(f => f.Path == Path.Combine(Dir, "plain")).Kind, Is.EqualTo(FileAccessKind.Read), "an open without O_DIRECTORY still stops");
        Assert.That(log.Files.Single(f => f.Path == Path.Combine(Dir, "tmp")).Kind, Is.EqualTo(FileAccessKind.Write).Or.EqualTo(FileAccessKind.Create), "O_TMPFILE still stops");
        Assert.That(log.DroppedEvents, Is.EqualTo(0));
    }
}
