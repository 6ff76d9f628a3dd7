using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>Incremental builds, solutions built in parallel, multi-targeting, publish, and clones in other directories.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class BuildShapeTests
{
    private static (string Path, PublicKey Public) NewKey()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "shape-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Links.Keygen(dir, "ed25519", "build.key");
    }

    [Test]
    public void A_no_op_build_leaves_the_links_untouched_and_an_edit_updates_them()
    {
        var key = NewKey();
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path };
        var project = new TestProject("incremental").WithConsoleApp("App");
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        // A second build first (it may legitimately record again what the first one created), then no change.
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        var compilePath = project.Path("App/bin/Debug/attestations/" + Links.FileName("compile", key.Public));
        var restorePath = project.Path("App/bin/Debug/attestations/" + Links.FileName("restore", key.Public));
        var before = (File.GetLastWriteTimeUtc(compilePath), File.GetLastWriteTimeUtc(restorePath), File.ReadAllBytes(compilePath));

        var noop = project.DotNet(env, "build", "App/App.csproj", "-v", "n");
        Assert.That(noop.ExitCode, Is.EqualTo(0), noop.ToString());
        Assert.That(noop.Output, Does.Contain("SecureBuild: compile link is up to date"));
        Assert.That((File.GetLastWriteTimeUtc(compilePath), File.GetLastWriteTimeUtc(restorePath)), Is.EqualTo((before.Item1, before.Item2)),
            "a no-op build must not rewrite or re-sign links");
        Assert.That(File.ReadAllBytes(compilePath), Is.EqualTo(before.Item3));

        File.WriteAllText(project.Path("App/Program.cs"), "System.Console.WriteLine(\"changed\");\n");
        var edited = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(edited.ExitCode, Is.EqualTo(0), edited.ToString());
        var link = Links.LoadVerified(compilePath, key.Public);
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("App/Program.cs"))));
        Assert.That(link.Products["App/obj/Debug/net10.0/App.dll"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("App/obj/Debug/net10.0/App.dll"))));
    }

    [Test]
    public void A_no_op_build_confirms_links_by_their_fingerprint_and_still_sees_an_edit_and_a_new_key()
    {
        var key = NewKey();
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path };
        var project = new TestProject("fingerprint").WithConsoleApp("App");
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        // Outputs younger than the racy window are not trusted by their time: the fingerprint is written by
        // the first no-op build that finds them older, and used by the next one.
        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        var compilePath = project.Path("App/bin/Debug/attestations/" + Links.FileName("compile", key.Public));
        var before = File.ReadAllBytes(compilePath);

        var fast = project.DotNet(env, "build", "App/App.csproj", "-v", "n");
        Assert.That(fast.ExitCode, Is.EqualTo(0), fast.ToString());
        Assert.That(fast.Output, Does.Contain($"SecureBuild: compile link is up to date: {compilePath} (nothing it records changed)"));
        Assert.That(fast.Output, Does.Contain("SecureBuild: restore link is up to date:").And.Contain("(nothing it records changed)"));
        Assert.That(File.ReadAllBytes(compilePath), Is.EqualTo(before));

        var program = project.Path("App/Program.cs");
        var text = File.ReadAllText(program);
        File.WriteAllText(program, text.Replace("hello", "jello"));
        Assert.That(File.ReadAllText(program), Is.Not.EqualTo(text), "the edit must change the source");
        var edited = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(edited.ExitCode, Is.EqualTo(0), edited.ToString());
        var link = Links.LoadVerified(compilePath, key.Public);
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Links.Sha256(program)));
        Assert.That(link.Products["App/obj/Debug/net10.0/App.dll"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("App/obj/Debug/net10.0/App.dll"))));

        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        Assert.That(project.DotNet(env, "build", "App/App.csproj").ExitCode, Is.EqualTo(0));
        var other = NewKey();
        File.Copy(other.Path, key.Path, overwrite: true);
        var rekeyed = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(rekeyed.ExitCode, Is.EqualTo(0), rekeyed.ToString());
        Links.LoadVerified(project.Path("App/bin/Debug/attestations/" + Links.FileName("compile", other.Public)), other.Public);
        Links.LoadVerified(project.Path("App/bin/Debug/attestations/" + Links.FileName("restore", other.Public)), other.Public);
    }

    [Test]
    public void A_solution_built_with_m_gives_every_project_and_framework_its_own_links()
    {
        var key = NewKey();
        var project = new TestProject("solution");
        project.Write("Lib/Lib.csproj", """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup><TargetFrameworks>net8.0;net10.0</TargetFrameworks></PropertyGroup>
            </Project>
            """).Write("Lib/Lib.cs", "namespace Lib; public static class L { public static int Answer => 42; }\n");
        project.WithConsoleApp("App", extraItems: """<ProjectReference Include="../Lib/Lib.csproj" />""");
        project.Write("App/Program.cs", "System.Console.WriteLine(Lib.L.Answer);\n");
        Assert.That(project.DotNet("new", "sln", "-n", "All", "--format", "sln").ExitCode, Is.EqualTo(0));
        var add = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "sln", "All.sln", "add", "Lib/Lib.csproj", "App/App.csproj");
        Assert.That(add.ExitCode, Is.EqualTo(0), add.ToString());

        var build = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "build", "All.sln", "-m:4", "-c", "Release");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());

        var libLinks = project.Path("Lib/bin/Release/attestations");
        Assert.That(Directory.GetFiles(libLinks).Select(Path.GetFileName), Is.EquivalentTo(
            Links.ExpectedFiles(key.Public, "restore", "compile-net8.0", "compile-net10.0")), "no temp files left, no collisions between the inner builds");
        foreach (var tfm in new[] { "net8.0", "net10.0" })
        {
            var link = Links.LoadVerified(Path.Combine(libLinks, Links.FileName("compile-" + tfm, key.Public)), key.Public);
            Assert.That(link.Products.Keys, Does.Contain($"Lib/obj/Release/{tfm}/Lib.dll"));
            Assert.That(link.Products.Keys.Where(k => k.EndsWith("Lib.dll", StringComparison.Ordinal)), Has.All.Contain(tfm),
                "a framework's link holds only that framework's outputs");
        }
        var app = Links.LoadVerified(project.Path("App/bin/Release/attestations/" + Links.FileName("compile", key.Public)), key.Public);
        Assert.That(app.Materials.Keys, Has.Some.Matches<string>(k => k.StartsWith("Lib/", StringComparison.Ordinal) && k.EndsWith("/Lib.dll", StringComparison.Ordinal)),
            "the referenced project's assembly is a material, named relative to the root");
    }

    [Test]
    public void Publish_records_the_publish_folder_as_products()
    {
        var key = NewKey();
        var project = new TestProject("publish").WithConsoleApp("App", extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""");
        var publish = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "publish", "App/App.csproj", "-c", "Release");
        Assert.That(publish.ExitCode, Is.EqualTo(0), publish.ToString());
        var link = Links.LoadVerified(project.Path("App/bin/Release/attestations/" + Links.FileName("publish", key.Public)), key.Public);
        var publishDir = project.Path("App/bin/Release/net10.0/publish");
        var expected = Directory.GetFiles(publishDir, "*", SearchOption.AllDirectories)
            .Select(f => "App/bin/Release/net10.0/publish/" + Path.GetRelativePath(publishDir, f).Replace('\\', '/'));
        Assert.That(link.Products.Keys, Is.EquivalentTo(expected));
        Assert.That(link.Products["App/bin/Release/net10.0/publish/Newtonsoft.Json.dll"]["sha256"],
            Is.EqualTo(Links.Sha256(Path.Combine(publishDir, "Newtonsoft.Json.dll"))));
        Assert.That(link.Materials.Keys, Does.Contain("@nuget/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll"));
        Assert.That(link.Materials.Keys, Does.Contain("App/obj/Release/net10.0/App.dll"));
    }

    [Test]
    public void Two_clones_in_different_directories_record_identical_artifact_maps()
    {
        var key = NewKey();
        var origin = new TestProject("clone-origin").WithConsoleApp("App",
            extraProperties: "<ContinuousIntegrationBuild>true</ContinuousIntegrationBuild>",
            extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""");
        Git(origin.Directory, "init", "-q", ".");
        Git(origin.Directory, "add", "-A");
        Git(origin.Directory, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");

        var links = new List<Dictionary<string, Link>>();
        foreach (var name in new[] { "first-clone", "second-clone-elsewhere" })
        {
            var clone = Path.Combine(SdkFeed.WorkRoot, name + "-" + Guid.NewGuid().ToString("N"), "deeper");
            Directory.CreateDirectory(Path.GetDirectoryName(clone)!);
            Git(SdkFeed.WorkRoot, "clone", "-q", origin.Directory, clone);
            var build = Run.DotNet(clone, new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "build", "App/App.csproj", "-c", "Release");
            Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());
            links.Add(new[] { "restore", "compile" }.ToDictionary(s => s,
                s => Links.LoadVerified(Path.Combine(clone, "App/bin/Release/attestations", Links.FileName(s, key.Public)), key.Public)));
        }
        foreach (var step in new[] { "restore", "compile" })
        {
            Assert.That(Flatten(links[1][step].Materials), Is.EqualTo(Flatten(links[0][step].Materials)), $"{step} materials differ between clones");
            Assert.That(Flatten(links[1][step].Products), Is.EqualTo(Flatten(links[0][step].Products)), $"{step} products differ between clones");
        }
        Assert.That(links[0]["restore"].Products["App/obj/project.assets.json"].Keys, Is.EqualTo(new[] { "sha256-pathmapped" }),
            "project.assets.json embeds absolute paths, so it is recorded with a path-mapped digest");
        Assert.That(links[0]["compile"].Products["App/obj/Release/net10.0/App.dll"].Keys, Is.EqualTo(new[] { "sha256" }));
    }

    private static string Flatten(SortedDictionary<string, IReadOnlyDictionary<string, string>> map) =>
        string.Join("\n", map.Select(a => a.Key + " " + string.Join(",", a.Value.OrderBy(d => d.Key).Select(d => d.Key + "=" + d.Value))));

    private static void Git(string directory, params string[] arguments)
    {
        var result = Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}
