using System.Text;

namespace SecureBuild.TestSupport;

/// <summary>
/// The NuGet feed of SecureBuild.Sdk (and, for the tests that install it, the securebuild tool) packed from this
/// checkout, shared by every test project of a suite run, and the global.json/nuget.config that make a generated
/// project take the SDK from it and everything else from nuget.org.
/// <para>
/// The feed is <c>artifacts/test-packages/&lt;key&gt;/feed</c>, where the key is <see cref="PackageInputs"/>' hash of
/// everything the packages are built from, and the version is <c>0.1.0-k&lt;first 16 hex digits of the key&gt;</c>. So
/// the first test project that needs a package packs it, the others (and later runs on unchanged sources) reuse it, and
/// a change to any input gives a new key, a new folder and a new version: a stale package is never reused, and NuGet,
/// which never extracts a version it has seen twice, extracts the new one. Packing holds a lock file, so two test runs of
/// one checkout never pack into one folder at once; each pack step writes a marker with the commands it ran only when
/// it succeeded, so a half-done pack is redone, and so is one whose commands changed.
/// </para>
/// Each test assembly has its own scratch <see cref="WorkRoot"/>, deleted by <see cref="Delete"/>; the feed stays.
/// </summary>
public sealed class SdkPackageFeed
{
    /// <summary>How long a set-up waits for another test run of this checkout to finish packing.</summary>
    private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(40);

    /// <summary>Key folders not used for this long are deleted when another one is made (with what NuGet extracted of them).</summary>
    private static readonly TimeSpan KeepUnused = TimeSpan.FromDays(1);

    private static readonly string[] PackageIds = { "SecureBuild.Sdk", "SecureBuild.Tool", "SecureBuild.Tool.any", "SecureBuild.Tool.linux-musl-x64", "SecureBuild.Tool.linux-x64" };

    private static readonly Lazy<(string Key, string Manifest)> CheckoutKey = new(() =>
    {
        var sdk = Run.DotNet(RepositoryRoot.Path, null, "--version");
        if (sdk.ExitCode != 0)
        {
            throw new InvalidOperationException("`dotnet --version` failed in " + RepositoryRoot.Path + ":\n" + sdk.Output);
        }
        var manifest = PackageInputs.Manifest(RepositoryRoot.Path, sdk.Output.Trim());
        return (PackageInputs.Key(manifest), manifest);
    });

    private SdkPackageFeed(string version, string workRoot, string packagesRoot)
    {
        Version = version;
        WorkRoot = workRoot;
        PackagesRoot = packagesRoot;
        FeedDirectory = System.IO.Path.Combine(packagesRoot, "feed");
    }

    /// <summary>The version of the packed SecureBuild.Sdk (and tool): <c>0.1.0-k&lt;key prefix&gt;</c>.</summary>
    public string Version { get; }

    /// <summary>This test assembly's scratch root; deleted by <see cref="Delete"/>.</summary>
    public string WorkRoot { get; }

    /// <summary>The shared key folder: the feed, the tool's publish folders, the pack markers.</summary>
    public string PackagesRoot { get; }

    public string FeedDirectory { get; }

    /// <summary>The version a key gives: NuGet-valid, and a new one for each new key.</summary>
    public static string VersionOf(string key) => "0.1.0-k" + key.Substring(0, 16);

