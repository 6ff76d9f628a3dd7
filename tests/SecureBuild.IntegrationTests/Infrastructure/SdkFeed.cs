using System.Globalization;

namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>
/// Packs SecureBuild.Sdk and the securebuild tool once per test run, with a version no earlier run
/// used (NuGet never re-extracts a version it has seen), into a private feed.
/// </summary>
public static class SdkFeed
{
    public static string RepoRoot { get; private set; } = "";
    public static string Version { get; private set; } = "";
    public static string FeedDirectory { get; private set; } = "";
    public static string WorkRoot { get; private set; } = "";
    public static string SharedInterop => Path.Combine(RepoRoot, "..", "shared", "interop");
    public static string CliDirectory { get; private set; } = "";

    public static void PackOnce()
    {
        RepoRoot = FindRepoRoot();
        Version = "0.1.0-t" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        WorkRoot = Path.Combine(Path.GetTempPath(), "securebuild-it-" + Version);
        FeedDirectory = Path.Combine(WorkRoot, "feed");
        CliDirectory = Path.Combine(WorkRoot, "cli");
        Directory.CreateDirectory(FeedDirectory);
        var pack = Run.DotNet(RepoRoot, null, "pack", "src/SecureBuild.Sdk/SecureBuild.Sdk.csproj", "-c", "Release",
            "-o", FeedDirectory, $"-p:SecureBuildVersion={Version}", "-v", "q", "-nologo");
        Assert.That(pack.ExitCode, Is.EqualTo(0), "packing SecureBuild.Sdk failed:\n" + pack.Output);
        var cli = Run.DotNet(RepoRoot, null, "build", "src/SecureBuild.Cli/SecureBuild.Cli.csproj", "-c", "Release",
            "-o", CliDirectory, "-v", "q", "-nologo");
        Assert.That(cli.ExitCode, Is.EqualTo(0), "building the securebuild tool failed:\n" + cli.Output);
        InToto.EnsureInstalled();
    }

    public static void CleanUp()
    {
        TryDelete(WorkRoot);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        TryDelete(Path.Combine(packages, "securebuild.sdk", Version.ToLowerInvariant()));
    }

    /// <summary>Runs the securebuild tool built for this test run.</summary>
    public static ProcessResult Securebuild(string workingDirectory, params string[] arguments) =>
        Run.Process("dotnet", new[] { Path.Combine(CliDirectory, "securebuild.dll") }.Concat(arguments), workingDirectory);

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SecureBuild.Sdk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SecureBuild.Sdk.sln not found above " + AppContext.BaseDirectory);
    }
}
