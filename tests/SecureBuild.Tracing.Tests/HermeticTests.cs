using System.Net;
using System.Net.Sockets;
using SecureBuild.Core.Hermetic;
using SecureBuild.Core.Processes;

namespace SecureBuild.Tracing.Tests;

/// <summary>Hermetic steps: no network but loopback, a reduced environment, a fresh HOME, fail closed, bit-identical outputs.</summary>
public class HermeticTests
{
    private static readonly ProcessRunner Runner = new();

    private static Dictionary<string, string> CallerEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");

    [Test]
    public void Inside_the_sandbox_a_listener_on_the_hosts_loopback_is_unreachable_and_loopback_itself_is_up()
    {
        var sandbox = HermeticSandbox.Probe(Runner);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var outside = Runner.Run(new ProcessSpec("bash", new[] { "-c", $"echo hi > /dev/tcp/127.0.0.1/{port}" }, Path.GetTempPath()) { Timeout = TimeSpan.FromSeconds(30) });
        Assert.That(outside.ExitCode, Is.EqualTo(0), "the same connection works outside: " + outside.Output);

        var wrapped = sandbox.Wrap(new[] { "bash", "-c", $"echo hi > /dev/tcp/127.0.0.1/{port}" });
        var inside = Runner.Run(new ProcessSpec(wrapped[0], wrapped.Skip(1), Path.GetTempPath()) { Timeout = TimeSpan.FromSeconds(30) });
        Assert.That(inside.ExitCode, Is.Not.EqualTo(0), inside.Output);

        // /proc/net is the namespace's own (sysfs would still show the host's): only lo.
        var interfaces = sandbox.Wrap(new[] { "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" });
        var names = Runner.Run(new ProcessSpec(interfaces[0], interfaces.Skip(1), Path.GetTempPath()) { Timeout = TimeSpan.FromSeconds(30), CaptureStandardOutput = true });
        Assert.That(names.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "lo" }));
        if (sandbox.Loopback)
        {
            // Up: a closed port on 127.0.0.1 refuses; down, the network would be unreachable.
            var probe = sandbox.Wrap(new[] { "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/1" });
            var refused = Runner.Run(new ProcessSpec(probe[0], probe.Skip(1), Path.GetTempPath()) { Timeout = TimeSpan.FromSeconds(30) });
            Assert.That(refused.Output, Does.Contain("refused"));
        }
    }

    [Test]
    public void The_hermetic_step_gets_the_allowlist_the_passed_names_and_a_fresh_home_and_restore_keeps_the_callers()
    {
        var sandbox = HermeticSandbox.Probe(Runner);
        var caller = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin", ["HOME"] = "/home/dev", ["SECRET_TOKEN"] = "s3cr3t", ["FEED_USER"] = "me", ["LANG"] = "C.UTF-8",
        };
        string parent = Directory.CreateTempSubdirectory("sb-hermetic-").FullName;
        var plan = HermeticPlan.Create(new[] { "dotnet", "pack", "src/App.csproj", "-c", "Release", "-p:Version=1.2.3", "-o", "out", "-s", "feed" }, "/src/repo", caller, new[] { "FEED_USER" }, sandbox, parent);

        Assert.That(plan.Restore.Arguments, Is.EqualTo(new[] { "restore", "src/App.csproj", "-p:Version=1.2.3", "-s", "feed" }));
        Assert.That(plan.Restore.Environment, Is.Null, "restore runs with the caller's environment and network");
        Assert.That(plan.Command.Arguments.TakeLast(11), Is.EqualTo(new[] { "dotnet", "pack", "src/App.csproj", "-c", "Release", "-p:Version=1.2.3", "-o", "out", "-s", "feed", "--no-restore" }));
        Assert.That(plan.Command.FileName, Does.EndWith("unshare"));
        var env = plan.Command.Environment!;
        Assert.That(env.ContainsKey("SECRET_TOKEN"), Is.False);
        Assert.That(env["FEED_USER"], Is.EqualTo("me"));
        Assert.That(env["LANG"], Is.EqualTo("C.UTF-8"));
        Assert.That(env["HOME"], Does.StartWith(parent).And.Not.EqualTo("/home/dev"));
        Assert.That(Directory.Exists(env["HOME"]), Is.True);
        Assert.That(env["NUGET_PACKAGES"], Is.EqualTo("/home/dev/.nuget/packages"));
        Directory.Delete(parent, recursive: true);
    }

    [TestCase("make")]
    [TestCase("dotnet run")]
    public void Only_dotnet_build_verbs_run_hermetically(string command)
    {
        var e = Assert.Throws<HermeticUnavailableException>(() => HermeticPlan.Create(command.Split(' '), "/", CallerEnvironment(), Array.Empty<string>(), HermeticSandbox.Probe(Runner), Path.GetTempPath()))!;
        Assert.That(e.Code, Is.EqualTo("SB4221"));
    }

    [Test]
    public void A_bad_env_name_is_refused()
    {
        var e = Assert.Throws<HermeticUnavailableException>(() => HermeticPlan.Create(new[] { "dotnet", "build" }, "/", CallerEnvironment(), new[] { "A=B" }, HermeticSandbox.Probe(Runner), Path.GetTempPath()))!;
        Assert.That(e.Code, Is.EqualTo("SB4221"));
    }

    [Test]
    public void Where_namespaces_are_not_available_it_fails_closed_with_SB4220()
    {
        var e = Assert.Throws<HermeticUnavailableException>(() => HermeticSandbox.Probe(new RefusingRunner()))!;
        Assert.That(e.Code, Is.EqualTo("SB4220"));
        Assert.That(e.Message, Does.Contain("unshare: unshare failed: Operation not permitted").And.Contain("unprivileged user namespaces"));
    }

    [Test]
    public void A_hermetic_build_of_a_deterministic_sample_is_bit_identical_to_a_normal_one()
    {
        string root = Directory.CreateTempSubdirectory("sb-hermetic-build-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "Sample.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Deterministic>true</Deterministic></PropertyGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(root, "Program.cs"), "System.Console.WriteLine(\"hermetic\");\n");
            var env = CallerEnvironment();
            env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            env["DOTNET_NOLOGO"] = "1";
            var normal = Runner.Run(new ProcessSpec("dotnet", new[] { "build", "-c", "Release", "-p:UseSharedCompilation=false", "-nodeReuse:false" }, root) { AddedEnvironment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" } });
            Assert.That(normal.ExitCode, Is.EqualTo(0), normal.Output);
            var first = OutputsOf(root);
            Directory.Delete(Path.Combine(root, "bin"), recursive: true);
            Directory.Delete(Path.Combine(root, "obj"), recursive: true);

            var plan = HermeticPlan.Create(new[] { "dotnet", "build", "-c", "Release", "-p:UseSharedCompilation=false", "-nodeReuse:false" }, root, env, Array.Empty<string>(), HermeticSandbox.Probe(Runner), Path.GetTempPath());
            var (restore, command) = plan.Run(Runner);
            Assert.That(restore.ExitCode, Is.EqualTo(0), restore.Output);
            Assert.That(command!.ExitCode, Is.EqualTo(0), command.Output);
            Assert.That(Directory.Exists(plan.Home), Is.False, "the fresh HOME is removed");
            var second = OutputsOf(root);
            Assert.That(second.Keys, Is.EquivalentTo(first.Keys));
            foreach (var (name, digest) in first)
            {
                Assert.That(second[name], Is.EqualTo(digest), name);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void The_trace_verb_runs_restore_then_the_build_hermetically_and_attests_both()
    {
        string root = Directory.CreateTempSubdirectory("sb-hermetic-verb-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "Sample.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework></PropertyGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(root, "Program.cs"), "System.Console.WriteLine(\"hermetic\");\n");
            var key = SecureBuild.Core.Crypto.SigningKey.Generate(SecureBuild.Core.Crypto.KeyType.Ed25519);
            File.WriteAllText(Path.Combine(root, "k.key"), key.ExportPrivate());
            string securebuild = Path.Combine(TestContext.CurrentContext.TestDirectory, "securebuild");
            var outcome = Runner.Run(new ProcessSpec(securebuild, new[] { "trace", "--hermetic", "--key", "k.key", "--out", "out", "--", "dotnet", "build", "-m:1" }, root)
            {
                Timeout = TimeSpan.FromMinutes(5),
                AddedEnvironment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["SECRET_TOKEN"] = "must-not-pass" },
            });
            Assert.That(outcome.ExitCode, Is.EqualTo(0), outcome.Output);
            Assert.That(outcome.Output, Does.Contain("--hermetic: restore first"));
            foreach (var step in new[] { "restore", "build" })
            {
                var line = File.ReadAllText(Path.Combine(root, "out", step + ".trace.intoto.jsonl"));
                var envelope = SecureBuild.Core.Attestation.DsseEnvelope.Parse(line.TrimEnd('\n'));
                Assert.That(envelope.Verify(key.Public).Verified, Is.True);
                string payload = System.Text.Encoding.UTF8.GetString(envelope.Payload);
                Assert.That(payload, Does.Contain(step == "build" ? "\"hermetic\":true" : "\"hermetic\":false").And.Contain("\"verdict\":\"pass\""));
            }
            Assert.That(File.Exists(Path.Combine(root, "bin", "Debug", "net10.0", "Sample.dll")), Is.True);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Dictionary<string, string> OutputsOf(string root) =>
        Directory.GetFiles(Path.Combine(root, "bin"), "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), SecureBuild.Core.Crypto.Sha256Hex.OfFile);

    private sealed class RefusingRunner : IProcessRunner
    {
        public ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default) =>
            new(1, "unshare: unshare failed: Operation not permitted");
    }
}