    /// <summary>
    /// The shared feed for the sources as they are now, with a new, empty scratch root under the temp directory named
    /// <paramref name="prefix"/> plus a random part. Nothing is packed yet: see <see cref="PackSdk"/>.
    /// </summary>
    public static SdkPackageFeed Shared(string prefix)
    {
        var (key, manifest) = CheckoutKey.Value;
        var packagesRoot = RepositoryRoot.Combine("artifacts/test-packages/" + key);
        Directory.CreateDirectory(System.IO.Path.Combine(packagesRoot, "feed"));
        File.WriteAllText(System.IO.Path.Combine(packagesRoot, "inputs.txt"), manifest, new UTF8Encoding(false));
        File.WriteAllText(System.IO.Path.Combine(packagesRoot, "used"), DateTime.UtcNow.ToString("O"));
        PruneUnused(System.IO.Path.GetDirectoryName(packagesRoot)!, key);
        var workRoot = ScratchDirectory.Create(prefix.TrimEnd('-'));
        var feed = new SdkPackageFeed(VersionOf(key), workRoot, packagesRoot);
        File.WriteAllText(System.IO.Path.Combine(workRoot, "feed.txt"), packagesRoot + "\n", new UTF8Encoding(false));
        return feed;
    }

    /// <summary>
    /// The feed and scratch root an earlier run kept (see <see cref="Shared"/>): for looking at a fixture again
    /// without building it anew.
    /// </summary>
    public static SdkPackageFeed Open(string workRoot)
    {
        var packagesRoot = File.ReadAllText(System.IO.Path.Combine(workRoot, "feed.txt")).Trim();
        return new SdkPackageFeed(VersionOf(System.IO.Path.GetFileName(packagesRoot)), workRoot, packagesRoot);
    }

    /// <summary>Makes sure src/SecureBuild.Sdk is packed into the feed; fails the calling set-up when that does not work.</summary>
    public SdkPackageFeed PackSdk() => Pack("sdk", new[]
    {
        new[] { "pack", "src/SecureBuild.Sdk/SecureBuild.Sdk.csproj", "-c", "Release", "-o", FeedDirectory, $"-p:SecureBuildVersion={Version}", "-v", "q", "-nologo" },
    }, TimeSpan.FromMinutes(10));

    /// <summary>
    /// Runs the <c>dotnet</c> <paramref name="commands"/> (in the repository root, in order, each bounded by
    /// <paramref name="timeout"/>) unless step <paramref name="step"/> already ran them to success for this key; under
    /// the key folder's lock, after <paramref name="before"/> (clearing what the commands must find empty). The tool's
    /// packs use it with their own commands. A failure fails the calling set-up.
    /// </summary>
    public SdkPackageFeed Pack(string step, IReadOnlyList<string[]> commands, TimeSpan timeout, Action? before = null)
    {
        var recipe = string.Concat(commands.Select(c => "dotnet " + string.Join(' ', c) + "\n"));
        var marker = System.IO.Path.Combine(PackagesRoot, step + ".done");
        using (Lock())
        {
            if (File.Exists(marker) && File.ReadAllText(marker) == recipe)
            {
                return this;
            }
            File.Delete(marker);
            before?.Invoke();
            foreach (var command in commands)
            {
                var result = Run.Process("dotnet", command, RepositoryRoot.Path, timeout: timeout);
                Assert.That(result.ExitCode, Is.EqualTo(0), $"{step}: `dotnet {string.Join(' ', command)}` failed:\n" + result.Output);
            }
            File.WriteAllText(marker, recipe, new UTF8Encoding(false));
        }
        return this;
    }

    /// <summary>
    /// Writes global.json (the repository's .NET SDK, SecureBuild.Sdk at this feed's version) and nuget.config
    /// (SecureBuild.* from this feed only, the rest from nuget.org) into <paramref name="directory"/>.
    /// </summary>
    public void WriteConsumerConfiguration(string directory) => WriteConsumerConfiguration(directory, null);

