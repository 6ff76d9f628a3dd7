using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Recording;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// The one package built with a real `dotnet pack` for the whole suite (a library with a README), and its links: a
/// compile step (materials: the sources; products: the assembly in obj/ and bin/) and a pack step (materials: the
/// built assembly and the README; product: the .nupkg), recorded with Core's ArtifactNamer and StepRecorder and
/// written with LinkFile.WriteSigned, the code the SDK's recording tasks call.
/// </summary>
public sealed class BuiltLibrary
{
    private static readonly Lazy<BuiltLibrary> Instance = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    private BuiltLibrary(string root, string package, string links, SigningKey key)
    {
        Root = root;
        Package = package;
        Links = links;
        Key = key;
    }

    public static BuiltLibrary Shared => Instance.Value;

    public string Root { get; }

    public string Package { get; }

    public string Links { get; }

    public SigningKey Key { get; }

    /// <summary>The public key in a file, for --key.</summary>
    public string PublicKeyFile => Path.Combine(Root, "build.key.pub");

    internal static void Delete()
    {
        if (Instance.IsValueCreated)
        {
            Directory.Delete(Instance.Value.Root, recursive: true);
        }
    }

    private static Dictionary<string, string> QuietEnvironment()
    {
        var environment = new Dictionary<string, string>();
        DotnetEnvironment.MakeQuiet(environment);
        return environment;
    }

    private static BuiltLibrary Build()
    {
        var root = Path.Combine(Path.GetTempPath(), "sbinspect-" + Guid.NewGuid().ToString("N").Substring(0, 10));
        var project = Path.Combine(root, "src");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Lib.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <PackageId>Sample.Lib</PackageId>
                <Version>1.0.0</Version>
                <Authors>test</Authors>
                <PackageReadmeFile>README.md</PackageReadmeFile>
                <Deterministic>true</Deterministic>
                <!-- as a CI build maps it (SourceLink does from the git root; there is no repository here) -->
                <PathMap>$(MSBuildProjectDirectory)=/_/</PathMap>
                <GenerateDocumentationFile>false</GenerateDocumentationFile>
              </PropertyGroup>
              <ItemGroup>
                <None Include="README.md" Pack="true" PackagePath="\" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Greeter.cs"), "namespace Sample.Lib;\npublic static class Greeter { public static string Hello(string name) => \"Hello, \" + name; }\n");
        File.WriteAllText(Path.Combine(project, "README.md"), "# Sample.Lib\nA library the inspection tests pack.\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n"); // the repository's own props stay out
        File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />\n");
        var output = Path.Combine(root, "out");
        var pack = new ProcessRunner().Run(new ProcessSpec("dotnet", new[] { "pack", "Lib.csproj", "-c", "Release", "-o", output, "-m:1", "-nologo", "-p:UseSharedCompilation=false" }, project)
        {
            AddedEnvironment = QuietEnvironment(),
            Timeout = TimeSpan.FromMinutes(10),
        });
        if (pack.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack failed ({pack.ExitCode}):\n{pack.Output}");
        }

        var package = Path.Combine(output, "Sample.Lib.1.0.0.nupkg");
        var key = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(Path.Combine(root, "build.key.pub"), key.ExportPublic());
        var links = Path.Combine(root, "attestations");
        var recorder = new StepRecorder(new ArtifactNamer(root), FileHashCache.InMemory(), new[] { "sha256" });
        var compile = new Link("compile")
        {
            Materials = recorder.Record(new[] { Path.Combine(project, "Greeter.cs"), Path.Combine(project, "Lib.csproj") }),
            Products = recorder.Record(new[] { Path.Combine(project, "obj/Release/net10.0/Lib.dll"), Path.Combine(project, "bin/Release/net10.0/Lib.dll") }),
        };
        LinkFile.WriteSigned(compile, key, links);
        var packLink = new Link("pack")
        {
            Materials = recorder.Record(new[] { Path.Combine(project, "bin/Release/net10.0/Lib.dll"), Path.Combine(project, "README.md") }),
            Products = recorder.Record(new[] { package }),
        };
        LinkFile.WriteSigned(packLink, key, links);
        return new BuiltLibrary(root, package, links, key);
    }
}

[SetUpFixture]
public sealed class BuiltLibraryCleanup
{
    [OneTimeTearDown]
    public void DeleteBuiltLibrary() => BuiltLibrary.Delete();
}
