using System.Runtime.InteropServices;
using SecureBuild.Cli;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>
/// `securebuild diff` reads the compared trees through the bounded reader: a link out of a tree is refused (it once
/// copied /proc/self/environ into the report) and a FIFO in a tree ends the diff with an error instead of a hang.
/// </summary>
public sealed class BoundedInputDiffTests
{
    private static (int Exit, string Out, string Err) Diff(params string[] args)
    {
        var task = Task.Run(() =>
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = CliApplication.Run(new[] { "diff" }.Concat(args).ToArray(), stdout, stderr);
            return (exit, stdout.ToString(), stderr.ToString());
        });
        Assert.That(task.Wait(TimeSpan.FromSeconds(30)), Is.True, "diff did not end within 30 s");
        return task.Result;
    }

    [Test]
    public void A_link_to_proc_self_environ_in_a_diffed_tree_is_refused_and_no_environment_reaches_the_report()
    {
        Assume.That(File.Exists("/proc/self/environ"), "/proc");
        var environment = File.ReadAllText("/proc/self/environ").Split('\0').Where(v => v.Contains('=') && v.Length > 12).ToList();
        Assume.That(environment, Is.Not.Empty, "the test process has environment variables");
        using var dir = new TempDirectory();
        dir.Write("left/app.txt", "same\n");
        dir.Write("right/app.txt", "same\n");
        dir.Write("right/notes.txt", "nothing secret here\n");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "left", "notes.txt"), "/proc/self/environ");

        foreach (var format in new[] { "text", "json" })
        {
            var (exit, stdout, stderr) = Diff(Path.Combine(dir.Path, "left"), Path.Combine(dir.Path, "right"), "--format", format);
            Assert.That(exit, Is.EqualTo(2), stdout + stderr);
            Assert.That(stderr, Does.Contain("SB1702").And.Contain("notes.txt"));
            foreach (var variable in environment)
            {
                Assert.That(stdout + stderr, Does.Not.Contain(variable), "an environment variable reached the output");
            }
        }
    }

    [Test]
    public void A_fifo_in_a_diffed_tree_ends_the_diff_with_SB1700_at_once()
    {
        Assume.That(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "FIFOs: Linux");
        using var dir = new TempDirectory();
        dir.Write("left/app.txt", "one\n");
        dir.Write("right/app.txt", "one\n");
        Assert.That(MkFifo(Path.Combine(dir.Path, "right", "pipe"), Convert.ToInt32("600", 8)), Is.EqualTo(0));

        var (exit, stdout, stderr) = Diff(Path.Combine(dir.Path, "left"), Path.Combine(dir.Path, "right"));
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain("FIFO"));
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, int mode);
}
