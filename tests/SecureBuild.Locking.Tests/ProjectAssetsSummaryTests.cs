using System.Text;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>project.assets.json is read from its summary only while its bytes are the ones summarised.</summary>
public sealed class ProjectAssetsSummaryTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("sb-assets-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private static string Assets(string hash) => $$"""
        {
          "version": 3,
          "targets": {
            "net8.0": { "Demo.Package/1.2.3": { "type": "package" }, "Other/2.0.0": { "type": "project" } },
            "net8.0/linux-x64": { "Demo.Package/1.2.3": { "type": "package" }, "runtime.linux-x64.Native/1.0.0": { "type": "package" } }
          },
          "libraries": {
            "Demo.Package/1.2.3": { "sha512": "{{hash}}", "type": "package", "path": "demo.package/1.2.3" },
            "runtime.linux-x64.Native/1.0.0": { "sha512": "bbbb", "type": "package", "path": "runtime.linux-x64.native/1.0.0" },
            "Other/2.0.0": { "type": "project", "path": "../Other/Other.csproj" }
          },
          "packageFolders": { "/home/u/.nuget/packages/": {} },
          "project": {
            "restore": { "sources": { "https://api.nuget.org/v3/index.json": {}, "/feeds/local": {} } },
            "frameworks": { "net8.0": { "targetAlias": "net8.0", "downloadDependencies": [ { "name": "Some.Pack", "version": "[3.0.0, 3.0.0]" } ] } }
          }
        }
        """;

    private static string Describe(ProjectAssets a)
    {
        var text = new StringBuilder();
        foreach (var l in a.Libraries)
        {
            text.Append($"L {l.Key} {l.Value.Id} {l.Value.Version} {l.Value.ContentHash ?? "null"} {l.Value.Path ?? "null"}\n");
        }
        foreach (var (kind, maps) in new[] { ("F", a.FrameworkPackages), ("R", a.RuntimePackages), ("D", a.Downloads) })
        {
            foreach (var m in maps)
            {
                text.Append($"{kind} {m.Key}: {string.Join(",", m.Value.Select(kv => kv.Key + "=" + kv.Value))}\n");
            }
        }
        text.Append("S ").Append(string.Join(",", a.Sources)).Append("\nP ").Append(string.Join(",", a.PackageFolders)).Append('\n');
        return text.ToString();
    }

    [Test]
    public void The_summary_says_what_a_full_parse_says_and_is_used_while_the_file_is_unchanged()
    {
        var assets = Path.Combine(_root, "project.assets.json");
        var summary = Path.Combine(_root, "state", "assets.summary");
        File.WriteAllText(assets, Assets("aaaa"));
        var parsed = Describe(ProjectAssets.Load(assets));
        Assert.That(parsed, Does.Contain("L demo.package/1.2.3 Demo.Package 1.2.3 aaaa demo.package/1.2.3"));
        Assert.That(parsed, Does.Contain("D net8.0: some.pack=3.0.0"));

        Assert.That(Describe(ProjectAssets.Load(assets, summary)), Is.EqualTo(parsed));
        Assert.That(File.Exists(summary), Is.True);
        // The summary is what is read now: marking it shows it is used.
        File.WriteAllText(summary, File.ReadAllText(summary).Replace("=aaaa", "=from-summary"));
        Assert.That(Describe(ProjectAssets.Load(assets, summary)), Does.Contain(" from-summary "));
    }

    [Test]
    public void An_assets_file_naming_one_source_twice_is_read_as_NuGet_reads_it()
    {
        // serilog's NuGet.config adds nuget.org under another key than the user's config, without <clear/>: NuGet
        // then writes the URL twice in project.sources. The build must go on (this was SB1400 "restore again").
        var assets = Path.Combine(_root, "project.assets.json");
        File.WriteAllText(assets, Assets("aaaa").Replace(
            "\"https://api.nuget.org/v3/index.json\": {}, ",
            "\"https://api.nuget.org/v3/index.json\": {}, \"https://api.nuget.org/v3/index.json\": {}, "));
        Assert.That(File.ReadAllText(assets), Does.Contain("\"https://api.nuget.org/v3/index.json\": {}, \"https://api.nuget.org/v3/index.json\""));
        var parsed = ProjectAssets.Load(assets);
        Assert.That(parsed.Sources.Count(s => s.Contains("api.nuget.org", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(Describe(parsed), Does.Contain("L demo.package/1.2.3 Demo.Package 1.2.3 aaaa demo.package/1.2.3"));
        Assert.That(SecureBuild.Core.Provenance.NuGetAssets.ReadPackages(assets).Select(p => p.Purl), Does.Contain("pkg:nuget/Demo.Package@1.2.3"));
    }

    [Test]
    public void A_changed_assets_file_is_parsed_again()
    {
        var assets = Path.Combine(_root, "project.assets.json");
        var summary = Path.Combine(_root, "assets.summary");
        File.WriteAllText(assets, Assets("aaaa"));
        ProjectAssets.Load(assets, summary);
        var written = File.GetLastWriteTimeUtc(assets);
        File.WriteAllText(assets, Assets("cccc"));
        File.SetLastWriteTimeUtc(assets, written);
        Assert.That(ProjectAssets.Load(assets, summary).Libraries["demo.package/1.2.3"].ContentHash, Is.EqualTo("cccc"));
    }

    [Test]
    public void A_damaged_summary_is_ignored()
    {
        var assets = Path.Combine(_root, "project.assets.json");
        var summary = Path.Combine(_root, "assets.summary");
        File.WriteAllText(assets, Assets("aaaa"));
        ProjectAssets.Load(assets, summary);
        var text = File.ReadAllText(summary);
        File.WriteAllText(summary, text.Substring(0, text.Length - "end\n".Length));
        Assert.That(ProjectAssets.Load(assets, summary).Libraries["demo.package/1.2.3"].ContentHash, Is.EqualTo("aaaa"));
        File.WriteAllText(summary, text.Replace("\tL\t", "\tX\t").Replace("=L\t", "=X\t"));
        Assert.That(ProjectAssets.Load(assets, summary).Libraries, Has.Count.EqualTo(2));
    }
}
