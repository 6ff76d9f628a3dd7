using SecureBuild.Core.Processes;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// -p:SecureBuildTrace=require (src/SecureBuild.Sdk/build/SecureBuild.Trace.targets): the build fails with SB4230
/// unless the MSBuild node's tracer (TracerPid in /proc/self/status) is `securebuild trace`; an environment
/// variable or another tracer (strace) does not pass. -p:SecureBuildHermetic=true: SB4231 unless the tracer is
/// `securebuild trace --hermetic`, SB4232 when the node's network namespace has more than loopback.
/// </summary>
public class RequireTraceTests
{
    private string _root = "";

    [OneTimeSetUp]
    public void WriteProject()
    {
        _root = Directory.CreateTempSubdirectory("sb-require-trace-").FullName;
        var targets = Path.Combine(RepositoryRoot(), "src", "SecureBuild.Sdk", "build", "SecureBuild.Trace.targets");
        File.WriteAllText(Path.Combine(_root, "p.proj"), $"""
            <Project>
              <Import Project="{targets}" />
              <Target Name="Restore" />
              <Target Name="Build"><Message Importance="high" Text="built" /></Target>
            </Project>
            """);
        // A stand-in for the tracer: strace renamed securebuild, started as `securebuild -f -o/dev/null trace [--hermetic --] CMD`
        // ("trace" is a script that execs CMD), so its command line reads like `securebuild trace`.
        Directory.CreateDirectory(Path.Combine(_root, "bin"));
        File.Copy("/usr/bin/strace", Path.Combine(_root, "bin", "securebuild"));
        File.WriteAllText(Path.Combine(_root, "bin", "trace"), "#!/bin/sh\n[ \"$1\" = --hermetic ] && shift\n[ \"$1\" = -- ] && shift\nexec \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(_root, "bin", "trace"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(_root, recursive: true);

    private ProcessOutcome Run(params string[] command) =>
        new ProcessRunner().Run(new ProcessSpec(command[0], command.Skip(1), _root)
        {
            Timeout = TimeSpan.FromMinutes(3),
            AddedEnvironment = new Dictionary<string, string>
            {
                ["PATH"] = Path.Combine(_root, "bin") + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["SECUREBUILD_TRACE"] = "1", // an environment variable proves nothing
            },
        });

    private static readonly string[] Build = { "dotnet", "msbuild", "p.proj", "-t:Build", "-p:SecureBuildTrace=require", "-nologo", "-v:m", "-nodeReuse:false" };

    [Test]
    public void An_untraced_build_fails_with_SB4230()
    {
        var outcome = Run(Build);
        Assert.That(outcome.ExitCode, Is.Not.EqualTo(0));
        Assert.That(outcome.Output, Does.Contain("error SB4230").And.Contain("tracer is 0"));
    }

    [Test]
    public void A_build_traced_by_another_tracer_fails_with_SB4230()
    {
        var outcome = Run(new[] { "strace", "-f", "-o/dev/null" }.Concat(Build).ToArray());
        Assert.That(outcome.ExitCode, Is.Not.EqualTo(0));
        Assert.That(outcome.Output, Does.Contain("error SB4230").And.Not.Contain("tracer is 0"));
    }

    [Test]
    public void A_build_under_securebuild_trace_passes_and_without_require_nothing_is_checked()
    {
        var traced = Run(new[] { Path.Combine(_root, "bin", "securebuild"), "-f", "-o/dev/null", "trace" }.Concat(Build).ToArray());
        Assert.That(traced.ExitCode, Is.EqualTo(0), traced.Output);
        Assert.That(traced.Output, Does.Contain("built"));
        var plain = Run("dotnet", "msbuild", "p.proj", "-t:Build", "-nologo", "-v:m");
        Assert.That(plain.ExitCode, Is.EqualTo(0), plain.Output);
    }

    [Test]
    public void A_build_under_the_real_securebuild_trace_passes()
    {
        string securebuild = Path.Combine(TestContext.CurrentContext.TestDirectory, "securebuild");
        var traced = Run(new[] { securebuild, "trace", "--out", Path.Combine(_root, "trace-out"), "--" }.Concat(Build).ToArray());
        Assert.That(traced.ExitCode, Is.EqualTo(0), traced.Output);
        Assert.That(traced.Output, Does.Contain("built").And.Contain("policy: pass"));
    }

    private static readonly string[] HermeticBuild = { "dotnet", "msbuild", "p.proj", "-t:Build", "-p:SecureBuildHermetic=true", "-nologo", "-v:m", "-nodeReuse:false" };

    [Test]
    public void An_untraced_build_with_SecureBuildHermetic_fails_with_SB4231()
    {
        var outcome = Run(HermeticBuild);
        Assert.That(outcome.ExitCode, Is.Not.EqualTo(0));
        Assert.That(outcome.Output, Does.Contain("error SB4231").And.Contain("tracer is 0"));
    }

    [Test]
    public void A_build_under_securebuild_trace_without_hermetic_fails_with_SB4231()
    {
        var outcome = Run(new[] { Path.Combine(_root, "bin", "securebuild"), "-f", "-o/dev/null", "trace" }.Concat(HermeticBuild).ToArray());
        Assert.That(outcome.ExitCode, Is.Not.EqualTo(0));
        Assert.That(outcome.Output, Does.Contain("error SB4231").And.Not.Contain("tracer is 0"));
    }

    [Test]
    public void A_build_that_can_reach_the_network_fails_with_SB4232_even_when_the_tracer_says_hermetic()
    {
        // The stand-in's command line says `securebuild trace --hermetic --`, but it runs the build in this machine's
        // network namespace: the check looks at the namespace, not at the command line alone.
        string other = File.ReadLines("/proc/net/dev").Skip(2).Select(l => l.Split(':')[0].Trim()).FirstOrDefault(n => n != "lo") ?? "";
        if (other.Length == 0)
        {
            Assert.Inconclusive("this machine has no network interface but loopback: nothing to reach");
        }

        var outcome = Run(new[] { Path.Combine(_root, "bin", "securebuild"), "-f", "-o/dev/null", "trace", "--hermetic", "--" }.Concat(HermeticBuild).ToArray());
        Assert.That(outcome.ExitCode, Is.Not.EqualTo(0));
        Assert.That(outcome.Output, Does.Contain("error SB4232").And.Contain($"the interface '{other}' besides loopback").And.Not.Contain("SB4231"));
    }

    [Test]
    public void A_build_under_the_real_hermetic_trace_passes_and_its_restore_is_not_checked()
    {
        // `securebuild trace --hermetic` restores first, with the network and -p:SecureBuildHermetic=true (a restore
        // evaluation is not checked), then builds in a namespace with only loopback.
        string securebuild = Path.Combine(TestContext.CurrentContext.TestDirectory, "securebuild");
        string key = Path.Combine(_root, "hermetic.key");
        File.WriteAllText(key, SecureBuild.Core.Crypto.SigningKey.Generate(SecureBuild.Core.Crypto.KeyType.Ed25519).ExportPrivate());
        var traced = Run(securebuild, "trace", "--hermetic", "--key", key, "--out", Path.Combine(_root, "hermetic-out"), "--", "dotnet", "build", "p.proj", "-p:SecureBuildHermetic=true", "-nologo", "-v:m");
        Assert.That(traced.ExitCode, Is.EqualTo(0), traced.Output);
        Assert.That(traced.Output, Does.Not.Contain("SB4231").And.Not.Contain("SB4232").And.Contain("--hermetic: restore first"));
        var envelope = SecureBuild.Core.Attestation.DsseEnvelope.Parse(File.ReadAllText(Path.Combine(_root, "hermetic-out", "build.trace.intoto.jsonl")).TrimEnd('\n'));
        Assert.That(System.Text.Encoding.UTF8.GetString(envelope.Payload), Does.Contain("\"hermetic\":true").And.Contain("\"verdict\":\"pass\""));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SecureBuild.Sdk.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("SecureBuild.Sdk.sln not found above the test directory");
    }
}
