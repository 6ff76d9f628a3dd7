using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The races a multithreaded build worker creates for a ptrace tracer: threads whose first system call is an open
/// (their first stop can come before the clone event that created them, and they can be gone before it), threads that
/// fork children which open a file and exit at once, and an exec from a non-leader thread. Every file the program
/// opens is known in advance, so the trace must hold each of them, from the right process, with nothing dropped; and
/// strace -f of the same program sees nothing we do not.
/// </summary>
[TestFixture]
public class ThreadRaceTests : TracingFixture
{
    private const int Threads = 400;

    [Test]
    public void Opens_from_fresh_threads_forked_children_and_a_threaded_exec_are_all_recorded_and_attributed()
    {
        string program = CProgram.Compile("threads-fork-exec", Dir, "-O1", "-pthread");
        var expected = new List<string>();
        for (int i = 0; i < Threads; i++)
        {
            // Every thread opens t-i-0 and t-i-1; every fourth forks a child that opens c-i-0.
            foreach (var name in i % 4 == 0 ? new[] { $"t-{i}-0", $"t-{i}-1", $"c-{i}-0" } : new[] { $"t-{i}-0", $"t-{i}-1" })
            {
                File.WriteAllText(Path.Combine(Dir, name), name);
                expected.Add(Path.Combine(Dir, name));
            }
        }

        File.WriteAllText(Path.Combine(Dir, "x-exec"), "exec'd from a thread\n");
        string[] command = { program, Threads.ToString(System.Globalization.CultureInfo.InvariantCulture) };

        for (int run = 0; run < 3; run++)
        {
            var log = Tracer.RunResult(Dir, command).Log;
            Assert.That(log.ExitCode, Is.EqualTo(0), "the program ran to its threaded exec of cat");
            // The program execs cat from a thread at its end: the thread group keeps its pid and runs cat.
            var found = log.Processes.SingleOrDefault(p => p.Executable == "/bin/cat" && p.Arguments.Contains("x-exec"));
            Assert.That(found, Is.Not.Null, $"run {run}: one cat process: " + string.Join("; ", log.Processes.Take(20).Select(p => $"{p.Pid}<{p.ParentPid} {p.Executable} [{string.Join(' ', p.Arguments)}]")));
            var top = found!;
            var reads = log.Files.Where(f => f.Kind == FileAccessKind.Read).ToList();
            var missing = expected.Where(e => !reads.Any(f => f.Path == e)).Take(20).ToList();
            Assert.That(missing, Is.Empty, $"run {run}: files the program opened that the trace lacks");
            var threadOpens = reads.Where(f => Path.GetFileName(f.Path).StartsWith("t-", StringComparison.Ordinal) && f.Path.StartsWith(Dir, StringComparison.Ordinal)).ToList();
            Assert.That(threadOpens.Where(f => f.Pid != top.Pid).Select(f => $"{f.Path} by {f.Pid}").Take(20), Is.Empty,
                $"run {run}: a thread's open is the program's (pid {top.Pid}), not a process of its own");
            var childOpens = reads.Where(f => Path.GetFileName(f.Path).StartsWith("c-", StringComparison.Ordinal) && f.Path.StartsWith(Dir, StringComparison.Ordinal)).ToList();
            var byPid = log.Processes.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.ToList());
            Assert.That(childOpens.Where(f => !byPid.TryGetValue(f.Pid, out var ps) || ps.All(p => p.ParentPid != top.Pid)).Select(f => $"{f.Path} by {f.Pid}").Take(20), Is.Empty,
                $"run {run}: a forked child's open is the child's, a process whose parent is the program");
            Assert.That(log.Files.Any(f => f.Kind == FileAccessKind.Execute && f.Path == program && f.Pid == top.Pid), $"run {run}: the program ran as pid {top.Pid}");
            var processes = log.Processes.Select(p => p.Pid).ToList();
            Assert.That(processes.Distinct().Count(), Is.EqualTo(processes.Count), $"run {run}: no process recorded twice: " +
                string.Join("; ", log.Processes.GroupBy(p => p.Pid).Where(g => g.Count() > 1).SelectMany(g => g).Take(10).Select(p => $"{p.Pid}<{p.ParentPid} {p.Executable} {p.Start:HH:mm:ss.ffff}-{p.Exit:HH:mm:ss.ffff} {p.ExitCode}")));
            Assert.That(processes, Has.Count.EqualTo(1 + Threads / 4), $"run {run}: the program and its forked children, no thread recorded as a process of its own");
            Assert.That(reads.Any(f => f.Path == Path.Combine(Dir, "x-exec") && f.Pid == top.Pid),
                $"run {run}: cat, exec'd from a thread, read its file");
            Assert.That(log.DroppedEvents, Is.EqualTo(0), $"run {run}: nothing dropped");
        }

        var oracle = StraceOracle.Run(Dir, command);
        var ours = Tracer.RunResult(Dir, command).Log.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        Assert.That(oracle.Opened.Where(p => p.StartsWith(Dir, StringComparison.Ordinal) && !ours.Contains(p)), Is.Empty, "files strace saw opened and we did not");
        Assert.That(oracle.Opened.Count(p => p.StartsWith(Dir, StringComparison.Ordinal)), Is.EqualTo(expected.Count + 1), "strace saw every open too");
    }
}
