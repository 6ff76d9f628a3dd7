using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace SecureBuild.Reproducibility.Tests.Infrastructure;

/// <summary>A compiled assembly and its portable PDB.</summary>
public sealed record Compiled(byte[] Dll, byte[] Pdb);

/// <summary>Compiles C# in memory with Roslyn, the way `dotnet build` does (deterministic, portable PDB, PDB path in the debug directory).</summary>
public static class Compiler
{
    private static readonly ImmutableArray<MetadataReference> References =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is "System.Runtime.dll" or "System.Private.CoreLib.dll" or "System.Console.dll" or "System.Linq.dll" or "netstandard.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();

    /// <summary>
    /// Compiles <paramref name="sources"/> (file name → code) as if they lived in <paramref name="directory"/>.
    /// <paramref name="pathMap"/> maps that directory to /_/ as ContinuousIntegrationBuild does.
    /// </summary>
    public static Compiled Compile(string directory, IDictionary<string, string> sources, bool deterministic = true, bool pathMap = false,
        string assemblyName = "Sample", IEnumerable<ResourceDescription>? resources = null, DebugInformationFormat format = DebugInformationFormat.PortablePdb)
    {
        var dir = directory.TrimEnd('/') + "/";
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);
        var trees = sources.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => CSharpSyntaxTree.ParseText(kv.Value, parse, path: dir + kv.Key, encoding: System.Text.Encoding.UTF8))
            .ToList();
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: deterministic, optimizationLevel: OptimizationLevel.Release);
        if (pathMap)
        {
            options = options.WithSourceReferenceResolver(new SourceFileResolver(ImmutableArray<string>.Empty, null, ImmutableArray.Create(new KeyValuePair<string, string>(dir, "/_/"))));
        }

        var compilation = CSharpCompilation.Create(assemblyName, trees, References, options);
        using var dll = new MemoryStream();
        using var pdb = new MemoryStream();
        var pdbPath = pathMap ? $"/_/obj/Release/{assemblyName}.pdb" : $"{dir}obj/Release/{assemblyName}.pdb";
        var emit = compilation.Emit(dll, format == DebugInformationFormat.Embedded ? null : pdb, manifestResources: resources,
            options: new EmitOptions(debugInformationFormat: format, pdbFilePath: pdbPath, pdbChecksumAlgorithm: System.Security.Cryptography.HashAlgorithmName.SHA256));
        if (!emit.Success)
        {
            throw new InvalidOperationException(string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }

        return new Compiled(dll.ToArray(), pdb.ToArray());
    }

    public static Compiled Compile(string directory, string code, bool deterministic = true, bool pathMap = false) =>
        Compile(directory, new Dictionary<string, string> { ["Program.cs"] = code }, deterministic, pathMap);
}
