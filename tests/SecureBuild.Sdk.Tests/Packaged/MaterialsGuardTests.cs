namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// The guard against an SDK update that renames an item SecureBuild.Sdk's targets read (_CoreCompileResourceInputs,
/// _PackageFiles, ResolvedFileToPublish, ...): such a rename does not fail the build, the file just drops out of the
/// link. So every file the build's binary log shows handed to Csc, to NuGet's PackTask and to the publish copy must be
/// a material (and what they wrote a product) of the right link, by name and content.
/// </summary>
public sealed class MaterialsGuardTests
{
    /// <summary>Csc's file inputs: sources, references, resources, analyzers and what analyzers read.</summary>
    private static readonly string[] CscInputs = { "Sources", "References", "Resources", "Analyzers", "AdditionalFiles", "AnalyzerConfigFiles", "EmbeddedFiles", "KeyFile", "Win32Resource", "Win32Manifest", "Win32Icon", "SourceLink" };

    private static readonly string[] CscOutputs = { "OutputAssembly", "OutputRefAssembly", "PdbFile", "DocumentationFile" };

    /// <summary>PackTask's file inputs (the ones it puts into the package).</summary>
    private static readonly string[] PackInputs = { "PackageFiles", "BuildOutputInPackage", "TargetPathsToSymbols", "SourceFiles", "NuspecFile" };

    [Test]
    public void Every_file_Csc_compiled_from_is_a_material_of_the_compile_link_of_its_framework()
    {
        var library = PackagedSdk.Library;
        var cscs = BuildLog.Read(library.PackLog).Tasks("Csc");
        Assert.That(cscs.Select(c => c.TargetFramework), Is.EquivalentTo(BuiltLibrary.TargetFrameworks), "one compilation per framework");
        var missing = new List<string>();
        foreach (var csc in cscs)
        {
            var link = library.Link("compile-" + csc.TargetFramework);
            var given = CscInputs.SelectMany(p => csc.Items(p).Select(i => (Parameter: p, Path: csc.FullPath(i.ItemSpec)))).ToList();
            AssertFixtureExercised(csc.TargetFramework!, given);
            missing.AddRange(given.Where(g => !File.Exists(g.Path) || !LinkFile.Records(link.Materials, g.Path))
                .Select(g => $"{csc.TargetFramework} {g.Parameter}: {g.Path}"));
        }
        Assert.That(missing, Is.Empty, "handed to Csc but not a material of its compile link");
    }

    [Test]
    public void Every_file_Csc_wrote_is_a_product_of_the_compile_link_of_its_framework()
    {
        var library = PackagedSdk.Library;
        var missing = new List<string>();
        foreach (var csc in BuildLog.Read(library.PackLog).Tasks("Csc"))
        {
            var link = library.Link("compile-" + csc.TargetFramework);
            var written = CscOutputs.Select(csc.Value).OfType<string>().Select(csc.FullPath).ToList();
            Assert.That(written.Select(Path.GetFileName), Is.SupersetOf(new[] { "Lib.dll", "Lib.xml" }), csc.TargetFramework);
            missing.AddRange(written.Where(w => !LinkFile.Records(link.Products, w)).Select(w => $"{csc.TargetFramework}: {w}"));
        }
        Assert.That(missing, Is.Empty, "written by Csc but not a product of its compile link");
    }

    [Test]
    public void Every_file_PackTask_put_into_the_package_is_a_material_of_the_pack_link_and_the_package_its_product()
    {
        var library = PackagedSdk.Library;
        var packs = BuildLog.Read(library.PackLog).Tasks("PackTask");
        Assert.That(packs, Has.Count.EqualTo(1));
        var pack = packs[0];
        var link = library.Link("pack");
        // BuildOutputInPackage and TargetPathsToSymbols name the copy in bin/ by FinalOutputPath, the file NuGet reads.
        var given = PackInputs.SelectMany(p => pack.Items(p).Select(i => (Parameter: p, Path: pack.FullPath(i["FinalOutputPath"] ?? i.ItemSpec)))).ToList();
        Assert.That(given.Select(g => g.Path.Replace('\\', '/')), Has.Some.EndsWith("/net8.0/Lib.dll").And.Some.EndsWith("/net10.0/Lib.dll")
            .And.Some.EndsWith("/content/settings.json").And.Some.EndsWith("/README.md"), "the fixture puts assemblies, content and a readme into the package");
        var missing = given.Where(g => !File.Exists(g.Path) || !LinkFile.Records(link.Materials, g.Path)).Select(g => $"{g.Parameter}: {g.Path}").ToList();
        Assert.That(missing, Is.Empty, "put into the package but not a material of the pack link");
        var package = Path.Combine(library.ProjectDirectory, "bin", "Release", "Lib.1.0.0.nupkg");
        Assert.That(LinkFile.Records(link.Products, package), Is.True, $"{package} is not a product of the pack link");
    }

