using SecureBuild.TestSupport;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>
/// Takes SecureBuild.Sdk from the feed the test projects share (packed once for these sources, see
/// <see cref="SdkPackageFeed"/>), and copies samples next to a global.json/nuget.config that take the SDK from it.
/// </summary>
[SetUpFixture]
public sealed class Feed
{
    /// <summary>
    /// What a child process (and the in-process CLI) does not inherit from the test host: its MSBuild variables and
    /// SOURCE_DATE_EPOCH (a test sets it itself). DOTNET_HOST_PATH stays: the in-process CLI's rebuilds use it.
    /// </summary>
    private static readonly string[] Scrubbed = Run.HostVariables.Where(v => v != "DOTNET_HOST_PATH").Append("SOURCE_DATE_EPOCH").ToArray();

    private static SdkPackageFeed? _feed;

    /// <summary>The feed this run packed SecureBuild.Sdk into.</summary>
    public static SdkPackageFeed Package => _feed ?? throw new InvalidOperationException("Feed.PackOnce has not run.");

    public static string RepoRoot => RepositoryRoot.Path;
    public static string Version => Package.Version;
    public static string WorkRoot => Package.WorkRoot;
    public static string FeedDirectory => Package.FeedDirectory;

    [OneTimeSetUp]
    public void PackOnce() => _feed = SdkPackageFeed.Shared("securebuild-repro-it-").PackSdk();

    [OneTimeTearDown]
    public void CleanUp() => _feed?.Delete();

    /// <summary>A fresh directory with one small deterministic library (net10.0) using SecureBuild.Sdk, plus global.json and nuget.config.</summary>
    public static string SmallLibrary(string name)
    {
        var dir = CopySample("NonDeterministic/AbsolutePath", name);
        File.Delete(Path.Combine(dir, "AbsolutePath.csproj"));
        File.Delete(Path.Combine(dir, "Log.cs"));
        Directory.CreateDirectory(Path.Combine(dir, "Lib"));
        File.WriteAllText(Path.Combine(dir, "Lib", "Lib.csproj"), "<Project Sdk=\"SecureBuild.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n");
        File.WriteAllText(Path.Combine(dir, "Lib", "Greeter.cs"), "namespace Lib; public static class Greeter { public static string Greet(string name) => \"Hello, \" + name; }\n");
        return dir;
    }

    /// <summary>Copies samples/&lt;relative&gt; into a fresh directory with a global.json and nuget.config for the test feed.</summary>
    public static string CopySample(string relative, string? name = null)
    {
        var source = Path.Combine(RepoRoot, "samples", relative);
        var target = Path.Combine(WorkRoot, (name ?? relative.Replace('/', '-')) + "-" + Guid.NewGuid().ToString("N").Substring(0, 6));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(source, file);
            if (rel.Split(Path.DirectorySeparatorChar).Any(s => s is "bin" or "obj"))
            {
                continue;
            }

            var to = Path.Combine(target, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        Package.WriteConsumerConfiguration(target);
        return target;
    }

    public static ProcessResult DotNet(string directory, IDictionary<string, string?>? environment, params string[] arguments) =>
        Process("dotnet", arguments, directory, environment);

    /// <summary>A child process as <see cref="Run.Process"/> runs it, keeping CI variables (these tests rebuild as CI would) and waiting up to 8 minutes.</summary>
    public static ProcessResult Process(string fileName, IEnumerable<string> arguments, string directory, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null) =>
        Run.Process(fileName, arguments, directory, environment, timeout ?? TimeSpan.FromMinutes(8), Scrubbed);

    /// <summary>Runs `securebuild` in process, with the current directory and environment variables set for the call.</summary>
    public static (int Exit, string Out, string Err) Securebuild(string directory, IDictionary<string, string?>? environment, params string[] args)
    {
        lock (CliLock)
        {
            var previous = Directory.GetCurrentDirectory();
            var saved = new Dictionary<string, string?>();
            foreach (var name in Scrubbed.Concat(environment?.Keys ?? Enumerable.Empty<string>()).Distinct())
            {
                saved[name] = Environment.GetEnvironmentVariable(name);
                Environment.SetEnvironmentVariable(name, environment is not null && environment.TryGetValue(name, out var v) ? v : null);
            }

            Directory.SetCurrentDirectory(directory);
            try
            {
                var stdout = new StringWriter();
                var stderr = new StringWriter();
                var exit = SecureBuild.Cli.CliApplication.Run(args, stdout, stderr);
                return (exit, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Directory.SetCurrentDirectory(previous);
                foreach (var (name, value) in saved)
                {
                    Environment.SetEnvironmentVariable(name, value);
                }
            }
        }
    }

    private static readonly object CliLock = new();
}
