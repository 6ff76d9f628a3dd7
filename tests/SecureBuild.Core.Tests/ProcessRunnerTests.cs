using System.Diagnostics;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The one process runner, with real processes (sh, sleep): the timeout bounds the whole tree, a background child
/// holding the pipes does not keep the caller waiting, output is capped. Every run is awaited with a bound far above
/// what it should take, so a regression fails instead of hanging the suite.
/// </summary>
[TestFixture]
[Platform(Exclude = "Win")]
public class ProcessRunnerTests
{
    /// <summary>The bound of every wait: a hang check, not a measurement.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sb-runner-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static ProcessOutcome RunBounded(ProcessSpec spec, CancellationToken cancellationToken = default)
    {
        var run = Task.Run(() => new ProcessRunner().Run(spec, cancellationToken));
        Assert.That(run.Wait(Bound), Is.True, $"'{spec.Display}' kept the runner waiting for more than {Bound.TotalSeconds} s");
        return run.Result;
    }

    private ProcessSpec Shell(string script) => new("sh", new[] { "-c", script }, _dir);

    /// <summary>The pid a script wrote to <paramref name="file"/>.</summary>
    private int PidFrom(string file) => int.Parse(File.ReadAllText(Path.Combine(_dir, file)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True once the process is gone (or a zombie nobody will wait for), polling up to the bound.</summary>
    private static bool Ends(int pid)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound)
        {
            string stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat))
            {
                return true;
            }

            try
            {
                string text = File.ReadAllText(stat);
                if (text.Substring(text.LastIndexOf(')') + 2, 1) == "Z")
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return true;
            }