    [Test]
    public void Every_file_the_publish_copy_copied_is_a_material_of_the_publish_link_and_its_copy_a_product()
    {
        var library = PackagedSdk.Library;
        var copies = BuildLog.Read(library.PublishLog).Tasks("Copy")
            .Where(c => c.TargetName.StartsWith("_CopyResolvedFilesToPublish", StringComparison.Ordinal)).ToList();
        Assert.That(copies, Is.Not.Empty, "no publish copy in the log: the .NET SDK renamed _CopyResolvedFilesToPublish*, update this guard");
        var link = library.Link("publish-net10.0");
        var sources = copies.SelectMany(c => c.Items("SourceFiles").Select(i => c.FullPath(i.ItemSpec))).ToList();
        var destinations = copies.SelectMany(c => c.Items("DestinationFiles").Select(i => c.FullPath(i.ItemSpec))).ToList();
        Assert.That(sources.Select(Path.GetFileName), Is.SupersetOf(new[] { "Lib.dll", "settings.json" }), "the fixture publishes its assembly and content");
        Assert.That(sources.Where(s => !LinkFile.Records(link.Materials, s)), Is.Empty, "copied by publish but not a material of the publish link");
        Assert.That(destinations.Where(d => !LinkFile.Records(link.Products, d)), Is.Empty, "published but not a product of the publish link");
    }

    [Test]
    public void Each_step_is_recorded_right_around_the_target_that_does_it()
    {
        var library = PackagedSdk.Library;
        var pack = BuildLog.Read(library.PackLog);
        foreach (var framework in BuiltLibrary.TargetFrameworks)
        {
            AssertInOrder(pack.TargetOrder("Lib.csproj", framework),
                "SecureBuildRecordCompileMaterials", "CoreCompile", "CopyFilesToOutputDirectory", "SecureBuildRecordCompile");
        }
        AssertInOrder(pack.TargetOrder("Lib.csproj", null), "SecureBuildRecordPackMaterials", "GenerateNuspec", "SecureBuildRecordPack");
        var publish = BuildLog.Read(library.PublishLog).TargetOrder("Lib.csproj", "net10.0");
        var copy = publish.First(t => t.StartsWith("_CopyResolvedFilesToPublish", StringComparison.Ordinal));
        // Publish's materials are hashed once the list of files to publish is final, and the link is signed after the
        // copy. Not asserted: materials before the copy. BeforeTargets="CopyFilesToPublishDirectory" runs after that
        // target's DependsOnTargets, which include the copy (_CopyResolvedFilesToPublish*), so today the materials are
        // hashed just after it (reported; the copy's sources are still what the link names, the guard above checks).
        AssertInOrder(publish, "ComputeResolvedFilesToPublishList", "SecureBuildRecordPublishMaterials", "SecureBuildRecordPublish");
        AssertInOrder(publish, copy, "SecureBuildRecordPublish");
    }

    private static void AssertInOrder(IReadOnlyList<string> order, params string[] expected)
    {
        var positions = expected.Select(name => (Name: name, At: order.ToList().IndexOf(name))).ToList();
        Assert.That(positions.Where(p => p.At < 0).Select(p => p.Name), Is.Empty, "targets that did not run; ran: " + string.Join(", ", order));
        Assert.That(positions.Select(p => p.At), Is.Ordered.Ascending, string.Join(" < ", expected) + "; ran: " + string.Join(", ", order));
    }

    /// <summary>The fixture hands Csc each kind of input at least once, or the guard would pass on nothing.</summary>
    private static void AssertFixtureExercised(string framework, IReadOnlyList<(string Parameter, string Path)> given)
    {
        string[] Of(string parameter) => given.Where(g => g.Parameter == parameter).Select(g => g.Path.Replace('\\', '/')).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(Of("Sources"), Has.Some.EndsWith("/Greeter.cs"), framework);
            Assert.That(Of("References"), Has.Some.Contains("/Microsoft.NETCore.App.Ref/").Or.Some.Contains("/microsoft.netcore.app.ref/"), framework);
            Assert.That(Of("Resources"), Has.Some.EndsWith(".Strings.resources").And.Some.EndsWith("/greeting.txt"), framework);
            Assert.That(Of("Analyzers"), Has.Some.Contains("/microsoft.codeanalysis.analyzers/"), framework);
            Assert.That(Of("AdditionalFiles"), Has.Some.EndsWith("/additional.txt"), framework);
        });
    }
}