    /// <summary>The same, with the feed at <paramref name="source"/>.</summary>
    /// <param name="source">The feed's URL when it is served over HTTP (<see cref="ServeOverHttp"/>), else null for its folder.</param>
    public void WriteConsumerConfiguration(string directory, string? source)
    {
        string feed = source is null ? $"value=\"{FeedDirectory}\"" : $"value=\"{source}\" allowInsecureConnections=\"true\"";
        Directory.CreateDirectory(directory);
        Write(System.IO.Path.Combine(directory, "global.json"), $$"""
            {
              "sdk": { "version": "{{RepositoryRoot.PinnedSdkVersion()}}", "rollForward": "latestPatch" },
              "msbuild-sdks": { "SecureBuild.Sdk": "{{Version}}" }
            }
            """);
        Write(System.IO.Path.Combine(directory, "nuget.config"), $$"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="test-feed" {{feed}} />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="test-feed"><package pattern="SecureBuild.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
    }

    /// <summary>
    /// Serves the feed as a NuGet v3 source over HTTP on 127.0.0.1 (a static flat container laid out in the work root:
    /// the service index names only a PackageBaseAddress, which restore and NuGet's SDK resolver need); the source URL
    /// is the server's <c>Url</c> + <c>/v3/index.json</c>. The caller disposes the server.
    /// </summary>
    public SecureBuild.Tuf.Tests.StaticHttpServer ServeOverHttp()
    {
        string root = System.IO.Path.Combine(WorkRoot, "http");
        string flat = System.IO.Path.Combine(root, "v3", "flat");
        Directory.CreateDirectory(flat);
        var server = new SecureBuild.Tuf.Tests.StaticHttpServer(root);
        Write(System.IO.Path.Combine(root, "v3", "index.json"),
            "{\"version\":\"3.0.0\",\"resources\":[{\"@id\":\"" + server.Url + "/v3/flat/\",\"@type\":\"PackageBaseAddress/3.0.0\"}]}");
        foreach (var package in Directory.GetFiles(FeedDirectory, "*.nupkg"))
        {
            // <id>.<version>.nupkg as `dotnet pack` names it: the version starts at the first ".<digit>".
            string name = System.IO.Path.GetFileNameWithoutExtension(package).ToLowerInvariant();
            int dot = Enumerable.Range(0, name.Length - 1).First(i => name[i] == '.' && char.IsDigit(name[i + 1]));
            string id = name.Substring(0, dot), version = name.Substring(dot + 1);
            Directory.CreateDirectory(System.IO.Path.Combine(flat, id, version));
            File.Copy(package, System.IO.Path.Combine(flat, id, version, $"{id}.{version}.nupkg"));
            Write(System.IO.Path.Combine(flat, id, "index.json"), "{\"versions\":[\"" + version + "\"]}");
        }
        return server;
    }

    /// <summary>Deletes this test assembly's scratch root (best effort). The shared feed, and what NuGet extracted of it, stay for the next test project.</summary>
    public void Delete() => ScratchDirectory.TryDelete(WorkRoot);

    /// <summary>An exclusive lock on the key folder's lock file, waiting (bounded) while another run packs.</summary>
    private FileStream Lock()
    {
        var path = System.IO.Path.Combine(PackagesRoot, "pack.lock");
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Deletes the other key folders of <paramref name="parent"/> not used for <see cref="KeepUnused"/>, and NuGet's extracted copies of their packages.</summary>
    private static void PruneUnused(string parent, string current)
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured ? configured :
            System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var folder in Directory.EnumerateDirectories(parent))
        {
            var key = System.IO.Path.GetFileName(folder);
            var used = System.IO.Path.Combine(folder, "used");
            if (key == current || (File.Exists(used) && DateTime.UtcNow - File.GetLastWriteTimeUtc(used) < KeepUnused) ||
                (!File.Exists(used) && DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) < KeepUnused))
            {
                continue;
            }
            ScratchDirectory.TryDelete(folder);
            if (key.Length >= 16)
            {
                foreach (var id in PackageIds)
                {
                    ScratchDirectory.TryDelete(System.IO.Path.Combine(packages, id.ToLowerInvariant(), VersionOf(key).ToLowerInvariant()));
                }
            }
        }
    }

    private static void Write(string path, string content) => File.WriteAllText(path, content, new UTF8Encoding(false));
}
