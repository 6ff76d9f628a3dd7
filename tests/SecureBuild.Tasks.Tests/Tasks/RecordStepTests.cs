using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>RecordStepMaterials before a step and RecordStepProducts after it, as the SDK's targets run them.</summary>
public sealed class RecordStepTests : TaskTestBase
{
    [Test]
    public void Materials_then_products_write_a_signed_link_with_both()
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        var nugetConfig = Dir.Write("repo/nuget.config", "<configuration />");
        var engine = new FakeBuildEngine();

        var before = Materials(engine, "compile", source, ProjectFile);
        before.SearchUpward = new[] { "NuGet.Config" };
        Assert.That(before.Execute(), Is.True, engine.Log);

        var dll = Dir.Write("repo/App/obj/Release/App.dll", "assembly");
        var copy = Dir.Write("repo/App/bin/Release/App.dll", "assembly");
        var after = Products(engine, "compile", dll, copy);
        Assert.That(after.Execute(), Is.True, engine.Log);

        var expectedPath = Path.Combine(LinkDir, LinkName("compile", BuildKey.Key.Public));
        Assert.That(after.LinkFile, Is.EqualTo(expectedPath));
        Assert.That(FilesIn(LinkDir), Does.Contain(expectedPath));
        Assert.That(FilesIn(LinkDir).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)), Is.Empty, "no temporary file left behind");
        Assert.That(FilesIn(LinkDir).Where(f => f.EndsWith(".link", StringComparison.Ordinal)), Is.EqualTo(new[] { expectedPath }), "one link per step");
        var link = LoadLink(expectedPath, BuildKey.Key.Public);
        Assert.That(link.Name, Is.EqualTo("compile"));
        Assert.That(link.Materials.Keys, Is.EqualTo(new[] { "App/App.csproj", "App/Program.cs", "nuget.config" }));
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Sha256(source)));
        Assert.That(link.Materials["nuget.config"]["sha256"], Is.EqualTo(Sha256(nugetConfig)));
        Assert.That(link.Products.Keys, Is.EqualTo(new[] { "App/bin/Release/App.dll", "App/obj/Release/App.dll" }));
        Assert.That(link.Products["App/obj/Release/App.dll"]["sha256"], Is.EqualTo(Sha256(dll)));
        Assert.That(link.Command, Is.EqualTo(new[] { "dotnet", "msbuild", "App/App.csproj", "-t:CoreCompile", "-p:Configuration=Release" }));
        Assert.That(link.Byproducts.Count, Is.Zero);
        Assert.That(link.Environment.Count, Is.Zero);
        Assert.That(engine.Errors, Is.Empty);
        Assert.That(engine.Warnings, Is.Empty, "a configured key is not the development key: no SB2001");
    }

    [Test]
    public void Materials_are_the_content_before_the_step_ran()
    {
        var source = Dir.Write("repo/App/Program.cs", "before");
        var beforeDigest = Sha256(source);
        var engine = new FakeBuildEngine();
        Assert.That(Materials(engine, "compile", source).Execute(), Is.True, engine.Log);

        File.WriteAllText(source, "changed by the step");
        var after = Products(engine, "compile", source);
        Assert.That(after.Execute(), Is.True, engine.Log);

        var link = LoadLink(after.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(beforeDigest));
        Assert.That(link.Products["App/Program.cs"]["sha256"], Is.EqualTo(Sha256(source)));
    }

    [Test]
    public void Product_directories_are_recorded_recursively_without_the_link_directory()
    {
        var engine = new FakeBuildEngine();
        Dir.Write("repo/App/bin/Release/publish/App.dll", "a");
        Dir.Write("repo/App/bin/Release/publish/wwwroot/site.css", "b");
        Dir.Write("repo/App/bin/Release/attestations/old.link", "{}");
        var after = Products(engine, "publish");
        after.ProductDirectories = new[] { Dir.Path("repo/App/bin/Release") };

        Assert.That(after.Execute(), Is.True, engine.Log);

        var link = LoadLink(after.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Products.Keys, Is.EqualTo(new[] { "App/bin/Release/publish/App.dll", "App/bin/Release/publish/wwwroot/site.css" }));
    }

    [Test]
    public void Fallback_materials_are_hashed_when_nothing_was_recorded_before_the_step()
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        var engine = new FakeBuildEngine();
        var after = Products(engine, "restore", Dir.Write("repo/App/obj/project.assets.json", "{}"));
        after.FallbackMaterials = Items(ProjectFile, source);

        Assert.That(after.Execute(), Is.True, engine.Log);

        var link = LoadLink(after.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Materials.Keys, Is.EqualTo(new[] { "App/App.csproj", "App/Program.cs" }));
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Sha256(source)));
    }

    [Test]
    public void Fallback_materials_are_not_used_when_materials_were_recorded()
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        var unrelated = Dir.Write("repo/App/Fallback.cs", "class F {}");
        var engine = new FakeBuildEngine();
        Assert.That(Materials(engine, "compile", source).Execute(), Is.True, engine.Log);
        var after = Products(engine, "compile");
        after.FallbackMaterials = Items(unrelated);

        Assert.That(after.Execute(), Is.True, engine.Log);

        Assert.That(LoadLink(after.LinkFile!, BuildKey.Key.Public).Materials.Keys, Is.EqualTo(new[] { "App/Program.cs" }));
    }

    [Test]
    public void Materials_recorded_for_another_step_in_the_same_file_are_not_used()
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        var engine = new FakeBuildEngine();
        var before = Materials(engine, "compile-net8.0", source);
        before.MaterialsFile = Path.Combine(StateDir, "compile.materials.json");
        Assert.That(before.Execute(), Is.True, engine.Log);

        var after = Products(engine, "compile-net10.0");
        after.MaterialsFile = before.MaterialsFile;
        after.FallbackMaterials = Items(ProjectFile);
        Assert.That(after.Execute(), Is.True, engine.Log);

        Assert.That(LoadLink(after.LinkFile!, BuildKey.Key.Public).Materials.Keys, Is.EqualTo(new[] { "App/App.csproj" }));
    }

    [Test]
    public void Files_under_named_roots_and_outside_every_root_are_named_portably()
    {
        var nuget = Dir.Path("home/.nuget/packages");
        var reference = Dir.Write("home/.nuget/packages/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll", "nj");
        var outside = Dir.Write("elsewhere/tool.dll", "t");
        var engine = new FakeBuildEngine();
        var before = Materials(engine, "compile", reference, outside);
        var root = new Microsoft.Build.Utilities.TaskItem(nuget);
        root.SetMetadata("Prefix", "@nuget");
        before.ArtifactRoots = new Microsoft.Build.Framework.ITaskItem[] { root };
        Assert.That(before.Execute(), Is.True, engine.Log);
        var after = Products(engine, "compile");
        after.ArtifactRoots = before.ArtifactRoots;

        Assert.That(after.Execute(), Is.True, engine.Log);

        var names = LoadLink(after.LinkFile!, BuildKey.Key.Public).Materials.Keys.ToList();
        Assert.That(names, Has.Count.EqualTo(2));
        Assert.That(names, Does.Contain("@nuget/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll"));
        Assert.That(names.Single(n => n != "@nuget/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll"), Does.Match("^@external/[0-9a-f]{12}/tool\\.dll$"));
        Assert.That(File.ReadAllText(after.LinkFile!), Does.Not.Contain(Dir.FullPath), "no absolute path is ever written");
    }

    [Test]
    public void A_product_in_an_output_folder_outside_the_repository_is_named_by_the_folder_and_one_elsewhere_warns_SB2470()
    {
        // `dotnet pack -o ../out`: the package is written next to the repository.
        var package = Dir.Write("out/App.1.0.0.nupkg", "pkg");
        var stray = Dir.Write("elsewhere/App.1.0.0.snupkg", "sym");
        var output = new Microsoft.Build.Utilities.TaskItem(Dir.Path("out") + "/");
        output.SetMetadata("Prefix", "@pack-output");
        output.SetMetadata("OutputFolder", "true");
        var engine = new FakeBuildEngine();
        Assert.That(Materials(engine, "pack").Execute(), Is.True, engine.Log);
        var pack = Products(engine, "pack", package);
        pack.ArtifactRoots = new Microsoft.Build.Framework.ITaskItem[] { output };
        Assert.That(pack.Execute(), Is.True, engine.Log);
        Assert.That(LoadLink(pack.LinkFile!, BuildKey.Key.Public).Products.Keys, Is.EqualTo(new[] { "@pack-output/App.1.0.0.nupkg" }));
        Assert.That(engine.WarningCodes, Does.Not.Contain("SB2470"));

        var strayEngine = new FakeBuildEngine();
        Assert.That(Materials(strayEngine, "pack").Execute(), Is.True, strayEngine.Log);
        var strayPack = Products(strayEngine, "pack", package, stray);
        strayPack.ArtifactRoots = pack.ArtifactRoots;
        Assert.That(strayPack.Execute(), Is.True, strayEngine.Log);
        var warning = strayEngine.Warnings.Single(w => w.Code == "SB2470");
        Assert.That(warning.Message, Does.Contain(stray).And.Contain("@external/").And.Contain("SecureBuildArtifactRoot"));
    }

    [Test]
    public void A_second_run_with_nothing_changed_leaves_the_link_untouched()
    {
        var dll = Dir.Write("repo/App/bin/App.dll", "a");
        var engine = new FakeBuildEngine();
        var first = Products(engine, "compile", dll);
        first.FallbackMaterials = Items(ProjectFile);
        Assert.That(first.Execute(), Is.True, engine.Log);
        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(first.LinkFile!, old);

        var second = Products(engine, "compile", dll);
        second.FallbackMaterials = Items(ProjectFile);
        Assert.That(second.Execute(), Is.True, engine.Log);

        Assert.That(second.LinkFile, Is.EqualTo(first.LinkFile));
        Assert.That(File.GetLastWriteTimeUtc(second.LinkFile!), Is.EqualTo(old));
    }

    [Test]
    public void The_hash_cache_file_is_written_when_configured()
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(-5));
        var engine = new FakeBuildEngine();
        var before = Materials(engine, "compile", source);
        before.HashCacheFile = Path.Combine(StateDir, "hashes.cache");

        Assert.That(before.Execute(), Is.True, engine.Log);

        Assert.That(File.ReadAllText(before.HashCacheFile), Does.Contain(Sha256(source)));
    }

    [Test]
    public void Several_hash_algorithms_are_recorded_when_asked_for()
    {
        var dll = Dir.Write("repo/App/bin/App.dll", "a");
        var engine = new FakeBuildEngine();
        var after = Products(engine, "compile", dll);
        after.HashAlgorithms = "sha512;SHA256";

        Assert.That(after.Execute(), Is.True, engine.Log);

        Assert.That(LoadLink(after.LinkFile!, BuildKey.Key.Public).Products["App/bin/App.dll"].Keys, Is.EquivalentTo(new[] { "sha256", "sha512" }));
    }
}
