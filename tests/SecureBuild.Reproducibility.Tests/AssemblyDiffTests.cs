using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Emit;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>The assembly and PDB comparers on real compiler output: each kind of difference gets its cause, root causes first.</summary>
public sealed class AssemblyDiffTests
{
    private const string Plain = "namespace S; public static class C { public static string M() => \"hello\"; }";

    private static DiffReport Diff(string name, byte[] left, byte[] right, params KnownVariation[] variations) =>
        ArtifactDiffer.CompareContents(name, left, right, new DiffOptions { Variations = variations });

    private static List<string> RootCauseIds(DiffReport report) => report.Differences.Where(d => d.IsRootCause).Select(d => d.Cause.Id).Distinct().ToList();

    [Test]
    public void Two_deterministic_compilations_are_identical()
    {
        var a = Compiler.Compile("/src/a", Plain);
        var b = Compiler.Compile("/src/a", Plain);
        var report = Diff("S.dll", a.Dll, b.Dll);
        Assert.That(report.Identical, Is.True, ReportWriters.Text(report));
        Assert.That(report.Differences, Is.Empty);
    }

    [Test]
    public void A_different_directory_is_an_absolute_pdb_path_and_the_hashes_follow_from_it()
    {
        var a = Compiler.Compile("/build/one", Plain);
        var b = Compiler.Compile("/tmp/elsewhere/two", Plain);
        var report = Diff("S.dll", a.Dll, b.Dll);
        Assert.That(report.Identical, Is.False);
        var roots = report.Differences.Where(d => d.IsRootCause).ToList();
        Assert.That(roots.Select(d => d.Cause.Id), Is.EquivalentTo(new[] { Causes.CodeViewPath.Id }), ReportWriters.Text(report));
        Assert.That(roots[0].Left, Is.EqualTo("/build/one/obj/Release/Sample.pdb"));
        var consequences = report.Differences.Where(d => !d.IsRootCause).Select(d => d.Aspect).ToList();
        Assert.That(consequences, Has.Some.StartsWith("MVID"));
        Assert.That(consequences, Has.Some.StartsWith("PE header: COFF TimeDateStamp"));
        Assert.That(consequences, Has.Some.StartsWith("PE debug directory: PDB id"));
        Assert.That(report.Differences.Where(d => !d.IsRootCause).All(d => d.ConsequenceOf!.Contains("CodeView PDB path")), Is.True);
        Assert.That(report.Ordered().First().IsRootCause, Is.True, "root causes are listed first");
    }

    [Test]
    public void Pdb_documents_with_absolute_paths_are_explained_and_the_pdb_id_follows()
    {
        var a = Compiler.Compile("/build/one", Plain);
        var b = Compiler.Compile("/tmp/elsewhere/two", Plain);
        var report = Diff("S.pdb", a.Pdb, b.Pdb);
        Assert.That(RootCauseIds(report), Is.EqualTo(new[] { Causes.PdbDocumentPath.Id }), ReportWriters.Text(report));
        var doc = report.Differences.First(d => d.Aspect == "PDB document name");
        Assert.That(doc.Left, Is.EqualTo("/build/one/Program.cs"));
        Assert.That(doc.Right, Is.EqualTo("/tmp/elsewhere/two/Program.cs"));
        Assert.That(report.Differences.Single(d => d.Aspect == "PDB id").IsRootCause, Is.False);
    }

    [Test]
    public void PathMap_makes_two_directories_identical()
    {
        var a = Compiler.Compile("/build/one", Plain, pathMap: true);
        var b = Compiler.Compile("/tmp/elsewhere/two", Plain, pathMap: true);
        Assert.That(Diff("S.dll", a.Dll, b.Dll).Identical, Is.True);
        Assert.That(Diff("S.pdb", a.Pdb, b.Pdb).Identical, Is.True);
    }

    [Test]
    public void CallerFilePath_is_an_absolute_path_compiled_into_code()
    {
        const string code = "using System.Runtime.CompilerServices; namespace S; public static class C { public static string Where([CallerFilePath] string f = \"\") => f; public static string M() => Where(); }";
        var a = Compiler.Compile("/build/one", code);
        var b = Compiler.Compile("/build/two-longer", code);
        var report = Diff("S.dll", a.Dll, b.Dll);
        var literal = report.Differences.Single(d => d.Aspect.Contains("string literal"));
        Assert.That(literal.Cause.Id, Is.EqualTo(Causes.PathInCode.Id));
        Assert.That(literal.Aspect, Does.Contain("S.C::M()"));
        Assert.That(literal.Left, Is.EqualTo("/build/one/Program.cs"));
        Assert.That(literal.IsRootCause, Is.True);
    }

