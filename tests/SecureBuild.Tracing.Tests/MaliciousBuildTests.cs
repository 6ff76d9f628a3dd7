using System.Net;
using System.Net.Sockets;
using SecureBuild.Cli.Tracing;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// Real `dotnet build`s of a project that uses the malicious packages of <see cref="MaliciousFeed"/> (and of a clean
/// one), recorded by the real tracer, attributed with the build's binary log and held
/// to the default policy by the same entry point the trace verb calls. One build of each, shared by every test.
/// </summary>
[NonParallelizable]
public class MaliciousBuildTests
{
    private string _root = "";
    private string _home = "";
    private TcpListener? _listener;
    private int _accepted;
    private TraceLog _evil = null!;
    private TraceLog _clean = null!;
    private string _evilBinlog = "";
    private string _cleanBinlog = "";
    private string _key = "";

    [OneTimeSetUp]
    public void BuildBoth()
    {
        _root = Directory.CreateTempSubdirectory("sb-trace-").FullName;
        _home = Path.Combine(_root, "home");
        Directory.CreateDirectory(Path.Combine(_home, ".ssh"));
        File.WriteAllText(Path.Combine(_home, ".ssh", "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n");
        Directory.CreateDirectory(Path.Combine(_root, "notes"));
        File.WriteAllText(Path.Combine(_root, "notes", "secret.txt"), "not an input of anything\n");
        MaliciousFeed.Write(Path.Combine(_root, "feed"), Path.Combine(_root, "notes", "secret.txt"));
        File.WriteAllText(Path.Combine(_root, "nuget.config"), """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="feed" /></packageSources></configuration>
            """);
        Directory.CreateDirectory(Path.Combine(_root, "Lib"));
        File.WriteAllText(Path.Combine(_root, "Lib", "Lib.cs"), "namespace Lib; public static class L { }\n");
        WriteProject("App", MaliciousFeed.Packages.Keys.Append(MaliciousFeed.Generator));
        WriteProject("Clean", Array.Empty<string>());
        var key = SigningKey.Generate(KeyType.Ed25519);
        _key = Path.Combine(_root, "build.key");
        File.WriteAllText(_key, key.ExportPrivate());

        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptLoop(_listener);
        int port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        (_evil, _evilBinlog) = TracedBuild("App", port);
        (_clean, _cleanBinlog) = TracedBuild("Clean", port);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _listener?.Stop();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task AcceptLoop(TcpListener listener)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _accepted);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void WriteProject(string name, IEnumerable<string> packages)
    {
        Directory.CreateDirectory(Path.Combine(_root, name));
        var references = string.Concat(packages.Select(p => $"<PackageReference Include=\"{p}\" Version=\"1.0.0\" />"));
        File.WriteAllText(Path.Combine(_root, name, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Deterministic>true</Deterministic></PropertyGroup>
              <ItemGroup>{references}</ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_root, name, "Program.cs"), "System.Console.WriteLine(\"hi\");\n");
    }

    private static string[] BuildCommand(string project, string binlog, int port) =>
        new[] { "dotnet", "build", $"{project}/{project}.csproj", $"-bl:{binlog}", "-p:UseSharedCompilation=false", "-nodeReuse:false", "-m:1", $"-p:EvilPort={port}" };

    private (TraceLog, string) TracedBuild(string project, int port)
    {
        string binlog = Path.Combine(_root, project + ".binlog");
        // The trace logger too, as the verb adds it when the command has no -bl: the same build attributed both ways.
        string attribution = AttributionLogOf(project);
        Directory.CreateDirectory(Path.GetDirectoryName(attribution)!);
        var environment = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        foreach (var (name, value) in Environment())
        {
            environment[name] = value;
        }
        // The command and environment the trace verb would run (it turns off the CLI's own side activities: in this
        // fresh HOME the CLI would otherwise look for workload updates on nuget.org from inside the in-proc node, at a
        // random moment of the build, whatever this machine's environment says).
        var command = SecureBuild.Cli.TraceCommand.MsBuildSwitches(
            BuildCommand(project, binlog, port).Append(TraceVerbOptions.LoggerArgument(TraceVerbOptions.LoggerAssembly, attribution, taskInputs: false)).ToList(), environment, out _);
        var result = Tracer.RunResult(_root, command, environment);
        Assert.That(result.CommandExecuted, Is.True);
        return (result.Log, binlog);
    }

    /// <summary>In the project's obj/ (where a build may write; the verb writes it under its --out).</summary>
    private string AttributionLogOf(string project) => Path.Combine(_root, project, "obj", "attribution.jsonl");

    private Dictionary<string, string> Environment() => new()
    {
        ["HOME"] = _home,
        ["DOTNET_CLI_HOME"] = _home,
        ["NUGET_PACKAGES"] = Path.Combine(_root, "packages"),
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["MSBUILDDISABLENODEREUSE"] = "1",
    };

    private TraceEnforcementResult Enforce(TraceLog log, string binlog, bool audit, string outDir, string? attributionLog = null) =>
        TraceEnforcement.Run(log, new TraceEnforcementOptions
        {
            BinaryLog = binlog,
            AttributionLog = attributionLog, // read instead of the binary log when given
            Audit = audit,
            OutputDirectory = outDir,
            SigningKey = _key,
            Environment = Environment(),
        }, TextWriter.Null, TextWriter.Null);

    [Test]
    public void The_malicious_build_really_reached_the_listener()
    {
        Assert.That(_evil.ExitCode, Is.EqualTo(0), "the build itself succeeds: only the policy fails it");
        Assert.That(Volatile.Read(ref _accepted), Is.GreaterThanOrEqualTo(2), "bash /dev/tcp and the inline task both connect");
    }

    [Test]
    public void Each_attack_is_detected_and_attributed_to_its_process_task_and_package()
    {
        var result = Enforce(_evil, _evilBinlog, audit: false, Path.Combine(_root, "out-enforced"));
        var findings = result.Report.Findings;
        TestContext.Out.WriteLine(string.Join("\n", findings.Select(f => f.Describe())));
        int port = ((IPEndPoint)_listener!.LocalEndpoint).Port;

        var curl = findings.Single(f => f.Kind == TraceFindingKind.Network && f.Activity.Task == "Exec");
        Assert.That(curl.Event, Is.EqualTo($"connect inet 127.0.0.1:{port}"));
        Assert.That(Path.GetFileName(curl.Program), Is.EqualTo("bash"));
        Assert.That(curl.Activity.Package, Is.EqualTo(new NuGetPackageIdentity("evil.curl", "1.0.0")));
        Assert.That(curl.Activity.Target, Is.EqualTo("EvilCurl"));

        var socket = findings.Single(f => f.Kind == TraceFindingKind.Network && f.Activity.Task == "EvilSocket");
        // .NET's TcpClient is a dual-mode IPv6 socket: 127.0.0.1 as an IPv4-mapped address.
        Assert.That(socket.Event, Is.EqualTo($"connect inet 127.0.0.1:{port}").Or.EqualTo($"connect inet6 [::ffff:127.0.0.1]:{port}"));
        Assert.That(Path.GetFileName(socket.Program), Is.EqualTo("dotnet"), "inside the MSBuild node");
        Assert.That(result.Attribution.Nodes.ContainsKey(socket.Pid), Is.True);
        Assert.That(socket.Activity.Package, Is.EqualTo(new NuGetPackageIdentity("evil.socket", "1.0.0")));

        var ssh = findings.Single(f => f.Kind == TraceFindingKind.SecretRead);
        Assert.That(ssh.Event, Is.EqualTo($"read {_home}/.ssh/id_ed25519"));
        Assert.That(ssh.Activity.Task, Is.EqualTo("ReadLinesFromFile"));
        Assert.That(ssh.Activity.Package, Is.EqualTo(new NuGetPackageIdentity("evil.ssh", "1.0.0")));

        // WriteLinesToFile writes a temporary file beside the target and renames it over Injected.cs.
        var sibling = findings.Where(f => f.Kind == TraceFindingKind.FileWrite && f.Event.Contains("/Lib/", StringComparison.Ordinal)).ToList();
        Assert.That(sibling.Select(f => f.Event), Has.Some.EndsWith($"-> {_root}/Lib/Injected.cs"));
        Assert.That(sibling.All(f => f.Activity.Task == "WriteLinesToFile" && f.Activity.Package == new NuGetPackageIdentity("evil.sibling", "1.0.0")), Is.True);
        Assert.That(findings.Where(f => f.Kind == TraceFindingKind.FileWrite).Except(sibling).Select(f => f.Describe()), Is.Empty, "no other write is flagged");

        var generator = findings.Single(f => f.Kind == TraceFindingKind.UndeclaredInput);
        Assert.That(generator.Code, Is.EqualTo("SB4205"));
        Assert.That(generator.Event, Is.EqualTo($"read {_root}/notes/secret.txt (not an input of Csc; analyzers from evil.generator 1.0.0)"));
        Assert.That(Path.GetFileName(generator.Program), Is.EqualTo("csc"), "inside the compiler");
        Assert.That(generator.Activity.Task, Is.EqualTo("Csc"));

        var processes = findings.Where(f => f.Kind == TraceFindingKind.Process).ToList();
        Assert.That(processes.Select(f => Path.GetFileName(f.Program)), Is.SupersetOf(new[] { "sh", "bash" }));
        Assert.That(processes.All(f => f.Activity.Package == new NuGetPackageIdentity("evil.curl", "1.0.0")), Is.True);

        Assert.That(result.ExitCode, Is.EqualTo(1), "the build itself succeeded; the policy fails it");
        Assert.That(result.Report.Verdict, Is.EqualTo("fail"));
    }

    [Test]
    public void The_trace_logger_attributes_every_event_as_the_binary_log_does()
    {
        // The same traced builds, attributed once from MSBuild's binary log and once from the trace logger's log (what
        // the verb adds when the command has no -bl): the same timeline, so the same findings, processes and tasks.
        foreach (var (log, binlog) in new[] { (_evil, _evilBinlog), (_clean, _cleanBinlog) })
        {
            string attribution = AttributionLogOf(Path.GetFileNameWithoutExtension(binlog));
            var fromBinlog = Enforce(log, binlog, audit: true, Path.Combine(_root, "out-same-binlog"));
            var fromLogger = Enforce(log, binlog, audit: true, Path.Combine(_root, "out-same-logger"), attribution);

            var expected = BinlogTimelineReader.Read(binlog);
            var actual = AttributionLogReader.Read(attribution).Timeline;
            Assert.That(actual.Tasks, Has.Count.EqualTo(expected.Tasks.Count).And.Count.GreaterThan(100));
            int compilers = 0;
            for (int i = 0; i < expected.Tasks.Count; i++)
            {
                var (e, a) = (expected.Tasks[i], actual.Tasks[i]);
                Assert.That((a.NodeId, a.Project, a.Target, a.Task, a.Start, a.End, a.TargetFile), Is.EqualTo((e.NodeId, e.Project, e.Target, e.Task, e.Start, e.End, e.TargetFile)), $"task {i}");
                Assert.That(a.CommandLines, Is.EqualTo(e.CommandLines), $"task {i} ({e.Task}) command lines");
                if (e.Task is "Csc")
                {
                    // Without MSBuild's task input logging (off for a build: it costs a third more CPU), the compiler's
                    // inputs come from its command line: every file the binary log names as an input is there.
                    Assert.That(a.DeclaredInputs, Is.SupersetOf(e.DeclaredInputs.Where(File.Exists)), $"task {i} ({e.Task}) inputs");
                    compilers++;
                }
            }
            Assert.That(compilers, Is.GreaterThan(0));
            Assert.That(actual.PackageFolders, Is.EquivalentTo(expected.PackageFolders).And.Contains(Path.Combine(_root, "packages")));
            Assert.That(fromLogger.Report.Findings.Select(f => f.Describe()), Is.EqualTo(fromBinlog.Report.Findings.Select(f => f.Describe())));
            Assert.That(log.Processes.Select(p => fromLogger.Attribution.OfProcess(p.Pid)), Is.EqualTo(log.Processes.Select(p => fromBinlog.Attribution.OfProcess(p.Pid))));
        }
        Assert.That(Enforce(_evil, _evilBinlog, audit: false, Path.Combine(_root, "out-logger"), AttributionLogOf("App")).Report.Findings.Select(f => f.Code).Distinct(),
            Is.SupersetOf(new[] { "SB4201", "SB4202", "SB4203", "SB4204", "SB4205" }));
    }

    [Test]
    public void Audit_reports_the_same_findings_without_failing_and_the_signed_attestation_holds_them()
    {
        string outDir = Path.Combine(_root, "out-audit");
        var result = Enforce(_evil, _evilBinlog, audit: true, outDir);
        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Report.Verdict, Is.EqualTo("audit"));
        Assert.That(result.Report.Findings.Select(f => f.Code).Distinct(), Is.SupersetOf(new[] { "SB4201", "SB4202", "SB4203", "SB4204", "SB4205" }));

        Assert.That(result.AttestationPath, Is.EqualTo(Path.Combine(outDir, "build.trace.intoto.jsonl")));
        var envelope = DsseEnvelope.Parse(File.ReadAllText(result.AttestationPath!).TrimEnd('\n'));
        var publicKey = SigningKey.Load(_key).Public;
        Assert.That(envelope.Verify(publicKey, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(statement.PredicateType, Is.EqualTo("https://in-toto.io/attestation/runtime-trace/v0.1"));
        string text = System.Text.Encoding.UTF8.GetString(envelope.Payload);
        Assert.That(text, Does.Contain("\"evil.socket\"").And.Contain("\"EvilSocket\"").And.Contain("\"SB4204\"").And.Contain("\"verdict\":\"audit\""));
        Assert.That(text, Does.Not.Contain(_root), "no machine path is signed");
        Assert.That(statement.Subjects.Select(s => s.Name), Has.Some.EqualTo("App/bin/Debug/net10.0/App.dll"));
    }

    [Test]
    public void The_trace_verb_fails_the_malicious_build_under_the_default_policy_and_passes_a_clean_one_writing_the_attestation()
    {
        int port = ((IPEndPoint)_listener!.LocalEndpoint).Port;
        string previous = Directory.GetCurrentDirectory();
        var saved = Environment().Keys.ToDictionary(k => k, System.Environment.GetEnvironmentVariable);
        Directory.SetCurrentDirectory(_root);
        try
        {
            foreach (var (name, value) in Environment())
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            string outDir = Path.Combine(_root, "verb-evil");
            int exit = SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--out", outDir, "--key", _key, "--" }.Concat(BuildCommand("App", Path.Combine(outDir, "App.binlog"), port)).ToArray(), stdout, stderr);
            Assert.That(exit, Is.EqualTo(1), stderr.ToString());
            Assert.That(stderr.ToString(), Does.Contain("error SB4204: read ").And.Contain("(package evil.ssh 1.0.0)"));
            Assert.That(stdout.ToString(), Does.Contain("policy: FAIL"));
            Assert.That(File.Exists(Path.Combine(outDir, "build.trace.intoto.jsonl")), Is.True);

            stdout = new StringWriter();
            stderr = new StringWriter();
            outDir = Path.Combine(_root, "verb-clean");
            exit = SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--out", outDir, "--key", _key, "--", "dotnet", "build", "Clean/Clean.csproj", "-m:1" }, stdout, stderr);
            Assert.That(exit, Is.EqualTo(0), stderr.ToString());
            Assert.That(stdout.ToString(), Does.Contain("policy: pass"));
            Assert.That(File.Exists(Path.Combine(outDir, "build.attribution.jsonl")), Is.True, "the verb added its logger");
            Assert.That(File.Exists(Path.Combine(outDir, "build.binlog")), Is.False, "and no binary log");
            Assert.That(stdout.ToString(), Does.Match(@"[1-9][0-9]* of [0-9]+ processes attributed to MSBuild \([0-9]+ nodes, [1-9][0-9]* tasks"));
            Assert.That(File.Exists(Path.Combine(outDir, "build.trace.intoto.jsonl")), Is.True);
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            foreach (var (name, value) in saved)
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    [Test]
    public void A_clean_build_has_no_finding()
    {
        var result = Enforce(_clean, _cleanBinlog, audit: false, Path.Combine(_root, "out-clean"));
        Assert.That(result.Report.Findings.Select(f => f.Describe()), Is.Empty);
        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Attribution.OfProcess(_clean.Processes.Single(p => Path.GetFileName(p.Executable) == "csc").Pid).Task, Is.EqualTo("Csc"));
    }
}
