using SecureBuild.Core.Crypto;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// Once for every test in this namespace: takes SecureBuild.Sdk from the feed the test projects share (packing it when
/// no test project did yet for these sources), and builds the one shared fixture,
/// a small multi-targeted library (net8.0;net10.0) with a .resx and a plain embedded resource, an analyzer package,
/// an additional file, content and a packed readme, with `dotnet pack -p:SecureBuildInspect=true` and `dotnet publish -f
/// net10.0 -p:SecureBuildInspect=true`, each writing a binary log; then two `dotnet pack --no-build` into folders of their own, without recording
/// pack again, under an inspection policy that denies what the package has (SB4325), failing and in warning mode. The
/// tests read those logs, outputs and the links; none builds again.
/// </summary>
[SetUpFixture]
public sealed class PackagedSdk
{
    private static SdkPackageFeed? _feed;
    private static BuiltLibrary? _library;

    public static SdkPackageFeed Feed => _feed ?? throw new InvalidOperationException("PackagedSdk's one-time set-up has not run.");

    public static BuiltLibrary Library => _library ?? throw new InvalidOperationException("PackagedSdk's one-time set-up has not run.");

    /// <summary>Packs and builds; SECUREBUILD_TEST_FIXTURE=&lt;work root&gt; instead reuses one a run kept (see <see cref="CleanUp"/>).</summary>
    [OneTimeSetUp]
    public void PackAndBuild()
    {
        if (Environment.GetEnvironmentVariable("SECUREBUILD_TEST_FIXTURE") is { Length: > 0 } kept)
        {
            _feed = SdkPackageFeed.Open(kept);
            _library = BuiltLibrary.Existing(_feed);
            return;
        }
        _feed = SdkPackageFeed.Shared("securebuild-sdk-tests-").PackSdk();
        _library = BuiltLibrary.Build(_feed);
    }

    /// <summary>Deletes the feed and the fixture, unless SECUREBUILD_KEEP_TEST_FIXTURE=1 asks to keep them for a look.</summary>
    [OneTimeTearDown]
    public void CleanUp()
    {
        if (Environment.GetEnvironmentVariable("SECUREBUILD_KEEP_TEST_FIXTURE") == "1" || Environment.GetEnvironmentVariable("SECUREBUILD_TEST_FIXTURE") is { Length: > 0 })
        {
            TestContext.Progress.WriteLine($"kept the fixture: {_feed?.WorkRoot}");
            return;
        }
        _feed?.Delete();
    }
}

/// <summary>The fixture library after `dotnet pack` and `dotnet publish`: where it is, its binary logs and its links.</summary>
public sealed class BuiltLibrary
{
    private BuiltLibrary(string directory) => Directory = directory;

    public string Directory { get; }

    public string ProjectDirectory => Path.Combine(Directory, "Lib");

    public string AttestationDirectory => Path.Combine(ProjectDirectory, "bin", "Release", "attestations");

    public string PackLog => Path.Combine(Directory, "pack.binlog");

    public string PublishLog => Path.Combine(Directory, "publish.binlog");

    /// <summary>The signing key the build used (SecureBuildSigningKey).</summary>
    public string SigningKeyFile => Path.Combine(Directory, "..", "build.key");

    /// <summary>The package `dotnet pack` wrote (and inspected).</summary>
    public string Package => Path.Combine(ProjectDirectory, "bin", "Release", "Lib.1.0.0.nupkg");

    /// <summary>The output folder of the pack under the denying policy (<see cref="DeniedPack"/>).</summary>
    public string DeniedOutput => Path.Combine(Directory, "out-deny");

    /// <summary>The output folder of the pack in warning mode (<see cref="WarnOnlyPack"/>).</summary>
    public string WarnOnlyOutput => Path.Combine(Directory, "out-warn");

    /// <summary>`dotnet pack --no-build` with SecureBuildInspectPolicy denying SB4325 (exit code and output).</summary>
    public ProcessResult DeniedPack => ReadResult("pack-deny.log");

    /// <summary>The same with SecureBuildInspectWarnOnly=true.</summary>
    public ProcessResult WarnOnlyPack => ReadResult("pack-warn.log");

    private ProcessResult ReadResult(string name)
    {
        var text = File.ReadAllText(Path.Combine(Directory, name));
        var newline = text.IndexOf('\n');
        return new ProcessResult(int.Parse(text.Substring(0, newline), System.Globalization.CultureInfo.InvariantCulture), text.Substring(newline + 1));
    }

    public static IReadOnlyList<string> TargetFrameworks { get; } = new[] { "net8.0", "net10.0" };

    /// <summary>The link of <paramref name="step"/> the build signed (exactly one, whatever the key id).</summary>
    public LinkFile Link(string step)
    {
        var files = System.IO.Directory.GetFiles(AttestationDirectory, step + ".*.link");
        Assert.That(files, Has.Length.EqualTo(1), $"one {step} link expected in {AttestationDirectory}");
        return LinkFile.Load(files[0]);
    }

