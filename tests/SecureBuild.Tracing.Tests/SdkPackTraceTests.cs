using SecureBuild.TestSupport;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The SDK's own behaviour under the default trace policy: a continuous-integration pack of a SecureBuild.Sdk project
/// in a git checkout without SOURCE_DATE_EPOCH (the package timestamp comes from git, the SDK writes its per-user
/// verification store) is traced by the trace verb and passes with no finding; a build on an empty packages folder,
/// where NuGet's SDK resolver downloads the SDK from an HTTP feed while MSBuild evaluates, passes too (sdk-resolve),
/// while a connection elsewhere during evaluation is still a finding. One SDK package for the class.
/// </summary>
[NonParallelizable]
public class SdkPackTraceTests
{
    private SdkPackageFeed _feed = null!;

    [OneTimeSetUp]
    public void PackSdk() => _feed = SdkPackageFeed.Shared("sb-trace-sdk-").PackSdk();

    [OneTimeTearDown]
    public void DeleteFeed() => _feed?.Delete();

    [Test]
    public void A_ci_pack_of_an_sdk_project_in_a_git_checkout_passes_the_default_policy()
    {
        var feed = _feed;
        string root = Path.Combine(feed.WorkRoot, "repo");
        string home = Home();
        feed.WriteConsumerConfiguration(root);
        WriteLibrary(root, "");
        File.WriteAllText(Path.Combine(root, ".gitignore"), "bin/\nobj/\n");
        var environment = Environment(home, Path.Combine(feed.WorkRoot, "packages"));
        environment["GIT_COMMITTER_DATE"] = "1700000000 +0000";
        try
        {
            foreach (var git in new[] { new[] { "init", "-q", "." }, new[] { "add", "-A" }, new[] { "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init" } })
            {
                var result = Run.Process("git", git, root, scrubbed: Array.Empty<string>(), environment: environment);
                Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
            }
            // Restored beforehand, as a checkout the trace is asked about usually is (an empty packages folder is the
            // next test's).
            var restore = Run.DotNet(root, environment, "restore", "Lib/Lib.csproj", "-nologo");
            Assert.That(restore.ExitCode, Is.EqualTo(0), restore.Output);
            var (exit, stdout, stderr) = Trace(root, environment, Path.Combine(feed.WorkRoot, "trace"),
                "dotnet", "pack", "Lib/Lib.csproj", "-c", "Release", "-m:1", "-nodeReuse:false",
                "-p:ContinuousIntegrationBuild=true", "-p:UseSharedCompilation=false", "-o", Path.Combine(feed.WorkRoot, "nupkg"));
            Assert.That(exit, Is.EqualTo(0), stdout + "\n" + stderr);
            Assert.That(stdout, Does.Contain("policy: pass"));
            Assert.That(stderr, Does.Not.Contain("error SB42"));
            Assert.That(Directory.GetFiles(Path.Combine(home, ".cache", "securebuild", "verified-folders")), Is.Not.Empty,
                "the SDK wrote its verification store (what the default policy must allow)");
            using var package = System.IO.Compression.ZipFile.OpenRead(Directory.GetFiles(Path.Combine(feed.WorkRoot, "nupkg"), "Lib.*.nupkg").Single());
            // Zip times are local and in 2-second steps: within a day of the commit time, not 1980 and not now.
            Assert.That(package.Entries.Select(e => e.LastWriteTime.ToUnixTimeSeconds()), Has.Some.InRange(1700000000L - 86400, 1700000000L + 86400),
                "the entries carry the commit time git gave the SDK");
        }
        finally
        {
            ScratchDirectory.TryDelete(home);
        }
    }

