using System.Net;
using System.Net.Sockets;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>The tracer on real process trees: faults, odd paths, network, threads, signals.</summary>
[TestFixture]
public class LinuxTracerTests : TracingFixture
{
    [Test]
    public void A_shell_pipeline_records_every_process_its_executable_hash_argv_and_exit_code()
    {
        File.WriteAllText(Path.Combine(Dir, "in.txt"), "one\ntwo\n");
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", "cat in.txt | wc -l > out.txt; exit 3");

        Assert.That(log.ExitCode, Is.EqualTo(3));
        Assert.That(log.Signal, Is.Null);
        var top = log.Processes.Single(p => p.ParentPid == 0);
        Assert.That(top.Arguments, Is.EqualTo(new[] { Tracer.System("sh"), "-c", "cat in.txt | wc -l > out.txt; exit 3" }));
        Assert.That(top.ExitCode, Is.EqualTo(3));
        Assert.That(top.WorkingDirectory, Is.EqualTo(Dir));
        var cat = log.Processes.Single(p => p.Executable.EndsWith("/cat", StringComparison.Ordinal));
        Assert.That(cat.ParentPid, Is.EqualTo(top.Pid));
        Assert.That(cat.Arguments, Is.EqualTo(new[] { "cat", "in.txt" }));
        Assert.That(cat.ExitCode, Is.EqualTo(0));
        Assert.That(cat.ExecutableSha256, Is.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(cat.Executable))).ToLowerInvariant()));
        Assert.That(log.Processes.Any(p => p.Executable.EndsWith("/wc", StringComparison.Ordinal)));

        var read = log.Files.Single(f => f.Path == Path.Combine(Dir, "in.txt"));
        Assert.That(read.Kind, Is.EqualTo(FileAccessKind.Read));
        Assert.That(read.Pid, Is.EqualTo(cat.Pid));
        Assert.That(read.Sha256, Is.EqualTo(Tracer.Sha256("one\ntwo\n")));
        var written = log.Files.Single(f => f.Path == Path.Combine(Dir, "out.txt"));
        Assert.That(written.Kind, Is.EqualTo(FileAccessKind.Create));
        Assert.That(written.Sha256, Is.EqualTo(Tracer.Sha256("2\n")), "written files are hashed after the last write");
        Assert.That(log.DroppedEvents, Is.EqualTo(0));
        Assert.That(log.Monitor, Does.StartWith("securebuild ptrace+seccomp-bpf"));
    }

    [Test]
    public void The_traced_command_killed_by_a_signal_gives_a_complete_trace_and_the_signal()
    {
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", "echo before > before.txt; kill -KILL $$; echo after > after.txt");

        Assert.That(log.Signal, Is.EqualTo("SIGKILL"));
        Assert.That(log.ExitCode, Is.Null);
        var top = log.Processes.Single(p => p.ParentPid == 0);
        Assert.That(top.Signal, Is.EqualTo("SIGKILL"));
        Assert.That(top.Exit, Is.Not.Null);
        Assert.That(log.Files.Single(f => f.Path.EndsWith("/before.txt", StringComparison.Ordinal)).Sha256, Is.EqualTo(Tracer.Sha256("before\n")));
        Assert.That(log.Files.Any(f => f.Path.EndsWith("/after.txt", StringComparison.Ordinal)), Is.False);
    }

    [Test]
    public void A_child_killed_by_a_signal_is_reported_and_its_parent_goes_on()
    {
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", "sh -c 'kill -TERM $$'; echo after > after.txt");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        Assert.That(log.Processes.Count(p => p.Signal == "SIGTERM"), Is.EqualTo(1));
        Assert.That(File.ReadAllText(Path.Combine(Dir, "after.txt")), Is.EqualTo("after\n"));
    }

    [Test]
    public void A_thousand_short_lived_children_are_all_recorded()
    {
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", $"i=0; while [ $i -lt 1000 ]; do {Tracer.System("true")}; i=$((i+1)); done");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        var children = log.Processes.Where(p => p.Executable == Tracer.System("true")).ToList();
        Assert.That(children, Has.Count.EqualTo(1000));
        Assert.That(children.All(c => c.ExitCode == 0 && c.Exit is not null && c.ExecutableSha256 is not null));
        Assert.That(log.Files.Count(f => f.Kind == FileAccessKind.Execute && f.Path == Tracer.System("true")), Is.EqualTo(1000));
        Assert.That(log.DroppedEvents, Is.EqualTo(0));
    }

    [Test]
    public void A_file_deleted_right_after_opening_is_hashed_as_the_reader_saw_it()
    {
        string script = "import os\nf = open('gone.txt', 'w'); f.write('secret content'); f.close()\n" +
                        "g = open('gone.txt'); os.unlink('gone.txt'); print(g.read())\n";
        File.WriteAllText(Path.Combine(Dir, "t.py"), script);
        var log = Tracer.Run(Dir, Tracer.System("python3"), "t.py");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        string path = Path.Combine(Dir, "gone.txt");
        var read = log.Files.Single(f => f.Path == path && f.Kind == FileAccessKind.Read);
        Assert.That(read.Sha256, Is.EqualTo(Tracer.Sha256("secret content")));
        Assert.That(log.Files.Any(f => f.Path == path && f.Kind == FileAccessKind.Delete));
        var created = log.Files.Single(f => f.Path == path && f.Kind == FileAccessKind.Create);
        Assert.That(created.Sha256, Is.Null, "written and deleted before the end: nothing left to hash");
        Assert.That(log.UnhashedFiles, Is.GreaterThanOrEqualTo(1), "an unhashable write is counted, never silent");
    }

    [Test]
    public void Exec_of_a_missing_binary_inside_the_tree_is_not_an_execution_and_the_trace_completes()
    {
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", "/no/such/binary; ./missing-here; echo $? > rc.txt");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        Assert.That(log.Files.Any(f => f.Kind == FileAccessKind.Execute && f.Path.Contains("/no/such", StringComparison.Ordinal)), Is.False);
        Assert.That(File.ReadAllText(Path.Combine(Dir, "rc.txt")), Is.EqualTo("127\n"));
    }

    [Test]
    public void A_missing_top_level_command_is_not_run_and_says_so()
    {
        var result = Tracer.RunResult(Dir, new[] { "/no/such/program", "x" });

        Assert.That(result.CommandExecuted, Is.False);
        Assert.That(result.Log.ExitCode, Is.EqualTo(127));
    }

    [Test]
    public void Paths_with_spaces_and_non_ascii_are_recorded_exactly()
    {
        string sub = Path.Combine(Dir, "dir with space");
        var log = Tracer.Run(Dir, Tracer.System("sh"), "-c", "mkdir 'dir with space' && echo hi > 'dir with space/fïlé ü €.txt' && cat 'dir with space/fïlé ü €.txt' && mv 'dir with space/fïlé ü €.txt' 'dir with space/renamed ö.txt'");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        string file = Path.Combine(sub, "fïlé ü €.txt");
        Assert.That(log.Files.Any(f => f.Kind == FileAccessKind.Create && f.Path == sub), "mkdir");
        Assert.That(log.Files.Single(f => f.Kind == FileAccessKind.Read && f.Path == file).Sha256, Is.EqualTo(Tracer.Sha256("hi\n")));
        Assert.That(log.Files.Single(f => f.Kind == FileAccessKind.Create && f.Path == file).Sha256, Is.EqualTo(Tracer.Sha256("hi\n")), "hashed through the rename");
        Assert.That(log.Files.Single(f => f.Kind == FileAccessKind.Rename).RenamedTo, Is.EqualTo(Path.Combine(sub, "renamed ö.txt")));
    }

    [Test]
    public void A_connect_to_a_loopback_listener_and_a_udp_sendto_are_recorded()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            int tcpPort = ((IPEndPoint)listener.LocalEndpoint).Port;
            int udpPort = ((IPEndPoint)udp.Client.LocalEndPoint!).Port;
            string script = "import socket\n" +
                            $"c = socket.socket(); c.connect(('127.0.0.1', {tcpPort})); c.close()\n" +
                            $"u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b'ping', ('127.0.0.1', {udpPort}))\n";
            File.WriteAllText(Path.Combine(Dir, "net.py"), script);
            var log = Tracer.Run(Dir, Tracer.System("python3"), "net.py");

            Assert.That(log.ExitCode, Is.EqualTo(0));
            var top = log.Processes.Single(p => p.ParentPid == 0);
            var connect = log.Network.Single(n => n.Operation == NetworkOperation.Connect && n.Family == "inet");
            Assert.That((connect.Address, connect.Port, connect.Succeeded, connect.Pid), Is.EqualTo(("127.0.0.1", tcpPort, true, top.Pid)));
            var send = log.Network.Single(n => n.Operation == NetworkOperation.SendTo);
            Assert.That((send.Family, send.Address, send.Port), Is.EqualTo(("inet", "127.0.0.1", udpPort)));
        }
        finally
        {
            listener.Stop();
        }
    }

    [Test]
    public void A_refused_connect_is_recorded_as_an_attempt_that_did_not_succeed()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var log = Tracer.Run(Dir, Tracer.System("bash"), "-c", $"exec 3<>/dev/tcp/127.0.0.1/{port} || true");

        var connect = log.Network.Single(n => n.Operation == NetworkOperation.Connect && n.Port == port);
        Assert.That(connect.Succeeded, Is.False);
    }

    [Test]
    public void A_multithreaded_process_that_executes_from_a_thread_keeps_its_pid_and_takes_the_new_program()
    {
        string script = "import os, threading\n" +
                        "def run():\n    open('thread.txt').read()\n" +
                        $"    os.execv('{Tracer.System("echo")}', ['echo', 'from a thread'])\n" +
                        "threads = [threading.Thread(target=lambda: __import__('time').sleep(5)) for _ in range(3)]\n" +
                        "[t.start() for t in threads]\n" +
                        "t = threading.Thread(target=run); t.start(); t.join()\n";
        File.WriteAllText(Path.Combine(Dir, "mt.py"), script);
        File.WriteAllText(Path.Combine(Dir, "thread.txt"), "read by a thread");
        var log = Tracer.Run(Dir, Tracer.System("python3"), "mt.py");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        var top = log.Processes.Single(p => p.ParentPid == 0);
        Assert.That(top.Executable, Is.EqualTo(Tracer.System("echo")));
        Assert.That(top.Arguments, Is.EqualTo(new[] { "echo", "from a thread" }));
        Assert.That(top.ExitCode, Is.EqualTo(0));
        Assert.That(log.Files.Count(f => f.Kind == FileAccessKind.Execute && f.Pid == top.Pid && f.Path == Tracer.System("echo")), Is.EqualTo(1));
        Assert.That(log.Processes.Count(p => p.Pid == top.Pid), Is.EqualTo(1), "threads are not processes");
        var read = log.Files.Single(f => f.Path == Path.Combine(Dir, "thread.txt"));
        Assert.That((read.Pid, read.Sha256), Is.EqualTo((top.Pid, Tracer.Sha256("read by a thread"))), "a thread's open belongs to its process");
    }

    [Test]
    public void Signals_are_delivered_and_stopped_children_resume_under_the_tracer()
    {
        var log = Tracer.Run(Dir, Tracer.System("bash"), "-c",
            "trap 'echo got > trapped.txt' USR1; kill -USR1 $$; sleep 0.3 & p=$!; kill -STOP $p; sleep 0.2; kill -CONT $p; wait $p; echo $? > waited.txt");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllText(Path.Combine(Dir, "trapped.txt")), Is.EqualTo("got\n"), "the signal reached the tracee");
        Assert.That(File.ReadAllText(Path.Combine(Dir, "waited.txt")), Is.EqualTo("0\n"), "the group-stopped child resumed on SIGCONT");
    }

    [Test]
    public void Proc_self_is_recorded_as_the_tracee_that_opened_it()
    {
        var log = Tracer.Run(Dir, Tracer.System("cat"), "/proc/self/status");

        var top = log.Processes.Single();
        Assert.That(log.Files.Any(f => f.Path == $"/proc/{top.Pid}/status" && f.Kind == FileAccessKind.Read));
        Assert.That(log.Files.Any(f => f.Path.StartsWith("/proc/self", StringComparison.Ordinal)), Is.False);
    }

    [Test]
    public void A_process_killed_while_blocked_in_a_traced_system_call_ends_the_trace_cleanly()
    {
        // The child blocks in openat() on a FIFO nobody writes (the tracer waits for that call's exit) and is killed there.
        var log = Tracer.Run(Dir, Tracer.System("bash"), "-c",
            "mkfifo fifo; bash -c 'exec 3<fifo' & p=$!; sleep 0.5; kill -KILL $p; wait $p; echo $? > rc.txt");

        Assert.That(log.ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllText(Path.Combine(Dir, "rc.txt")), Is.EqualTo("137\n"));
        Assert.That(log.Processes.Count(p => p.Signal == "SIGKILL"), Is.EqualTo(1));
        Assert.That(log.Files.Any(f => f.Path == Path.Combine(Dir, "fifo")), Is.False, "the open never returned, so it is not recorded");
    }

    [Test]
    public void Past_the_event_cap_events_are_counted_as_dropped_not_lost_silently()
    {
        var result = Tracer.RunResult(Dir, new[] { Tracer.System("sh"), "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i > f$i.txt; done" },
            limits: new Core.Tracing.Linux.TraceLimits { MaxFileEvents = 5 });

        Assert.That(result.Log.Files, Has.Count.EqualTo(5));
        Assert.That(result.Log.DroppedEvents, Is.GreaterThanOrEqualTo(7));
    }
}
