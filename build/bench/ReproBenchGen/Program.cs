using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

// Usage: ReproBenchGen <output dir> <count>
// Writes <output>/a/bin/LibN.dll+pdb and <output>/b/bin/LibN.dll+pdb: the same sources compiled as if checked out in
// two directories without PathMap, so every pair differs (PDB documents, CodeView path, MVID, ...), and every
// fifth assembly also embeds a build timestamp.
var output = args.Length > 0 ? args[0] : "repro-bench-trees";
var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200;
var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
    .Where(p => Path.GetFileName(p) is "System.Runtime.dll" or "System.Private.CoreLib.dll" or "System.Linq.dll" or "System.Collections.dll")
    .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();

string Source(int n, int file, string stamp)
{
    var sb = new System.Text.StringBuilder();
    sb.AppendLine("using System.Linq; using System.Runtime.CompilerServices;");
    sb.AppendLine($"namespace Bench.Lib{n};");
    for (int t = 0; t < 8; t++)
    {
        sb.AppendLine($"public sealed class Type{file}_{t} {{");
        for (int m = 0; m < 10; m++)
        {
            sb.AppendLine($"  public static int M{m}(int[] xs) => xs.Where(x => x % {m + 2} == 0).Select(x => x * {t + 1}).Sum() + {n};");
        }

        sb.AppendLine($"  public static string Where([CallerFilePath] string f = \"\") => f;");
        sb.AppendLine($"  public static string Name => \"Type{file}_{t} of {n}\";");
        sb.AppendLine("}");
    }

    if (file == 0 && n % 5 == 0)
    {
        sb.AppendLine($"public static class BuildInfo {{ public const string BuiltAt = \"{stamp}\"; }}");
    }

    return sb.ToString();
}

var sides = new[] { ("a", "/home/alice/src/bench", "2024-01-01T10:00:00.0000000Z"), ("b", "/build/agent/_work/7/s", "2024-01-01T10:00:07.1234567Z") };
foreach (var (side, root, stamp) in sides)
{
    Directory.CreateDirectory(Path.Combine(output, side, "bin"));
}

Parallel.For(0, count, n =>
{
    foreach (var (side, root, stamp) in sides)
    {
        var dir = $"{root}/src/Lib{n}/";
        var trees = Enumerable.Range(0, 3).Select(f => CSharpSyntaxTree.ParseText(Source(n, f, stamp), path: dir + $"File{f}.cs", encoding: System.Text.Encoding.UTF8));
        var compilation = CSharpCompilation.Create($"Lib{n}", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: true, optimizationLevel: OptimizationLevel.Release));
        using var dll = File.Create(Path.Combine(output, side, "bin", $"Lib{n}.dll"));
        using var pdb = File.Create(Path.Combine(output, side, "bin", $"Lib{n}.pdb"));
        var result = compilation.Emit(dll, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb, pdbFilePath: $"{dir}obj/Release/Lib{n}.pdb"));
        if (!result.Success)
        {
            throw new InvalidOperationException(string.Join("\n", result.Diagnostics));
        }
    }
});
Console.WriteLine($"wrote {count} assemblies with PDBs into {Path.GetFullPath(output)}/a/bin and /b/bin");