    /// <summary>The fixture as an earlier run built it in <paramref name="feed"/>'s work root.</summary>
    public static BuiltLibrary Existing(SdkPackageFeed feed) => new(Path.Combine(feed.WorkRoot, "fixture"));

    public static BuiltLibrary Build(SdkPackageFeed feed)
    {
        var library = new BuiltLibrary(Path.Combine(feed.WorkRoot, "fixture"));
        feed.WriteConsumerConfiguration(library.Directory);
        foreach (var (relative, content) in Files)
        {
            var path = Path.Combine(library.Directory, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
        var key = Path.Combine(feed.WorkRoot, "build.key");
        File.WriteAllText(key, SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
        var environment = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key };
        var pack = Run.Process("dotnet", new[] { "pack", "Lib/Lib.csproj", "-c", "Release", "-bl:" + library.PackLog, "-nologo", "-p:SecureBuildInspect=true" },
            library.Directory, environment, TimeSpan.FromMinutes(10));
        Assert.That(pack.ExitCode, Is.EqualTo(0), "dotnet pack of the fixture library failed:\n" + pack.Output);
        var publish = Run.Process("dotnet", new[] { "publish", "Lib/Lib.csproj", "-c", "Release", "-f", "net10.0", "-bl:" + library.PublishLog, "-nologo", "-p:SecureBuildInspect=true" },
            library.Directory, environment, TimeSpan.FromMinutes(10));
        Assert.That(publish.ExitCode, Is.EqualTo(0), "dotnet publish of the fixture library failed:\n" + publish.Output);
        // The pack link stays the first pack's (SecureBuildRecordPack=false): the other tests read it.
        foreach (var (log, output, extra) in new[] { ("pack-deny.log", library.DeniedOutput, ""), ("pack-warn.log", library.WarnOnlyOutput, "-p:SecureBuildInspectWarnOnly=true") })
        {
            var arguments = new List<string> { "pack", "Lib/Lib.csproj", "-c", "Release", "--no-build", "-o", output, "-nologo", "-p:SecureBuildRecordPack=false",
                "-p:SecureBuildInspect=true", "-p:SecureBuildInspectPolicy=../inspect-deny-strong-name.json" };
            if (extra.Length > 0)
            {
                arguments.Add(extra);
            }
            var result = Run.Process("dotnet", arguments, library.Directory, environment, TimeSpan.FromMinutes(10));
            File.WriteAllText(Path.Combine(library.Directory, log), result.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + result.Output);
        }
        return library;
    }

    /// <summary>The fixture's files: every kind of input each step reads, at least once.</summary>
    private static readonly (string Path, string Content)[] Files =
    {
        ("Lib/Lib.csproj", """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup>
                <TargetFrameworks>net8.0;net10.0</TargetFrameworks>
                <Version>1.0.0</Version>
                <Authors>tests</Authors>
                <GenerateDocumentationFile>true</GenerateDocumentationFile>
                <PackageReadmeFile>README.md</PackageReadmeFile>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.CodeAnalysis.Analyzers" Version="3.11.0" PrivateAssets="all" />
                <EmbeddedResource Include="data/greeting.txt" />
                <AdditionalFiles Include="notes/additional.txt" />
                <Content Include="content/settings.json" Pack="true" PackagePath="contentFiles/any/any" CopyToOutputDirectory="PreserveNewest" CopyToPublishDirectory="PreserveNewest" />
                <None Include="README.md" Pack="true" PackagePath="/" />
              </ItemGroup>
            </Project>
            """),
        ("Lib/Greeter.cs", """
            namespace Lib;

            /// <summary>Greets.</summary>
            public static class Greeter
            {
                /// <summary>The greeting from the resources.</summary>
                public static string Hello() => Strings.Greeting;
            }
            """),
        ("Lib/Strings.cs", """
            namespace Lib;

            internal static class Strings
            {
                private static readonly System.Resources.ResourceManager Manager = new("Lib.Strings", typeof(Strings).Assembly);

                public static string Greeting => Manager.GetString("Greeting") ?? "";
            }
            """),
        ("Lib/Strings.resx", """
            <?xml version="1.0" encoding="utf-8"?>
            <root>
              <resheader name="resmimetype"><value>text/microsoft-resx</value></resheader>
              <resheader name="version"><value>2.0</value></resheader>
              <resheader name="reader"><value>System.Resources.ResXResourceReader, System.Windows.Forms, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089</value></resheader>
              <resheader name="writer"><value>System.Resources.ResXResourceWriter, System.Windows.Forms, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089</value></resheader>
              <data name="Greeting" xml:space="preserve"><value>Hello</value></data>
            </root>
            """),
        ("Lib/data/greeting.txt", "hello from an embedded resource\n"),
        ("Lib/notes/additional.txt", "an additional file for analyzers\n"),
        ("Lib/content/settings.json", "{ \"greeting\": \"hello\" }\n"),
        ("Lib/README.md", "# Lib\n\nThe fixture of SecureBuild.Sdk.Tests.\n"),
        ("inspect-deny-strong-name.json", """{ "schema": "https://securebuild.dev/inspect-policy/v1", "capabilities": { "SB4325": "deny" } }"""),
    };
}