    [TestCase("2024-05-01T10:00:00.1234567Z", "2024-05-01T10:00:03.7654321Z", "build-timestamp")]
    [TestCase("built 05/01/2024 10:00:00", "built 05/01/2024 10:00:09", "build-timestamp")]
    [TestCase("id 3f2504e0-4f89-11d3-9a0c-0305e82c3301", "id 9a7b1c22-0d4e-4b6a-8c1e-5f3a2b7d9e10", "random-guid")]
    [TestCase("1.0.0+0123456789abcdef0123456789abcdef01234567", "1.0.0+fedcba9876543210fedcba9876543210fedcba98", "different-commit")]
    [TestCase("version 1.2.3", "version 1.2.4", "different-version")]
    [TestCase("hello", "goodbye", "generated-code")]
    public void A_string_literal_that_differs_gets_the_cause_of_its_value(string left, string right, string cause)
    {
        string Code(string v) => "namespace S; public static class C { public static string M() => \"" + v + "\"; }";
        var report = Diff("S.dll", Compiler.Compile("/s", Code(left)).Dll, Compiler.Compile("/s", Code(right)).Dll);
        var literal = report.Differences.Single(d => d.Aspect.Contains("string literal"));
        Assert.That(literal.Cause.Id, Is.EqualTo(cause), ReportWriters.Text(report));
        Assert.That((literal.Left, literal.Right), Is.EqualTo((left, right)));
    }

    [Test]
    public void A_varied_environment_value_is_named()
    {
        string Code(string v) => "[assembly: System.Reflection.AssemblyMetadata(\"BuiltBy\", \"" + v + "\")] namespace S; public static class C { }";
        var report = Diff("S.dll", Compiler.Compile("/s", Code("builder-a")).Dll, Compiler.Compile("/s", Code("rebuilder-b")).Dll,
            new KnownVariation("USER", "builder-a", "rebuilder-b"));
        var attribute = report.Differences.Single(d => d.Aspect.Contains("AssemblyMetadataAttribute"));
        Assert.That(attribute.Cause.Id, Is.EqualTo(Causes.Environment.Id));
        Assert.That(attribute.Cause.Title, Does.Contain("USER"));
        Assert.That(attribute.Left, Is.EqualTo("(\"BuiltBy\", \"builder-a\")"));
    }

    [Test]
    public void InformationalVersion_with_another_commit_is_a_different_commit()
    {
        string Code(string v) => "[assembly: System.Reflection.AssemblyInformationalVersion(\"1.0.0+" + v + "\")] namespace S; public static class C { }";
        var report = Diff("S.dll", Compiler.Compile("/s", Code("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")).Dll, Compiler.Compile("/s", Code("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")).Dll);
        Assert.That(RootCauseIds(report), Is.EqualTo(new[] { Causes.Commit.Id }), ReportWriters.Text(report));
    }

    [Test]
    public void Deterministic_false_is_named_when_nothing_else_differs()
    {
        var a = Compiler.Compile("/s", Plain, deterministic: false);
        var b = Compiler.Compile("/s", Plain, deterministic: false);
        var report = Diff("S.dll", a.Dll, b.Dll);
        Assert.That(RootCauseIds(report), Is.EqualTo(new[] { Causes.DeterministicOff.Id }), ReportWriters.Text(report));
    }

    [Test]
    public void Different_code_without_literals_is_generated_code()
    {
        var a = Compiler.Compile("/s", "namespace S; public static class C { public static int M() => 1 + System.Environment.ProcessorCount; }");
        var b = Compiler.Compile("/s", "namespace S; public static class C { public static int M() => 2 * System.Environment.ProcessorCount; }");
        var report = Diff("S.dll", a.Dll, b.Dll);
        var il = report.Differences.Single(d => d.Aspect.StartsWith("IL of S.C::M()", StringComparison.Ordinal));
        Assert.That(il.Cause.Id, Is.EqualTo(Causes.GeneratedCode.Id));
        Assert.That(il.Detail, Does.Contain("@@"));
    }

