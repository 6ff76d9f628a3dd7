using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Rebuilder and release-approver roles: a roles file's "rebuilders" and "approvers" compile into a rebuild step (its
/// products MATCH the pack step's packages) and an approval step (its materials MATCH them, it produces nothing), each
/// with its threshold. The reference in-toto-verify and our verifier decide every case the same: k rebuild links with
/// the packed bytes and enough approvals pass; a rebuilder with other bytes, one approval short, the same approver
/// twice and an approval from outside the role fail.
/// </summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory
public class ReleaseRolesTests
{
    private const string Package = "App/bin/Release/App.1.0.0.nupkg";
    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Builder = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey[] Rebuilders = { SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ed25519) };
    private static readonly SigningKey[] Approvers = { SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ed25519) };
    private static readonly SigningKey Stranger = SigningKey.Generate(KeyType.Ed25519);
    private string _dir = "";

    private const string Roles = """
        {
          "_type": "securebuild-roles/v1",
          "layout_owners": { "functionaries": ["keys/owner.pub"] },
          "roles": { "builder": { "functionaries": ["keys/builder.pub"] } },
          "steps": { "compile": "builder", "pack": "builder" },
          "rebuilders": { "functionaries": ["keys/rebuilder0.pub", "keys/rebuilder1.pub", "keys/rebuilder2.pub"], "threshold": 2 },
          "approvers": { "functionaries": ["keys/approver0.pub", "keys/approver1.pub"], "threshold": 2, "step": "release" }
        }
        """;

    private string Links => Path.Combine(_dir, "links");

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("release-roles");
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        var keys = new List<(string, SigningKey)> { ("owner", Owner), ("builder", Builder), ("stranger", Stranger) };
        keys.AddRange(Rebuilders.Select((k, i) => ($"rebuilder{i}", k)));
        keys.AddRange(Approvers.Select((k, i) => ($"approver{i}", k)));
        foreach (var (name, key) in keys)
        {
            File.WriteAllText(Path.Combine(_dir, "keys", name + ".pub"), key.ExportPublic());
            File.WriteAllText(Path.Combine(_dir, "keys", name + ".key"), key.ExportPrivate());
        }

        File.WriteAllText(Path.Combine(_dir, "roles.json"), Roles);
        Directory.CreateDirectory(Path.Combine(_dir, "App/bin/Release"));
        File.WriteAllText(Path.Combine(_dir, Package), "the package the builder packed");

        var compile = new Link("compile") { Command = new[] { "dotnet", "build" } };
        compile.Materials["App/Code.cs"] = Sha("App/Code.cs");
        compile.Products["App/bin/Release/App.dll"] = Sha("App.dll");
        var pack = new Link("pack") { Command = new[] { "dotnet", "pack" } };
        pack.Materials["App/bin/Release/App.dll"] = Sha("App.dll");
        pack.Products[Package] = HashDict.Sha256(Sha256Hex.OfFile(Path.Combine(_dir, Package)));
        LinkFile.WriteSigned(compile, Builder, Links);
        LinkFile.WriteSigned(pack, Builder, Links);

        var made = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "root.layout");
        Assert.That(made.Code, Is.EqualTo(0), made.Stderr);
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private static HashDict Sha(string text) => HashDict.Sha256(Sha256Hex.Of(System.Text.Encoding.UTF8.GetBytes(text)));

    private (int Code, string Stdout, string Stderr) Run(params string[] args) => Cli.Run(_dir, args);

    /// <summary>What `securebuild rebuild --link-key` signs, for outputs with these package bytes.</summary>
    private void Rebuild(SigningKey rebuilder, string packageText)
    {
        var outputs = new Dictionary<string, string>
        {
            [Package] = Sha256Hex.Of(System.Text.Encoding.UTF8.GetBytes(packageText)),
            ["App/bin/Release/net10.0/App.dll"] = Sha256Hex.Of(new byte[] { 1 }),
        };
        LinkFile.WriteSigned(ReleaseSteps.RebuildLink("rebuild", outputs, new[] { "dotnet", "pack" }), rebuilder, Links);
    }

    private void Approve(int approver)
    {
        var r = Run("approve", Package, "--key", $"keys/approver{approver}.key", "--link-dir", "links", "--root", ".");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
    }

    private Both.Outcome VerifyBoth() => Both.Run(_dir, new[] { ("keys/owner.pub", "ed25519") }, "root.layout", "links");

    private (int Code, string Stdout, string Stderr) VerifyWithRoles() =>
        Run("verify", "-l", "root.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links", "--roles", "roles.json");

    private static void BothRefuse(Both.Outcome outcome)
    {
        Assert.That(outcome.Reference.ExitCode, Is.EqualTo(1), outcome.ToString());
        Assert.That(outcome.Ours.ExitCode, Is.EqualTo(1), outcome.ToString());
        Assert.That(outcome.Agree, Is.True, outcome.ToString());
    }

    [Test]
    public void The_layout_compiles_rebuilders_and_approvers_into_plain_in_toto_steps_with_their_thresholds()
    {
        var layout = Layout.FromJson(Metablock.Load(Path.Combine(_dir, "root.layout")).Signed);
        var rebuild = layout.Steps.Single(s => s.Name == "rebuild");
        Assert.That(rebuild.Threshold, Is.EqualTo(2));
        Assert.That(rebuild.PubKeys, Is.EquivalentTo(Rebuilders.Select(k => k.KeyId)));
        Assert.That(rebuild.ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "REQUIRE " + Package, "MATCH * WITH PRODUCTS FROM pack", "DISALLOW *" }));
        var release = layout.Steps.Single(s => s.Name == "release");
        Assert.That(release.Threshold, Is.EqualTo(2));
        Assert.That(release.PubKeys, Is.EquivalentTo(Approvers.Select(k => k.KeyId)));
        Assert.That(release.ExpectedMaterials.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "REQUIRE " + Package, "MATCH * WITH PRODUCTS FROM pack", "DISALLOW *" }));
        Assert.That(release.ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "DISALLOW *" }));
        Assert.That(layout.Keys.Keys, Is.SupersetOf(Rebuilders.Concat(Approvers).Select(k => k.KeyId)));
    }

    [Test]
    public void Two_rebuilders_with_the_packed_bytes_and_both_approvals_pass_both_verifiers_and_the_report_names_each_role()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[2], "the package the builder packed");
        Approve(0);
        Approve(1);

        var outcome = VerifyBoth();
        Assert.That(outcome.Reference.ExitCode, Is.EqualTo(0), outcome.ToString());
        Assert.That(outcome.Ours.ExitCode, Is.EqualTo(0), outcome.ToString());

        var report = VerifyWithRoles();
        Assert.That(report.Code, Is.EqualTo(0), report.Stdout + report.Stderr);
        string Line(string step) => report.Stdout.Split('\n').Single(l => l.StartsWith($"  {step}: ", StringComparison.Ordinal));
        Assert.That(Line("rebuild"), Does.StartWith("  rebuild: role rebuilders, performed by keys/rebuilder")
            .And.Contain($"keys/rebuilder0.pub ({Rebuilders[0].KeyId.Substring(0, 8)})").And.Contain($"keys/rebuilder2.pub ({Rebuilders[2].KeyId.Substring(0, 8)})"));
        Assert.That(Line("release"), Does.StartWith("  release: role approvers, performed by keys/approver")
            .And.Contain($"keys/approver0.pub ({Approvers[0].KeyId.Substring(0, 8)})").And.Contain($"keys/approver1.pub ({Approvers[1].KeyId.Substring(0, 8)})"));
    }

    [Test]
    public void A_rebuilder_with_other_bytes_fails_both_verifiers()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[1], "a package with other bytes");
        Approve(0);
        Approve(1);
        BothRefuse(VerifyBoth());

        // Two rebuilders that agree with each other and not with the pack step fail too.
        Rebuild(Rebuilders[0], "a package with other bytes");
        var outcome = VerifyBoth();
        BothRefuse(outcome);
        Assert.That(outcome.Reference.Kind, Does.Contain("RuleVerificationError"), outcome.ToString());
    }

    [Test]
    public void One_approval_short_of_the_threshold_fails_both_verifiers_naming_the_role_and_who_is_missing()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[1], "the package the builder packed");
        Approve(0);
        BothRefuse(VerifyBoth());

        var report = VerifyWithRoles();
        Assert.That(report.Code, Is.EqualTo(1));
        Assert.That(report.Stderr, Does.Contain("step:      release"));
        Assert.That(report.Stderr, Does.Contain("SB5275: 1 more of the role approvers must sign (threshold 2, 1 valid link(s))"));
        Assert.That(report.Stderr, Does.Contain($"keys/approver1.pub ({Approvers[1].KeyId.Substring(0, 8)})"), "the approver who is missing is named");
    }

    [Test]
    public void The_same_approver_twice_counts_once_in_both_verifiers()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[1], "the package the builder packed");
        Approve(0);
        Approve(0);
        // Its link under the other approver's file name does not pass for that approver.
        string own = Path.Combine(Links, LinkFile.FileName("release", Approvers[0].KeyId));
        File.Copy(own, Path.Combine(Links, LinkFile.FileName("release", Approvers[1].KeyId)));
        BothRefuse(VerifyBoth());

        var report = VerifyWithRoles();
        Assert.That(report.Stderr, Does.Contain("SB5275").And.Contain($"keys/approver1.pub ({Approvers[1].KeyId.Substring(0, 8)})"));
    }

    [Test]
    public void An_approval_from_a_key_outside_the_role_fails_both_verifiers_and_is_named()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[1], "the package the builder packed");
        Approve(0);
        var r = Run("approve", Package, "--key", "keys/stranger.key", "--link-dir", "links", "--root", ".");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
        BothRefuse(VerifyBoth());

        var report = VerifyWithRoles();
        Assert.That(report.Stderr, Does.Contain($"outside the role: release.{Stranger.KeyId.Substring(0, 8)}.link is signed by {Stranger.KeyId}"));
        Assert.That(report.Stderr, Does.Contain("role:      approvers (2 of keys/approver0.pub"));
    }

    [Test]
    public void One_rebuilder_short_of_the_threshold_fails_both_verifiers()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Approve(0);
        Approve(1);
        BothRefuse(VerifyBoth());
        Assert.That(VerifyWithRoles().Stderr, Does.Contain("SB5275: 1 more of the role rebuilders must sign"));
    }

    [Test]
    public void An_approval_of_another_package_fails_both_verifiers()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Rebuild(Rebuilders[1], "the package the builder packed");
        File.WriteAllText(Path.Combine(_dir, Package), "a package swapped after the build");
        Approve(0);
        Approve(1);
        BothRefuse(VerifyBoth());
    }

    [TestCase("approve", "App/bin/Release/App.dll", "SB5273")]
    [TestCase("approve", "App/bin/Release/Missing.1.0.0.nupkg", "SB5273")]
    [TestCase("approve", "empty", "SB5273")]
    [TestCase("approve", "../outside.nupkg", "SB5274")]
    public void Approve_refuses_what_is_not_a_package_of_the_root(string verb, string path, string code)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        File.WriteAllText(Path.Combine(_dir, "App/bin/Release/App.dll"), "x");
        File.WriteAllText(Path.Combine(_dir, "..", "outside.nupkg"), "x");
        try
        {
            var r = Run(verb, path, "--key", "keys/approver0.key", "--link-dir", "links", "--root", ".");
            Assert.That(r.Code, Is.EqualTo(2), r.Stdout);
            Assert.That(r.Stderr, Does.Contain(code));
            Assert.That(Directory.GetFiles(Links, "release.*"), Is.Empty, "no approval is written");
        }
        finally
        {
            File.Delete(Path.Combine(_dir, "..", "outside.nupkg"));
        }
    }

    [TestCase("\"rebuilders\": { \"functionaries\": [\"keys/rebuilder0.pub\"], \"step\": \"a/b\" }", "SB5235")]
    [TestCase("\"rebuilders\": { \"functionaries\": [\"keys/rebuilder0.pub\"], \"threshold\": 2 }", "SB5235")]
    [TestCase("\"rebuilders\": { \"functionaries\": [\"keys/rebuilder0.pub\"], \"step\": \"release\" }, \"approvers\": { \"functionaries\": [\"keys/approver0.pub\"] }", "SB5235")]
    [TestCase("\"rebuilders\": { \"functionaries\": [\"keys/rebuilder0.pub\"], \"step\": \"compile\" }", "SB5271")]
    [TestCase("\"approvers\": { \"functionaries\": [\"keys/approver0.pub\"], \"signers\": 1 }", "SB5235")]
    public void A_bad_rebuilders_or_approvers_entry_is_refused_with_its_code_and_no_layout(string entry, string code)
    {
        File.WriteAllText(Path.Combine(_dir, "roles.json"), $$"""
            { "_type": "securebuild-roles/v1", "layout_owners": { "functionaries": ["keys/owner.pub"] },
              "roles": { "builder": { "functionaries": ["keys/builder.pub"] } }, "steps": { "compile": "builder", "pack": "builder" }, {{entry}} }
            """);
        File.Delete(Path.Combine(_dir, "root.layout"));
        var r = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "root.layout");
        Assert.That(r.Code, Is.EqualTo(2), r.Stdout);
        Assert.That(r.Stderr, Does.Contain(code));
        Assert.That(File.Exists(Path.Combine(_dir, "root.layout")), Is.False);
    }

    [Test]
    public void Rebuilders_without_a_pack_step_are_refused()
    {
        File.Delete(Path.Combine(Links, LinkFile.FileName("pack", Builder.KeyId)));
        File.Delete(Path.Combine(_dir, "root.layout"));
        var r = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "root.layout");
        Assert.That(r.Code, Is.EqualTo(2), r.Stdout);
        Assert.That(r.Stderr, Does.Contain("SB5270"));
    }

    [Test]
    public void Rebuild_and_approval_links_in_the_link_directory_are_not_taken_for_build_steps()
    {
        Rebuild(Rebuilders[0], "the package the builder packed");
        Approve(0);
        File.Delete(Path.Combine(_dir, "root.layout"));
        var r = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "root.layout");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
        var layout = Layout.FromJson(Metablock.Load(Path.Combine(_dir, "root.layout")).Signed);
        Assert.That(layout.Steps.Select(s => s.Name), Is.EqualTo(new[] { "compile", "pack", "rebuild", "release" }));
    }
}
