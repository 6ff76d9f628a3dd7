using SecureBuild.Core.Crypto;
using SecureBuild.TestSupport;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// The one package of this suite built by SecureBuild.Sdk itself (packed from this checkout into a private feed):
/// `dotnet pack -p:SecureBuildInspect=true` of a library that ships a build/*.targets running a command, signed with a
/// key of the test's own, so its attestations folder holds the links (*.link and *.intoto.jsonl) the real SDK writes
/// and the package folder the report and attestation the inspection writes. Two more packs of the same build
/// (--no-build, each into its own folder) show the policy property failing the build and the warning mode.
/// </summary>
public sealed class SdkBuiltPackage
{
    private static readonly Lazy<SdkBuiltPackage> Instance = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>One pack can take minutes on a busy machine; the set-up waits longer than that, never forever.</summary>
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(20);

    private SdkBuiltPackage(SdkPackageFeed feed, string project, SigningKey key)
    {
        Feed = feed;
        Project = project;
        Key = key;
    }

    public static SdkBuiltPackage Shared => Instance.Value;

    public SdkPackageFeed Feed { get; }

    /// <summary>The project folder (Sample.SdkLib.csproj).</summary>
    public string Project { get; }

    public SigningKey Key { get; }

    public string Output => Path.Combine(Project, "out");

    public string Package => Path.Combine(Output, "Sample.SdkLib.1.0.0.nupkg");

    /// <summary>The attestations folder the SDK wrote (SecureBuildAttestationDir's default).</summary>
    public string Links => Path.Combine(Project, "bin", "Release", "attestations");

    /// <summary>The first, full `dotnet pack` with SecureBuildInspect=true.</summary>
    public ProcessResult Pack { get; private set; } = new(-1, string.Empty);

    /// <summary>`dotnet pack --no-build` into out-deny/ with SecureBuildInspectPolicy denying what the build file does (SB4310).</summary>
    public ProcessResult DeniedPack { get; private set; } = new(-1, string.Empty);

    /// <summary>The same as <see cref="DeniedPack"/> into out-warn/ with SecureBuildInspectWarnOnly=true.</summary>
    public ProcessResult WarnOnlyPack { get; private set; } = new(-1, string.Empty);

    internal static void Delete()
    {
        if (Instance.IsValueCreated)
        {
            Instance.Value.Feed.Delete();
        }
    }

    private static SdkBuiltPackage Build()
    {
        var feed = SdkPackageFeed.Create("sbinspect-sdk-", "i").PackSdk();
        var project = Path.Combine(feed.WorkRoot, "lib");
        feed.WriteConsumerConfiguration(feed.WorkRoot);
        Directory.CreateDirectory(Path.Combine(project, "build"));
        File.WriteAllText(Path.Combine(project, "Sample.SdkLib.csproj"), """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <PackageId>Sample.SdkLib</PackageId>
                <Version>1.0.0</Version>
                <Authors>test</Authors>
                <PackageReadmeFile>README.md</PackageReadmeFile>
                <GenerateDocumentationFile>false</GenerateDocumentationFile>
              </PropertyGroup>
              <ItemGroup>
                <None Include="README.md" Pack="true" PackagePath="\" />
                <None Include="build/Sample.SdkLib.targets" Pack="true" PackagePath="build/" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Greeter.cs"), "namespace Sample.SdkLib;\npublic static class Greeter { public static string Hello(string name) => \"Hello, \" + name; }\n");
        File.WriteAllText(Path.Combine(project, "README.md"), "# Sample.SdkLib\nA library packed by SecureBuild.Sdk for the inspection tests.\n");
        File.WriteAllText(Path.Combine(project, "build", "Sample.SdkLib.targets"), """
            <Project>
              <Target Name="SampleSdkLibGreets" BeforeTargets="Build">
                <Exec Command="echo greetings-from-sample-sdklib" />
              </Target>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "deny-exec.json"), """
            { "schema": "https://securebuild.dev/inspect-policy/v1", "capabilities": { "SB4310": "deny" } }
            """);
        var key = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(Path.Combine(feed.WorkRoot, "build.key"), key.ExportPrivate());

        var built = new SdkBuiltPackage(feed, project, key);
        var common = new[] { "-c", "Release", "-m:1", "-nologo", "-p:UseSharedCompilation=false", "-p:SecureBuildInspect=true", "-p:SecureBuildSigningKey=../build.key" };
        built.Pack = RunPack(project, common.Concat(new[] { "-o", "out" }));
        if (built.Pack.ExitCode != 0)
        {
            throw new InvalidOperationException("dotnet pack with SecureBuild.Sdk failed:\n" + built.Pack.Output);
        }

        built.DeniedPack = RunPack(project, common.Concat(new[] { "--no-build", "-o", "out-deny", "-p:SecureBuildInspectPolicy=deny-exec.json" }));
        built.WarnOnlyPack = RunPack(project, common.Concat(new[] { "--no-build", "-o", "out-warn", "-p:SecureBuildInspectPolicy=deny-exec.json", "-p:SecureBuildInspectWarnOnly=true" }));
        return built;
    }

    private static ProcessResult RunPack(string project, IEnumerable<string> arguments) =>
        Run.Process("dotnet", new[] { "pack", "Sample.SdkLib.csproj" }.Concat(arguments), project, timeout: PackTimeout);
}