    [Test]
    public void Source_files_in_another_order_are_an_ordering_difference()
    {
        var sources = new Dictionary<string, string> { ["A.cs"] = "namespace S; public class A { }", ["B.cs"] = "namespace S; public class B { }" };
        var a = Compiler.Compile("/s", sources);
        var b = CompileInOrder("/s", new[] { ("B.cs", sources["B.cs"]), ("A.cs", sources["A.cs"]) });
        var report = Diff("S.pdb", a.Pdb, b.Pdb);
        Assert.That(RootCauseIds(report), Does.Contain(Causes.Ordering.Id), ReportWriters.Text(report));
        var dll = Diff("S.dll", a.Dll, b.Dll);
        Assert.That(RootCauseIds(dll), Does.Contain(Causes.Ordering.Id), ReportWriters.Text(dll));
    }

    [Test]
    public void A_resource_with_a_build_time_is_a_build_timestamp()
    {
        Compiled With(string text) => Compiler.Compile("/s", new Dictionary<string, string> { ["P.cs"] = Plain }, resources: new[]
        {
            new ResourceDescription("S.info.txt", () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), isPublic: true),
        });
        var report = Diff("S.dll", With("name: S\nbuilt: 2024-03-04 10:11:12\n").Dll, With("name: S\nbuilt: 2024-03-04 10:11:19\n").Dll);
        var resource = report.Differences.Single(d => d.Aspect.StartsWith("resource S.info.txt", StringComparison.Ordinal));
        Assert.That(resource.Cause.Id, Is.EqualTo(Causes.Timestamp.Id));
        Assert.That(report.Differences.Where(d => d.Aspect.StartsWith("MVID", StringComparison.Ordinal)).All(d => !d.IsRootCause), Is.True);
    }

    [Test]
    public void A_resource_listing_files_in_another_order_is_ordering_and_shows_the_items()
    {
        Compiled With(string text) => Compiler.Compile("/s", new Dictionary<string, string> { ["P.cs"] = Plain }, resources: new[]
        {
            new ResourceDescription("S.parts.txt", () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), isPublic: true),
        });
        var report = Diff("S.dll", With("alpha\nbravo\ncharlie\n").Dll, With("charlie\nalpha\nbravo\n").Dll);
        var resource = report.Differences.Single(d => d.Aspect == "resource S.parts.txt");
        Assert.That(resource.Cause.Id, Is.EqualTo(Causes.Ordering.Id));
        Assert.That((resource.Left, resource.Right), Is.EqualTo(("alpha, bravo, charlie", "charlie, alpha, bravo")));
    }

    [Test]
    public void An_embedded_pdb_is_compared_inside_the_assembly()
    {
        var a = Compiler.Compile("/one", new Dictionary<string, string> { ["P.cs"] = Plain }, format: DebugInformationFormat.Embedded);
        var b = Compiler.Compile("/two/x", new Dictionary<string, string> { ["P.cs"] = Plain }, format: DebugInformationFormat.Embedded);
        var report = Diff("S.dll", a.Dll, b.Dll);
        Assert.That(report.Differences.Any(d => d.Artifact == "S.dll!/embedded.pdb" && d.Cause.Id == Causes.PdbDocumentPath.Id), Is.True, ReportWriters.Text(report));
    }

    private static Compiled CompileInOrder(string dir, (string Name, string Code)[] files)
    {
        var trees = files.Select(f => Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(f.Code, path: dir + "/" + f.Name, encoding: System.Text.Encoding.UTF8)).ToList();
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is "System.Runtime.dll" or "System.Private.CoreLib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Sample", trees, refs,
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: true, optimizationLevel: OptimizationLevel.Release));
        using var dll = new MemoryStream();
        using var pdb = new MemoryStream();
        var emit = compilation.Emit(dll, pdb, options: new Microsoft.CodeAnalysis.Emit.EmitOptions(debugInformationFormat: Microsoft.CodeAnalysis.Emit.DebugInformationFormat.PortablePdb, pdbFilePath: dir + "/obj/Release/Sample.pdb"));
        Assert.That(emit.Success, Is.True);
        return new Compiled(dll.ToArray(), pdb.ToArray());
    }
}
