using SecureBuild.TestSupport;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The SDK's own behaviour under the default trace policy: a continuous-integration pack of a SecureBuild.Sdk project
/// in a git checkout without SOURCE_DATE_EPOCH (the package timestamp comes from git, the SDK writes its per-user
/// verification store) is traced by the trace verb and passes with no finding.
/// </summary>
[NonParallelizable]
public class SdkPackTraceTests
{
    [Test]
    public void A_ci_pack_of_an_sdk_project_in_a_git_checkout_passes_the_default_policy()
    {
        var feed = SdkPackageFeed.Shared("sb-trace-sdk-").PackSdk();
        string root = Path.Combine(feed.WorkRoot, "repo");
        // Not under a temporary folder (the default policy lets a build write there): beside the tests, as a real home is.
        string home = Path.Combine(AppContext.BaseDirectory, "sdk-pack-trace-home-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        Directory.CreateDirectory(home);
        feed.WriteConsumerConfiguration(root);
        Directory.CreateDirectory(Path.Combine(root, "Lib"));
        File.WriteAllText(Path.Combine(root, "Lib", "Lib.csproj"), "<Project Sdk=\"SecureBuild.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n");
        File.WriteAllText(Path.Combine(root, "Lib", "Lib.cs"), "namespace Lib; public static class L { }\n");
        File.WriteAllText(Path.Combine(root, ".gitignore"), "bin/\nobj/\n");
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["DOTNET_CLI_HOME"] = home,
            ["XDG_CACHE_HOME"] = null, // the verification store goes to ~/.cache/securebuild, as on most machines
            ["NUGET_PACKAGES"] = Path.Combine(feed.WorkRoot, "packages"),
            ["SOURCE_DATE_EPOCH"] = null,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["GIT_COMMITTER_DATE"] = "1700000000 +0000",
        };
        var saved = environment.Keys.ToDictionary(k => k, System.Environment.GetEnvironmentVariable);
        string previous = Directory.GetCurrentDirectory();
        try
        {
            foreach (var (name, value) in environment)
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
            foreach (var git in new[] { new[] { "init", "-q", "." }, new[] { "add", "-A" }, new[] { "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init" } })
            {
                var result = Run.Process("git", git, root, scrubbed: Array.Empty<string>());
                Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
            }
            // Restored beforehand, as a checkout the trace is asked about usually is: the first evaluation in an empty
            // packages folder has NuGet's SDK resolver fetch the SDK before any task runs (outside the restore phase).
            var restore = Run.DotNet(root, environment, "restore", "Lib/Lib.csproj", "-nologo");
            Assert.That(restore.ExitCode, Is.EqualTo(0), restore.Output);
            Directory.SetCurrentDirectory(root);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            string outDir = Path.Combine(feed.WorkRoot, "trace");
            int exit = SecureBuild.Cli.CliApplication.Run(new[]
            {
                "trace", "--out", outDir, "--", "dotnet", "pack", "Lib/Lib.csproj", "-c", "Release", "-m:1", "-nodeReuse:false",
                "-p:ContinuousIntegrationBuild=true", "-p:UseSharedCompilation=false", "-o", Path.Combine(feed.WorkRoot, "nupkg"),
            }, stdout, stderr);
            Assert.That(exit, Is.EqualTo(0), stdout + "\n" + stderr);
            Assert.That(stdout.ToString(), Does.Contain("policy: pass"));
            Assert.That(stderr.ToString(), Does.Not.Contain("error SB42"));
            Assert.That(Directory.GetFiles(Path.Combine(home, ".cache", "securebuild", "verified-folders")), Is.Not.Empty,
                "the SDK wrote its verification store (what the default policy must allow)");
            using var package = System.IO.Compression.ZipFile.OpenRead(Directory.GetFiles(Path.Combine(feed.WorkRoot, "nupkg"), "Lib.*.nupkg").Single());
            // Zip times are local and in 2-second steps: within a day of the commit time, not 1980 and not now.
            Assert.That(package.Entries.Select(e => e.LastWriteTime.ToUnixTimeSeconds()), Has.Some.InRange(1700000000L - 86400, 1700000000L + 86400),
                "the entries carry the commit time git gave the SDK");
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            foreach (var (name, value) in saved)
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
            feed.Delete();
            ScratchDirectory.TryDelete(home);
        }
    }
}