    [Test]
    public void On_an_empty_packages_folder_the_sdk_resolvers_download_from_the_package_source_is_sdk_resolve_and_passes_but_evaluation_reaching_elsewhere_is_flagged()
    {
        using var http = _feed.ServeOverHttp();
        string root = Path.Combine(_feed.WorkRoot, "resolve");
        string home = Home();
        _feed.WriteConsumerConfiguration(root, http.Url + "/v3/index.json");
        WriteLibrary(root, "");
        string packages = Path.Combine(_feed.WorkRoot, "packages-resolve");
        var environment = Environment(home, packages);
        try
        {
            string outDir = Path.Combine(_feed.WorkRoot, "trace-resolve");
            var (exit, stdout, stderr) = Trace(root, environment, outDir, "dotnet", "build", "Lib/Lib.csproj", "-m:1", "-nodeReuse:false", "-p:UseSharedCompilation=false");
            Assert.That(exit, Is.EqualTo(0), stdout + "\n" + stderr);
            Assert.That(http.Requests, Has.Some.EndsWith($"/securebuild.sdk.{_feed.Version.ToLowerInvariant()}.nupkg"), "the resolver downloaded the SDK from the HTTP feed");
            Assert.That(Directory.Exists(Path.Combine(packages, "securebuild.sdk", _feed.Version.ToLowerInvariant())), "into the empty packages folder");
            Assert.That(stdout, Does.Contain("policy: pass"), stderr);
            Assert.That(stderr, Does.Not.Contain("SB42"));

            // The connections to the feed were the entry node's, during an evaluation, before any task: sdk-resolve.
            var log = SecureBuild.Core.Tracing.TraceLogJson.Read(File.ReadAllBytes(Path.Combine(outDir, "trace.json")));
            var timeline = SecureBuild.Core.Tracing.AttributionLogReader.Read(Directory.GetFiles(outDir, "*.attribution.jsonl").Single()).Timeline;
            var attribution = SecureBuild.Core.Tracing.TraceAttributor.Attribute(log, timeline);
            var feedConnections = log.Network.Where(n => n.Operation == SecureBuild.Core.Tracing.NetworkOperation.Connect && n.Port == http.Port
                && System.Net.IPAddress.TryParse(n.Address, out var ip) && (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).Equals(System.Net.IPAddress.Loopback)).ToList();
            Assert.That(feedConnections, Is.Not.Empty);
            Assert.That(feedConnections.Select(n => attribution.PhaseOf(n.Pid, n.Time)), Has.All.EqualTo(SecureBuild.Core.Tracing.TracePhase.SdkResolve));
            Assert.That(feedConnections.Select(n => n.Pid), Has.All.EqualTo(attribution.Nodes.Single(n => n.Value == 1).Key), "NuGet's SDK resolver runs in the entry node");

            // Evaluation that reaches a host that is no package source (an address property function, allowed by
            // MSBUILDENABLEALLPROPERTYFUNCTIONS) is still a finding, in the same phase.
            WriteLibrary(root, "<PropertyGroup><Probe>$([System.Xml.Linq.XDocument]::Load('http://127.0.0.2:9/x.xml'))</Probe></PropertyGroup>");
            environment["MSBUILDENABLEALLPROPERTYFUNCTIONS"] = "1";
            var (_, _, flagged) = Trace(root, environment, Path.Combine(_feed.WorkRoot, "trace-resolve-2"), "dotnet", "build", "Lib/Lib.csproj", "-m:1", "-nodeReuse:false", "-p:UseSharedCompilation=false");
            Assert.That(flagged, Does.Match(@"error SB4201: connect inet6? \[?(::ffff:)?127\.0\.0\.2\]?:9 by \S*dotnet \(pid \d+\) in \(no MSBuild task\), during sdk-resolve\."));
        }
        finally
        {
            ScratchDirectory.TryDelete(home);
        }
    }

    /// <summary>Not under a temporary folder (the default policy lets a build write there): beside the tests, as a real home is.</summary>
    private static string Home()
    {
        string home = Path.Combine(AppContext.BaseDirectory, "sdk-trace-home-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        Directory.CreateDirectory(home);
        return home;
    }

    private static void WriteLibrary(string root, string extra)
    {
        Directory.CreateDirectory(Path.Combine(root, "Lib"));
        File.WriteAllText(Path.Combine(root, "Lib", "Lib.csproj"), $"<Project Sdk=\"SecureBuild.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>{extra}</Project>\n");
        File.WriteAllText(Path.Combine(root, "Lib", "Lib.cs"), "namespace Lib; public static class L { }\n");
    }

    private static Dictionary<string, string?> Environment(string home, string packages) => new()
    {
        ["HOME"] = home,
        ["DOTNET_CLI_HOME"] = home,
        ["XDG_CACHE_HOME"] = null, // the verification store goes to ~/.cache/securebuild, as on most machines
        ["NUGET_PACKAGES"] = packages,
        ["SOURCE_DATE_EPOCH"] = null,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["MSBUILDDISABLENODEREUSE"] = "1",
    };

    /// <summary>`securebuild trace --out OUT -- COMMAND` in this process, in <paramref name="root"/>, with <paramref name="environment"/> set for its duration.</summary>
    private static (int Exit, string Stdout, string Stderr) Trace(string root, Dictionary<string, string?> environment, string outDir, params string[] command)
    {
        var saved = environment.Keys.ToDictionary(k => k, System.Environment.GetEnvironmentVariable);
        string previous = Directory.GetCurrentDirectory();
        try
        {
            foreach (var (name, value) in environment)
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
            Directory.SetCurrentDirectory(root);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--out", outDir, "--" }.Concat(command).ToArray(), stdout, stderr);
            return (exit, stdout.ToString(), stderr.ToString());
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
}
