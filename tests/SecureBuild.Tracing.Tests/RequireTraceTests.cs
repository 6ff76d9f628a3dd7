using SecureBuild.Core.Processes;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// -p:SecureBuildTrace=require (src/SecureBuild.Sdk/build/SecureBuild.Trace.targets): the build fails with SB4230
/// unless the MSBuild node's tracer (TracerPid in /proc/self/status) is `securebuild trace`; an environment
/// variable or another tracer (strace) does not pass.
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
              <Target Name="Build"><Message Importance="high" Text="built" /></Target>
            </Project>
            """);
        // A stand-in for the tracer: strace renamed securebuild, started as `securebuild -f -o/dev/null trace CMD`
        // ("trace" is a script that execs CMD), so its command line reads like `securebuild trace`.
        Directory.CreateDirectory(Path.Combine(_root, "bin"));
        File.Copy("/usr/bin/strace", Path.Combine(_root, "bin", "securebuild"));
        File.WriteAllText(Path.Combine(_root, "bin", "trace"), "#!/bin/sh\nexec \"$@\"\n");
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
