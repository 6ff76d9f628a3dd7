using System.Globalization;
using System.Text;

namespace SecureBuild.TestSupport;

/// <summary>
/// A private NuGet feed holding SecureBuild.Sdk packed from this checkout, with a version no earlier run used (NuGet
/// never re-extracts a version it has seen), and the global.json/nuget.config that make a generated project take the
/// SDK from it and everything else from nuget.org. Each test assembly that builds real projects packs one in its
/// one-time set-up and deletes it (and the extracted package) in its tear-down.
/// </summary>
public sealed class SdkPackageFeed
{
    private SdkPackageFeed(string version, string workRoot)
    {
        Version = version;
        WorkRoot = workRoot;
        FeedDirectory = System.IO.Path.Combine(workRoot, "feed");
    }

    /// <summary>The version of the packed SecureBuild.Sdk: <c>0.1.0-&lt;tag&gt;&lt;UTC time&gt;</c>.</summary>
    public string Version { get; }

    /// <summary>The run's scratch root (the feed is one folder in it); deleted by <see cref="Delete"/>.</summary>
    public string WorkRoot { get; }

    public string FeedDirectory { get; }

    /// <summary>A new, empty feed under the temp directory, named <paramref name="prefix"/> plus the version.</summary>
    public static SdkPackageFeed Create(string prefix, string versionTag)
    {
        var version = $"0.1.0-{versionTag}" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        var feed = new SdkPackageFeed(version, System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + version));
        Directory.CreateDirectory(feed.FeedDirectory);
        return feed;
    }

    /// <summary>
    /// A feed an earlier run made and kept (its work root): for looking at a fixture again without packing and
    /// building it anew. The version is the one of the SecureBuild.Sdk package in it.
    /// </summary>
    public static SdkPackageFeed Open(string workRoot)
    {
        var package = Directory.GetFiles(System.IO.Path.Combine(workRoot, "feed"), "SecureBuild.Sdk.*.nupkg").Single();
        var version = System.IO.Path.GetFileNameWithoutExtension(package).Substring("SecureBuild.Sdk.".Length);
        return new SdkPackageFeed(version, workRoot);
    }

    /// <summary>Packs src/SecureBuild.Sdk into the feed; fails the calling set-up when that does not work.</summary>
    public SdkPackageFeed PackSdk()
    {
        var pack = Run.DotNet(RepositoryRoot.Path, null, "pack", "src/SecureBuild.Sdk/SecureBuild.Sdk.csproj", "-c", "Release",
            "-o", FeedDirectory, $"-p:SecureBuildVersion={Version}", "-v", "q", "-nologo");
        Assert.That(pack.ExitCode, Is.EqualTo(0), "packing SecureBuild.Sdk failed:\n" + pack.Output);
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

    /// <summary>Deletes the work root and what NuGet extracted of <paramref name="packageIds"/> at this version (best effort).</summary>
    public void Delete(params string[] packageIds)
    {
        ScratchDirectory.TryDelete(WorkRoot);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
            System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in packageIds.Prepend("SecureBuild.Sdk").Distinct(StringComparer.OrdinalIgnoreCase))
        {
            ScratchDirectory.TryDelete(System.IO.Path.Combine(packages, id.ToLowerInvariant(), Version.ToLowerInvariant()));
        }
    }

    private static void Write(string path, string content) => File.WriteAllText(path, content, new UTF8Encoding(false));
}
