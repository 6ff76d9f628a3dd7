using System.Diagnostics;
using System.Runtime.InteropServices;
using SecureBuild.Cli;
using SecureBuild.Core.Tracing;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Tracing.Tests;

/// <summary>`securebuild trace`: exit codes, the trace file, the summary, MSBuild switches, and refusing to run unconfined.</summary>
[TestFixture]
public class TraceCommandTests : TracingFixture
{
    private string _previous = "";

    [SetUp]
    public void EnterDirectory()
    {
        _previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(Dir);
    }

    [TearDown]
    public void LeaveDirectory() => Directory.SetCurrentDirectory(_previous);

    private (int Exit, string Out, string Err) Trace(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = CliApplication.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void Exits_with_the_command_s_exit_code_and_writes_a_trace_file_that_reads_back()
    {
        var (exit, _, err) = Trace("trace", "--out", "out dir", "--", Tracer.System("sh"), "-c", "echo data > written.txt; exit 7");

        Assert.That(exit, Is.EqualTo(7));
        string file = Path.Combine(Dir, "out dir", "trace.json");
        Assert.That(err, Does.Contain("securebuild trace: 1 processes, 1 distinct executables, 0 network peers, 1 files written"));
        Assert.That(err, Does.Contain(file));
        // The tracer's own cost (the benchmark reads it): its peak memory and CPU time, never the command's.
        Assert.That(err, Does.Match(@"; tracer peak memory [0-9]+ MB, CPU [0-9]+\.[0-9]{2} s"));
        var log = TraceLogJson.Read(File.ReadAllBytes(file));
        Assert.That(log.ExitCode, Is.EqualTo(7));
        Assert.That(log.Command, Is.EqualTo(new[] { Tracer.System("sh"), "-c", "echo data > written.txt; exit 7" }));
        Assert.That(log.Files.Single(f => f.Path == Path.Combine(Dir, "written.txt")).Sha256, Is.EqualTo(Tracer.Sha256("data\n")));
    }

    [Test]
    public void The_verb_keeps_digests_in_the_users_cache_and_no_hash_cache_reads_everything()
    {
        string target = new[] { "/etc/os-release", "/etc/passwd", "/etc/hostname" }.First(File.Exists);
        string? previous = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", Path.Combine(Dir, "cache"));
        try
        {
            int FromCache(string err) => int.Parse(System.Text.RegularExpressions.Regex.Match(err, @"([0-9]+) digests from the hash cache").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var first = Trace("trace", "--out", "t1", "--", Tracer.System("cat"), target);
            var second = Trace("trace", "--out", "t2", "--", Tracer.System("cat"), target);
            var off = Trace("trace", "--no-hash-cache", "--out", "t3", "--", Tracer.System("cat"), target);

            Assert.That(File.Exists(Path.Combine(Dir, "cache", "securebuild-trace", "hashes")), Is.True, "$XDG_CACHE_HOME/securebuild-trace/hashes");
            Assert.That(FromCache(first.Err), Is.EqualTo(0));
            Assert.That(FromCache(second.Err), Is.GreaterThan(0), second.Err);
            Assert.That(FromCache(off.Err), Is.EqualTo(0), off.Err);
            Assert.That(off.Err, Does.Match(@"hashed [1-9][0-9]* files"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", previous);
        }
    }

    [Test]
    public void The_default_output_is_obj_securebuild_trace()
    {
        var (exit, _, _) = Trace("trace", "--", Tracer.System("true"));

        Assert.That(exit, Is.EqualTo(0));
        Assert.That(File.Exists(Path.Combine(Dir, "obj", "securebuild", "trace", "trace.json")));
    }

    [Test]
    public void A_command_killed_by_a_signal_exits_128_plus_the_signal_and_says_so()
    {
        var (exit, _, err) = Trace("trace", "--", Tracer.System("sh"), "-c", "kill -KILL $$");

        Assert.That(exit, Is.EqualTo(128 + 9));
        Assert.That(err, Does.Contain("killed by SIGKILL"));
        var log = TraceLogJson.Read(File.ReadAllBytes(Path.Combine(Dir, "obj", "securebuild", "trace", "trace.json")));
        Assert.That(log.Signal, Is.EqualTo("SIGKILL"));
    }

    [Test]
    public void A_missing_command_exits_127_with_SB4106()
    {
        var (exit, _, _) = Trace("trace", "--", "no-such-command-anywhere");

        Assert.That(exit, Is.EqualTo(127));
        // The launcher reports SB4106 on the real standard error (it is another process); see the out-of-process test below.
    }

    [Test]
    public void No_command_is_a_usage_error()
    {
        var (exit, _, err) = Trace("trace", "--out", "x");

        Assert.That(exit, Is.EqualTo(2));
        // COMMAND is optional on the command line (`securebuild trace --print-policy` needs none), so the verb says SB4108.
        Assert.That(err, Does.Contain("SB4108: no command given"));
    }

    [Test]
    public void An_msbuild_command_gets_node_reuse_and_the_compiler_server_turned_off_and_says_so()
    {
        var (exit, _, err) = Trace("trace", "--", "dotnet", "msbuild", "-version");

        Assert.That(exit, Is.EqualTo(0));
        Assert.That(err, Does.Contain("added -nodeReuse:false -p:UseSharedCompilation=false and DOTNET_CLI_USE_MSBUILD_SERVER=0")
            .And.Contain("turned off the dotnet CLI's telemetry, workload update check"));
        var log = TraceLogJson.Read(File.ReadAllBytes(Path.Combine(Dir, "obj", "securebuild", "trace", "trace.json")));
        // The trace logger (added because the command had no binary log of its own), shipped next to the tool.
        string logger = Path.Combine(AppContext.BaseDirectory, "SecureBuild.TraceLogger.dll");
        Assert.That(File.Exists(logger), Is.True, "the logger assembly is copied next to the tool");
        Assert.That(log.Processes.Single(p => p.ParentPid == 0).Arguments, Is.EqualTo(new[]
        {
            "dotnet", "msbuild", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-version",
            $"-logger:SecureBuild.TraceLogger.AttributionLogger,\"{logger}\";\"{Path.Combine(Dir, "obj", "securebuild", "trace", "build.attribution.jsonl")}\"",
        }));
    }

    [Test]
    public void MSBuild_switches_go_right_after_the_verb_and_only_for_msbuild_verbs()
    {
        var env = new Dictionary<string, string>();
        Assert.That(TraceCommand.MsBuildSwitches(new[] { "dotnet", "test", "x.csproj", "--", "NUnit.Where=cat" }, env, out bool test), Is.EqualTo(new[]
        {
            "dotnet", "test", "-nodeReuse:false", "-p:UseSharedCompilation=false", "x.csproj", "--", "NUnit.Where=cat",
        }));
        Assert.That(test);
        Assert.That(env["DOTNET_CLI_USE_MSBUILD_SERVER"], Is.EqualTo("0"));
        // The CLI's own network calls (telemetry, the workload update check a fresh HOME triggers) are not the build's.
        Assert.That((env["DOTNET_CLI_TELEMETRY_OPTOUT"], env["DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE"]), Is.EqualTo(("1", "true")));
        var other = new Dictionary<string, string>();
        Assert.That(TraceCommand.MsBuildSwitches(new[] { "dotnet", "run" }, other, out bool run), Is.EqualTo(new[] { "dotnet", "run" }));
        Assert.That(run, Is.False);
        Assert.That(other, Is.Empty);
        Assert.That(TraceCommand.MsBuildSwitches(new[] { "make", "build" }, other, out bool make), Is.EqualTo(new[] { "make", "build" }));
        Assert.That(make, Is.False);
    }

    [Test]
    public void When_ptrace_is_not_permitted_it_fails_with_SB4102_and_never_runs_the_command()
    {
        // Under strace -f the launcher is already traced, so our PTRACE_SEIZE is refused (EPERM), as in a container
        // without CAP_SYS_PTRACE.
        if (!File.Exists("/usr/bin/strace"))
        {
            Assert.Ignore("strace is not installed.");
        }

        string marker = Path.Combine(Dir, "ran.txt");
        var launcher = TraceCommand.Launcher();
        var start = new ProcessStartInfo("/usr/bin/strace") { WorkingDirectory = Dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-f", "-qq", "-o", "/dev/null" }.Concat(launcher.Take(launcher.Count - 1))
                     .Concat(new[] { "trace", "--", Tracer.System("touch"), marker }))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), "finished");

        Assert.That(process.ExitCode, Is.EqualTo(2));
        Assert.That(err.Result, Does.Contain("SB4102: tracing is not permitted here"));
        Assert.That(err.Result, Does.Contain("--cap-add=SYS_PTRACE"));
        Assert.That(File.Exists(marker), Is.False, "never unconfined");
    }

    [Test]
    public void The_launcher_refuses_to_run_a_command_when_it_is_not_traced()
    {
        string marker = Path.Combine(Dir, "ran.txt");
        var launcher = TraceCommand.Launcher();
        var start = new ProcessStartInfo(launcher[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        // Nothing will attach: waiting the default 30 s proves no more than waiting 1 s.
        start.Environment[TraceLauncher.AttachTimeoutVariable] = "1";
        foreach (var a in launcher.Skip(1).Concat(new[] { Tracer.System("touch"), marker }))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), "finished");

        Assert.That(process.ExitCode, Is.EqualTo(125));
        Assert.That(err.Result, Does.Contain("SB4102: the tracer did not attach to the command within 1 seconds; nothing was run."));
        Assert.That(File.Exists(marker), Is.False, "never unconfined");
    }

    [TestCase(null, 30)]
    [TestCase("", 30)]
    [TestCase("1", 1)]
    [TestCase("300", 300)]
    [TestCase("0", 30)]
    [TestCase("301", 30)]
    [TestCase("-5", 30)]
    [TestCase(" 7", 30)]
    [TestCase("1e3", 30)]
    [TestCase("99999999999999999999", 30)]
    public void The_launcher_s_attach_bound_is_1_to_300_seconds_else_30(string? value, int expected) =>
        Assert.That(TraceLauncher.AttachTimeoutSeconds(value), Is.EqualTo(expected));

    [TestCase(false, Architecture.X64, "SB4100: runtime tracing is available on Linux only")]
    [TestCase(false, Architecture.Arm64, "SB4100: runtime tracing is available on Linux only")]
    [TestCase(true, Architecture.Arm, "SB4101: the tracer decodes system calls on x86_64 and aarch64 only, not Arm")]
    [TestCase(true, Architecture.X86, "SB4101: the tracer decodes system calls on x86_64 and aarch64 only, not X86")]
    public void On_a_machine_the_tracer_does_not_support_it_exits_2_with_the_code_and_never_runs_the_command(bool linux, Architecture architecture, string message)
    {
        string marker = Path.Combine(Dir, "ran.txt");
        var stderr = new StringWriter();
        int exit = TraceCommand.Run(new[] { Tracer.System("touch"), marker }, "out", TextWriter.Null, stderr, platform: new TracePlatform(linux, architecture));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.StartWith("securebuild trace: " + message));
        Assert.That(File.Exists(marker), Is.False, "never unconfined");
        Assert.That(Directory.Exists(Path.Combine(Dir, "out")), Is.False, "no trace is written");
    }

    [Test]
    public void Where_seccomp_filters_are_refused_it_fails_with_SB4103_and_never_runs_the_command()
    {
        // The verb runs below a filter that refuses seccomp() and prctl(PR_SET_SECCOMP) with EPERM, as a container's
        // seccomp profile can: ptrace works, the launcher's filter cannot be installed.
        string refuse = CProgram.Compile("refuse-seccomp", Dir);
        string marker = Path.Combine(Dir, "ran.txt");
        var launcher = TraceCommand.Launcher();
        var start = new ProcessStartInfo(refuse) { WorkingDirectory = Dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in launcher.Take(launcher.Count - 1).Concat(new[] { "trace", "--", Tracer.System("touch"), marker }))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), "finished");

        Assert.That(err.Result, Does.Contain("SB4103: cannot install the seccomp filter (Operation not permitted)").And.Contain("seccomp=unconfined"));
        Assert.That(process.ExitCode, Is.EqualTo(2));
        Assert.That(File.Exists(marker), Is.False, "never unconfined");
    }
}
