using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>The result of one child process.</summary>
public sealed record Ran(int ExitCode, string Output)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}";
}

/// <summary>
/// Packs SecureBuild.Sdk once per test run, with a version no earlier run used, into a private feed, and copies
/// samples next to a global.json/nuget.config that take the SDK from it.
/// </summary>
[SetUpFixture]
public sealed class Feed
{
    private static readonly string[] Scrubbed =
    {
        "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly",
        "VSTEST_HOST_DEBUG", "SecureBuildSigningKey", "SecureBuildDevelopmentKeyFile", "SOURCE_DATE_EPOCH",
    };

    public static string RepoRoot { get; private set; } = "";
    public static string Version { get; private set; } = "";
    public static string WorkRoot { get; private set; } = "";
    public static string FeedDirectory { get; private set; } = "";

    [OneTimeSetUp]
    public void PackOnce()
    {
        RepoRoot = FindRepoRoot();
        Version = "0.1.0-r" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        WorkRoot = Path.Combine(Path.GetTempPath(), "securebuild-repro-it-" + Version);
        FeedDirectory = Path.Combine(WorkRoot, "feed");
        Directory.CreateDirectory(FeedDirectory);
        var pack = DotNet(RepoRoot, null, "pack", "src/SecureBuild.Sdk/SecureBuild.Sdk.csproj", "-c", "Release", "-o", FeedDirectory,
            $"-p:SecureBuildVersion={Version}", "-v", "q", "-nologo");
        Assert.That(pack.ExitCode, Is.EqualTo(0), "packing SecureBuild.Sdk failed:\n" + pack.Output);
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        Core.Reproducibility.Rebuilder.TryDelete(WorkRoot);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        Core.Reproducibility.Rebuilder.TryDelete(Path.Combine(packages, "securebuild.sdk", Version.ToLowerInvariant()));
    }

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

        File.WriteAllText(Path.Combine(target, "global.json"), $$"""
            {
              "sdk": { "version": "10.0.401", "rollForward": "latestPatch" },
              "msbuild-sdks": { "SecureBuild.Sdk": "{{Version}}" }
            }
            """);
        File.WriteAllText(Path.Combine(target, "nuget.config"), $$"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="test-feed" value="{{FeedDirectory}}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="test-feed"><package pattern="SecureBuild.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        return target;
    }

    public static Ran DotNet(string directory, IDictionary<string, string?>? environment, params string[] arguments) =>
        Process("dotnet", arguments, directory, environment);

    public static Ran Process(string fileName, IEnumerable<string> arguments, string directory, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var name in Scrubbed)
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var output = new StringBuilder();
        using var process = new System.Diagnostics.Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(8)).TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(" ", arguments)} did not finish in time.\n{output}");
        }

        process.WaitForExit();
        lock (output)
        {
            return new Ran(process.ExitCode, output.ToString());
        }
    }

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
