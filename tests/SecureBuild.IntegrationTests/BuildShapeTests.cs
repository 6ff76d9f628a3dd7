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
        // MSBuild skips the recording target by its stamp (SecureBuild.UpToDate.targets), or the task confirms the link.
        Assert.That(noop.Output, Does.Contain("SecureBuild: compile link is up to date").Or.Contain("Skipping target \"SecureBuildRecordCompile\""));
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
        // The tasks' own no-op path: without SecureBuildSkipUnchanged=false, MSBuild would skip the tasks before they run
        // (Sdk.Tests' NoOpBuildTests covers that).
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path, ["SecureBuildSkipUnchanged"] = "false" };
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

    /// <summary>
    /// The documented way for a multi-project repository: one `&lt;Sdk Name="SecureBuild.Sdk" /&gt;` in Directory.Build.props,
    /// the version in global.json's msbuild-sdks, every project left on Microsoft.NET.Sdk. A nested NuGet.config names
    /// the feed again under another key without &lt;clear/&gt; (as serilog's does): NuGet writes that source twice into
    /// project.assets.json, which the build must read as NuGet does.
    /// </summary>
    [Test]
    public void A_solution_adopting_the_sdk_in_Directory_Build_props_built_with_m_gives_every_project_and_framework_its_own_links()
    {
        var key = NewKey();
        var project = new TestProject("solution");
        project.Write("Directory.Build.props", """
            <Project>
              <Sdk Name="SecureBuild.Sdk" />
            </Project>
            """);
        project.Write("Lib/Lib.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFrameworks>net8.0;net10.0</TargetFrameworks></PropertyGroup>
            </Project>
            """).Write("Lib/Lib.cs", "namespace Lib; public static class L { public static int Answer => 42; }\n");
        project.Write("Lib/nuget.config", """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="nuget.org-again" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        project.Write("App/App.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup><ProjectReference Include="../Lib/Lib.csproj" /></ItemGroup>
            </Project>
            """);
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
        var appRestore = Links.LoadVerified(project.Path("App/bin/Release/attestations/" + Links.FileName("restore", key.Public)), key.Public);
        Assert.That(appRestore.Materials.Keys, Does.Contain("Directory.Build.props"));
        Assert.That(System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(project.Path("Lib/obj/project.assets.json")), "\"https://api.nuget.org/v3/index.json\": \\{").Count,
            Is.EqualTo(2), "NuGet wrote the source twice (the situation serilog's NuGet.config creates)");
        Assert.That(build.Output, Does.Not.Contain("SB1400"));

        var pack = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "pack", "Lib/Lib.csproj", "-c", "Release", "--no-build");
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
        var packLink = Links.LoadVerified(Path.Combine(libLinks, Links.FileName("pack", key.Public)), key.Public);
        Assert.That(packLink.Products.Keys, Does.Contain("Lib/bin/Release/Lib.1.0.0.nupkg"));
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

    [Test]
    public void Two_clones_packed_outside_the_repository_one_on_a_branch_one_detached_give_identical_packages_and_pack_links()
    {
        var key = NewKey();
        var origin = new TestProject("pack-out-origin");
        origin.Write("Lib/Lib.csproj", """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <PublishRepositoryUrl>true</PublishRepositoryUrl>
              </PropertyGroup>
              <ItemGroup><SecureBuildRecordProperty Include="PackageOutputPath" /></ItemGroup>
            </Project>
            """).Write("Lib/Lib.cs", "namespace Lib; public static class L { public static int Answer => 42; }\n");
        Git(origin.Directory, "init", "-q", "--initial-branch=main", ".");
        Git(origin.Directory, "add", "-A");
        Git(origin.Directory, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");

        var clones = new List<(string Clone, string Out, ProcessResult Pack)>();
        foreach (var (name, detached) in new[] { ("branch-clone", false), ("detached-clone-elsewhere", true) })
        {
            var parent = Path.Combine(SdkFeed.WorkRoot, name + "-" + Guid.NewGuid().ToString("N"), detached ? "deeper" : "");
            var clone = Path.Combine(parent, "src");
            Directory.CreateDirectory(parent);
            Git(SdkFeed.WorkRoot, "clone", "-q", origin.Directory, clone);
            Git(clone, "remote", "set-url", "origin", "https://github.com/example/lib.git");
            if (detached)
            {
                Git(clone, "checkout", "-q", "--detach"); // as CI checks out
            }
            // `dotnet pack -o ../out`: the packages land outside the repository.
            var pack = Run.DotNet(clone, new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key.Path }, "pack", "Lib/Lib.csproj", "-c", "Release", "-o", "../out");
            Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
            Assert.That(pack.Output, Does.Not.Contain("SB2470"), pack.ToString());
            clones.Add((clone, Path.Combine(parent, "out"), pack));
        }

        var packages = clones.Select(c => File.ReadAllBytes(Path.Combine(c.Out, "Lib.1.0.0.nupkg"))).ToList();
        using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(packages[0])))
        {
            using var reader = new StreamReader(zip.GetEntry("Lib.nuspec")!.Open());
            var nuspec = reader.ReadToEnd();
            Assert.That(nuspec, Does.Contain("<repository type=\"git\" url=\"https://github.com/example/lib.git\"").And.Contain("commit=\""));
            Assert.That(nuspec, Does.Not.Contain("branch="), "the branch is not part of the package");
        }
        Assert.That(packages[1], Is.EqualTo(packages[0]), "a branch and a detached HEAD of one commit pack the same bytes");

        var links = clones.Select(c => Links.LoadVerified(Path.Combine(c.Clone, "Lib/bin/Release/attestations", Links.FileName("pack", key.Public)), key.Public)).ToList();
        Assert.That(links[0].Products.Keys, Does.Contain("@pack-output/Lib.1.0.0.nupkg"));
        Assert.That(links[0].Products.Keys.Concat(links[0].Materials.Keys), Has.None.StartsWith("@external/"));
        Assert.That(links[0].Products["Lib/obj/Release/Lib.1.0.0.nuspec"].Keys, Is.EqualTo(new[] { "sha256-pathmapped" }), "the generated nuspec names files by absolute path");
        Assert.That(Flatten(links[1].Materials), Is.EqualTo(Flatten(links[0].Materials)), "pack materials differ between clones");
        Assert.That(Flatten(links[1].Products), Is.EqualTo(Flatten(links[0].Products)), "pack products differ between clones");

        var provenance = clones.Select(c => ProvenancePredicate(Path.Combine(c.Clone, "Lib/bin/Release/attestations/pack.provenance.intoto.jsonl"))).ToList();
        var text = provenance.Select(p => SecureBuild.Core.Json.JsonText.Write(p, indented: false)).ToList();
        Assert.That(text[0], Does.Contain("\"PackageOutputPath\":\"@pack-output\"").And.Not.Contain(clones[0].Out), "no machine path in provenance");
        Assert.That(text[0], Does.Contain("\"branch\":\"main\""), "provenance records the branch");
        Assert.That(text[1], Does.Not.Contain("\"branch\""), "a detached HEAD has none");
    }

    private static SecureBuild.Core.Json.JsonMap ProvenancePredicate(string path)
    {
        var envelope = (SecureBuild.Core.Json.JsonMap)SecureBuild.Core.Json.JsonParser.Parse(File.ReadAllText(path).Trim());
        var payload = Convert.FromBase64String(((SecureBuild.Core.Json.JsonString)envelope["payload"]).Value);
        return (SecureBuild.Core.Json.JsonMap)((SecureBuild.Core.Json.JsonMap)SecureBuild.Core.Json.JsonParser.Parse(payload))["predicate"];
    }

    private static string Flatten(ArtifactMap map) =>
        string.Join("\n", map.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + " " + string.Join(",", a.Value.OrderBy(d => d.Key).Select(d => d.Key + "=" + d.Value))));

    private static void Git(string directory, params string[] arguments)
    {
        var result = Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}