            Thread.Sleep(50);
        }

        return false;
    }

    [Test]
    public void Timeout_kills_the_whole_tree_and_is_reported()
    {
        var outcome = RunBounded(Shell("sleep 1000 & echo $! > bg.pid; sleep 1000").With(s => s.Timeout = TimeSpan.FromSeconds(1)));

        Assert.That(outcome.TimedOut, Is.True);
        Assert.That(outcome.Exited, Is.False);
        Assert.That(outcome.ExitCode, Is.EqualTo(-1));
        Assert.That(outcome.TimeoutMessage("Fix it."), Does.StartWith("SB1800: 'sh -c 'sleep 1000 & echo $! > bg.pid; sleep 1000'' did not finish within 1 s").And.EndWith("Fix it."));
        Assert.That(Ends(PidFrom("bg.pid")), Is.True, "the background sleep outlived the timeout");
    }

    [Test]
    public void A_background_child_holding_stdout_does_not_keep_the_caller_waiting()
    {
        // The shell exits at once; its background sleep inherited stdout and stderr and would hold them for 1000 s.
        var outcome = RunBounded(Shell("echo started; sleep 1000 & echo $! > bg.pid").With(s => s.OutputGracePeriod = TimeSpan.FromSeconds(1)));

        Assert.That(outcome.Exited, Is.True);
        Assert.That(outcome.ExitCode, Is.EqualTo(0));
        Assert.That(outcome.OutputHeldOpen, Is.True);
        Assert.That(outcome.Output, Does.StartWith("started\n").And.Contain("SB2801"));
        Assert.That(Ends(PidFrom("bg.pid")), Is.True, "the background sleep holding the pipe was left running");
    }

    [Test]
    public void A_child_that_moved_to_its_own_process_group_is_killed_with_the_session()
    {
        // `set -m` gives the background job a process group of its own: killing the child's group alone misses it.
        var outcome = RunBounded(Shell("set -m; sleep 1000 >/dev/null 2>&1 & echo $! > bg.pid; sleep 1000").With(s => s.Timeout = TimeSpan.FromSeconds(1)));

        Assert.That(outcome.TimedOut, Is.True);
        Assert.That(Ends(PidFrom("bg.pid")), Is.True, "the sleep in its own process group outlived the timeout");
    }

    [Test]
    [Platform("Linux")]
    public void A_child_in_a_session_of_its_own_still_holding_the_pipe_is_found_through_proc_and_killed()
    {
        // setsid(1) moves the sleep out of the child's session; only the pipe it holds ties it to the child.
        var outcome = RunBounded(Shell("setsid sleep 1000 & echo $! > bg.pid").With(s => s.OutputGracePeriod = TimeSpan.FromSeconds(1)));

        Assert.That(outcome.Exited, Is.True);
        Assert.That(outcome.OutputHeldOpen, Is.True);
        Assert.That(Ends(PidFrom("bg.pid")), Is.True, "the sleep in its own session holding the pipe was left running");
    }

    [Test]
    public void A_background_child_that_closed_its_output_is_not_waited_for()
    {
        var outcome = RunBounded(Shell("sleep 1000 >/dev/null 2>&1 & echo $! > bg.pid; echo done"));
        try
        {
            Assert.That(outcome.Exited, Is.True);
            Assert.That(outcome.OutputHeldOpen, Is.False);
            Assert.That(outcome.Output, Is.EqualTo("done\n"));
        }
        finally
        {
            Process.GetProcessById(PidFrom("bg.pid")).Kill();
        }
    }

    [Test]
    public void Output_is_capped_while_the_pipe_is_drained_to_the_end()
    {
        // 200 MB in lines of 100 bytes; the child must not block on a full pipe and the caller keeps 1 Mi characters.
        // yes's stderr goes nowhere: where the test host ignores SIGPIPE, yes inherits that and reports the broken pipe
        // on stderr, which is read on another thread and may land after "the-end".
        const long total = 200_000_000;
        var outcome = RunBounded(Shell($"yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 2>/dev/null | head -c {total}; echo; echo the-end")
            .With(s => s.OutputLimit = 1024 * 1024));

        Assert.That(outcome.ExitCode, Is.EqualTo(0));
        Assert.That(outcome.Output.Length, Is.LessThan((1024 * 1024) + 200));
        Assert.That(outcome.DroppedCharacters, Is.GreaterThan(total - (1024 * 1024)).And.LessThanOrEqualTo(total));
        Assert.That(outcome.Output, Does.StartWith("0123456789").And.EndWith("the-end\n"));
        Assert.That(outcome.Output, Does.Match(@"\[SB2800: [0-9,]+ characters of output were dropped here; only the first and the last 524,288 are kept\]"));
    }

    [Test]
    public void A_single_endless_line_is_capped_too()
    {
        var outcome = RunBounded(Shell("head -c 50000000 /dev/zero | tr '\\0' x").With(s => s.OutputLimit = 64 * 1024));

        Assert.That(outcome.ExitCode, Is.EqualTo(0));
        Assert.That(outcome.Output.Length, Is.LessThan((64 * 1024) + 200));
        Assert.That(outcome.DroppedCharacters, Is.GreaterThan(49_000_000));
    }

    [Test]
    public void Stdout_is_kept_apart_when_asked_and_both_streams_are_interleaved_in_output()
    {
        var outcome = RunBounded(Shell("echo out1; echo err1 >&2; sleep 0.2; echo out2").With(s => s.CaptureStandardOutput = true));

        Assert.That(outcome.StandardOutput, Is.EqualTo("out1\nout2\n"));
        Assert.That(outcome.Output.Split('\n'), Is.EquivalentTo(new[] { "out1", "err1", "out2", "" }));
    }

    [Test]
    public void Arguments_reach_the_child_unchanged()
    {
        string[] arguments = { "a b", "", "\"quoted\"", "back\\slash\\", "it's", "$HOME", "*" };
        var spec = new ProcessSpec("sh", new[] { "-c", "for a in \"$@\"; do printf '[%s]' \"$a\"; done", "sh" }.Concat(arguments), _dir);

        Assert.That(RunBounded(spec).Output, Is.EqualTo("[a b][][\"quoted\"][back\\slash\\][it's][$HOME][*]\n"));
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_program_missing_from_path_is_a_start_error_even_when_the_working_directory_has_one()
    {
        string local = Path.Combine(_dir, "securebuild-only-here");
        File.WriteAllText(local, "#!/bin/sh\necho ran\n");
        File.SetUnixFileMode(local, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var outcome = RunBounded(new ProcessSpec("securebuild-only-here", Array.Empty<string>(), _dir));

        Assert.That(outcome.StartError, Does.Contain("not found on PATH"));
        Assert.That(outcome.StartErrorMessage("Install it."), Does.StartWith("SB1801: cannot run 'securebuild-only-here'"));
        Assert.That(RunBounded(new ProcessSpec("./securebuild-only-here", Array.Empty<string>(), _dir)).Output, Is.EqualTo("ran\n"));
    }

    [Test]
    public void Cancellation_kills_the_tree()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var outcome = RunBounded(Shell("sleep 1000 & echo $! > bg.pid; wait"), cancel.Token);

        Assert.That(outcome.Cancelled, Is.True);
        Assert.That(outcome.TimedOut, Is.False);
        Assert.That(Ends(PidFrom("bg.pid")), Is.True);
    }

    [Test]
    public void A_git_that_does_not_answer_is_an_SB1800_error_not_a_missing_repository()
    {
        // core.fsmonitor runs a hook on `git status`: one that never returns stands for a hung git.
        foreach (var arguments in new[] { new[] { "init", "-q" }, new[] { "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x" },
            new[] { "config", "core.fsmonitor", "sleep 1000 & echo $! > fsmonitor.pid; wait" } })
        {
            Assert.That(RunBounded(new ProcessSpec("git", arguments, _dir)).ExitCode, Is.EqualTo(0));
        }

        var describe = Task.Run(() => Provenance.GitSource.Describe(_dir, TimeSpan.FromSeconds(2)));
        var thrown = Assert.Throws<AggregateException>(() => describe.Wait(Bound))!.InnerException;

        Assert.That(thrown, Is.TypeOf<ProcessTimeoutException>());
        Assert.That(thrown!.Message, Does.StartWith("'git status --porcelain --untracked-files=no' did not finish within 2 s")
            .And.Contains("index.lock"));
        Assert.That(Ends(PidFrom("fsmonitor.pid")), Is.True, "git's hook outlived the timeout");
    }

    [Test]
    public void Umask_and_environment_are_applied()
    {
        var spec = Shell("umask; echo \"$SB_RUNNER_TEST\"");
        spec.Umask = "0027";
        spec.AddedEnvironment = new Dictionary<string, string> { ["SB_RUNNER_TEST"] = "set" };

        Assert.That(RunBounded(spec).Output, Is.EqualTo("0027\nset\n"));
    }

    [Test]
    public void Standard_input_reaches_the_child_and_is_closed()
    {
        var spec = Shell("cat; echo end");
        spec.StandardInput = System.Text.Encoding.UTF8.GetBytes("registry.example:5000\nsecond line");
        spec.CaptureStandardOutput = true;
        var outcome = RunBounded(spec);
        Assert.That(outcome.ExitCode, Is.EqualTo(0), outcome.Output);
        Assert.That(outcome.StandardOutput, Is.EqualTo("registry.example:5000\nsecond lineend\n"));
    }

    [Test]
    public void Without_standard_input_the_child_reads_end_of_file()
    {
        var spec = Shell("cat; echo done");
        spec.CaptureStandardOutput = true;
        Assert.That(RunBounded(spec).StandardOutput, Is.EqualTo("done\n"));
    }

    [Test]
    public void A_child_that_never_reads_a_large_input_does_not_block_the_runner_and_the_timeout_holds()
    {
        var spec = Shell("sleep 30");
        spec.StandardInput = new byte[4 * 1024 * 1024];
        spec.Timeout = TimeSpan.FromSeconds(1);
        var outcome = RunBounded(spec);
        Assert.That(outcome.TimedOut, Is.True);
    }
}

internal static class ProcessSpecExtensions
{
    public static ProcessSpec With(this ProcessSpec spec, Action<ProcessSpec> change)
    {
        change(spec);
        return spec;
    }
}
