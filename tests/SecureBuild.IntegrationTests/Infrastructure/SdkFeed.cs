namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>
/// Packs SecureBuild.Sdk and the securebuild tool into the feed the test projects share (once for these sources, see
/// <see cref="SdkPackageFeed"/>), and installs the tool from that feed the way users do (`dotnet tool install --tool-path`):
/// on linux-x64 that is the Native AOT executable of SecureBuild.Tool.linux-x64, elsewhere the framework-dependent SecureBuild.Tool.any.
/// </summary>
public static class SdkFeed
{
    private static SdkPackageFeed? _feed;
    /// <summary>The feed this run packed SecureBuild.Sdk into.</summary>
    public static SdkPackageFeed Package => _feed ?? throw new InvalidOperationException("SdkFeed.PackOnce has not run (AssemblySetup runs it).");

    public static string RepoRoot => RepositoryRoot.Path;
    public static string Version => Package.Version;
    public static string FeedDirectory => Package.FeedDirectory;
    public static string WorkRoot => Package.WorkRoot;
    /// <summary>The Sigstore test data the repository keeps (copied into the repository, see its README).</summary>
    public static string SigstoreTestData => Path.Combine(RepoRoot, "tests", "SecureBuild.Attestation.Tests", "TestData", "sigstore");
    /// <summary>The --tool-path the tool is installed into; <see cref="Executable"/> is the command in it.</summary>
    public static string ToolDirectory { get; private set; } = "";
    public static string Executable => Path.Combine(ToolDirectory, OperatingSystem.IsWindows() ? "securebuild.exe" : "securebuild");

    /// <summary>The RID whose Native AOT tool package this platform gets, or null when it gets the framework-dependent one.</summary>
    public static string? NativeToolRid => System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier == "linux-x64" ? "linux-x64" : null;

    /// <summary>How long one pack of the set-up may take.</summary>
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(20);

    public static void PackOnce()
    {
        _feed = SdkPackageFeed.Shared("securebuild-it-").PackSdk();
        ToolDirectory = Path.Combine(WorkRoot, "tool");
        // The tool as build.sh packs it: the pointer package, the framework-dependent `any` and `linux-musl-x64`
        // packages and, where this machine can compile it, the Native AOT package. Each pack publishes into its own
        // fresh directory, because the tool pack takes every file of the publish directory. They are packed into the
        // shared feed once for these sources (see SdkPackageFeed); a Native AOT compile takes minutes, more on a busy
        // machine, so the set-up waits longer than one test's build.
        var rids = NativeToolRid is null ? new[] { null, "any", "linux-musl-x64" } : new[] { null, "any", "linux-musl-x64", NativeToolRid };
        var commands = new List<string[]>();
        var publishDirectories = new List<string>();
        foreach (var rid in rids)
        {
            var publish = Path.Combine(Package.PackagesRoot, "publish-" + (rid ?? "tool"));
            publishDirectories.Add(publish);
            var arguments = new List<string> { "pack", "src/SecureBuild.Cli/SecureBuild.Cli.csproj", "-c", "Release", "-o", FeedDirectory,
                $"-p:SecureBuildVersion={Version}", $"-p:PublishDir={publish}/", "-v", "q", "-nologo" };
            if (rid is not null)
            {
                arguments.AddRange(new[] { "-r", rid });
            }
            commands.Add(arguments.ToArray());
        }
        Package.Pack("tool", commands, PackTimeout, before: () => publishDirectories.ForEach(ScratchDirectory.TryDelete));
        var install = Run.DotNet(WorkRoot, null, "tool", "install", "SecureBuild.Tool", "--version", Version, "--tool-path", ToolDirectory,
            "--add-source", FeedDirectory);
        Assert.That(install.ExitCode, Is.EqualTo(0), "installing the securebuild tool from the feed failed:\n" + install.Output);
        InToto.EnsureInstalled();
    }

    public static void CleanUp() => _feed?.Delete();

    /// <summary>Runs the securebuild tool installed for this test run.</summary>
    public static ProcessResult Securebuild(string workingDirectory, params string[] arguments) =>
        Run.Process(Executable, arguments, workingDirectory);

    /// <inheritdoc cref="Securebuild(string, string[])"/>
    public static ProcessResult Securebuild(string workingDirectory, IDictionary<string, string?> environment, params string[] arguments) =>
        Run.Process(Executable, arguments, workingDirectory, environment);
}
