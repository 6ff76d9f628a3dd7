using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// `securebuild layout new --roles FILE`: a roles file (securebuild-roles/v1) compiled into a layout whose steps
/// carry their role's functionaries and threshold, signed only by layout owners; the layout verifies with the links
/// of the role's functionaries and fails when a step's links come from outside its role.
/// </summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory
public class LayoutRolesCliTests
{
    private static readonly SigningKey Builder = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Packager1 = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Packager2 = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Stranger = SigningKey.Generate(KeyType.Ed25519);
    private string _dir = "";

    private const string Roles = """
        {
          "_type": "securebuild-roles/v1",
          "layout_owners": { "functionaries": ["keys/owner.pub"], "threshold": 1 },
          "roles": {
            "builder": { "functionaries": ["keys/builder.pub"] },
            "packager": { "functionaries": ["keys/packager1.pub", "keys/packager2.pub"], "threshold": 2 }
          },
          "steps": { "compile*": "builder", "pack": "packager" }
        }
        """;

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("layout-roles");
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        foreach (var (name, key) in new[] { ("builder", Builder), ("packager1", Packager1), ("packager2", Packager2), ("owner", Owner), ("stranger", Stranger) })
        {
            File.WriteAllText(Path.Combine(_dir, "keys", name + ".pub"), key.ExportPublic());
            File.WriteAllText(Path.Combine(_dir, "keys", name + ".key"), key.ExportPrivate());
        }

        File.WriteAllText(Path.Combine(_dir, "roles.json"), Roles);
        WriteLinks(Builder, Packager1, Packager2);
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private static Dictionary<string, string> Digest(string name) => new() { ["sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name))).ToLowerInvariant() };

    private string Links => Path.Combine(_dir, "links");

    private void WriteLinks(SigningKey compiler, params SigningKey[] packagers)
    {
        if (Directory.Exists(Links))
        {
            Directory.Delete(Links, recursive: true);
        }

        var compile = new Link("compile") { Command = new[] { "dotnet", "build" } };
        compile.Materials["App/Code.cs"] = Digest("App/Code.cs");
        compile.Products["App/bin/App.dll"] = Digest("App/bin/App.dll");
        var pack = new Link("pack") { Command = new[] { "dotnet", "pack" } };
        pack.Materials["App/bin/App.dll"] = Digest("App/bin/App.dll");
        pack.Products["App/bin/App.1.0.0.nupkg"] = Digest("App/bin/App.1.0.0.nupkg");
        LinkFile.WriteSigned(compile, compiler, Links);
        foreach (var packager in packagers)
        {
            LinkFile.WriteSigned(pack, packager, Links);
        }
    }

    private (int Code, string Stdout, string Stderr) Run(params string[] args) => Cli.Run(_dir, args);

    private (int Code, string Stdout, string Stderr) Verify() =>
        Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links", "--roles", "roles.json");

    [Test]
    public void The_roles_give_each_step_its_functionaries_and_threshold_and_the_layout_verifies()
    {
        var (code, stdout, stderr) = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain($"compile: role builder (1 of keys/builder.pub ({Builder.KeyId.Substring(0, 8)}))"));
        Assert.That(stdout, Does.Contain("pack: role packager (2 of keys/packager"));

        var layout = Layout.FromJson(Metablock.Load(Path.Combine(_dir, "app.layout")).Signed);
        var pack = layout.Steps.Single(s => s.Name == "pack");
        Assert.That(pack.Threshold, Is.EqualTo(2));
        Assert.That(pack.PubKeys, Is.EquivalentTo(new[] { Packager1.KeyId, Packager2.KeyId }));
        Assert.That(layout.Steps.Single(s => s.Name == "compile").PubKeys, Is.EqualTo(new[] { Builder.KeyId }));
        Assert.That(layout.Keys.Keys, Is.EquivalentTo(new[] { Builder.KeyId, Packager1.KeyId, Packager2.KeyId }));

        var verified = Verify();
        Assert.That(verified.Code, Is.EqualTo(0), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stdout, Does.Contain($"compile: role builder, performed by keys/builder.pub ({Builder.KeyId.Substring(0, 8)})"));
        Assert.That(verified.Stdout, Does.Contain("pack: role packager, performed by keys/packager").And.Contain(Packager1.KeyId.Substring(0, 8)).And.Contain(Packager2.KeyId.Substring(0, 8)));

        // The packager's threshold is 2: one packager's link is not enough.
        WriteLinks(Builder, Packager1);
        verified = Verify();
        Assert.That(verified.Code, Is.Not.EqualTo(0), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stdout + verified.Stderr, Does.Contain("pack"));

        // A packager's key compiling is outside the builder role.
        WriteLinks(Packager1, Packager1, Packager2);
        verified = Verify();
        Assert.That(verified.Code, Is.Not.EqualTo(0), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stderr, Does.Contain("step:      compile"));
        Assert.That(verified.Stderr, Does.Contain(Packager1.KeyId.Substring(0, 8)), "the key that signed outside the role is named");
        Assert.That(verified.Stderr, Does.Contain("role:      builder (1 of keys/builder.pub"), "and the role with its functionaries");
    }

    [Test]
    public void Only_layout_owners_sign_and_as_many_as_their_threshold()
    {
        var (code, _, stderr) = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/stranger.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB5237").And.Contain(Stranger.KeyId));
        Assert.That(File.Exists(Path.Combine(_dir, "app.layout")), Is.False);

        (code, _, stderr) = Run("layout", "new", "--roles", "roles.json", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB5237").And.Contain("threshold is 1"));
    }

    [TestCase("{\"_type\": \"securebuild-roles/v2\"}", "SB5235")]
    [TestCase("not json", "SB5235")]
    [TestCase("{\"_type\":\"securebuild-roles/v1\",\"layout_owners\":{\"functionaries\":[\"keys/owner.pub\"]},\"roles\":{\"builder\":{\"functionaries\":[\"keys/builder.pub\"],\"threshold\":2}},\"steps\":{\"*\":\"builder\"}}", "SB5235")]
    [TestCase("{\"_type\":\"securebuild-roles/v1\",\"layout_owners\":{\"functionaries\":[\"keys/owner.pub\"]},\"roles\":{\"builder\":{\"functionaries\":[\"keys/missing.pub\"]}},\"steps\":{\"*\":\"builder\"}}", "SB5235")]
    [TestCase("{\"_type\":\"securebuild-roles/v1\",\"layout_owners\":{\"functionaries\":[\"keys/owner.pub\"]},\"roles\":{\"builder\":{\"functionaries\":[\"keys/builder.pub\"]}},\"steps\":{\"*\":\"nobody\"}}", "SB5235")]
    [TestCase("{\"_type\":\"securebuild-roles/v1\",\"layout_owners\":{\"functionaries\":[\"keys/owner.pub\"]},\"roles\":{\"builder\":{\"functionaries\":[\"keys/builder.pub\"]}},\"steps\":{\"compile\":\"builder\"}}", "SB5236")]
    [TestCase("{\"_type\":\"securebuild-roles/v1\",\"layout_owners\":{\"functionaries\":[\"keys/owner.pub\"]},\"roles\":{\"builder\":{\"functionaries\":[\"spiffe://ci.example/builder\"]}},\"steps\":{\"*\":\"builder\"}}", "SB5238")]
    public void A_bad_roles_file_is_refused_with_its_code_and_no_layout(string roles, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "roles.json"), roles);
        var (code, _, stderr) = Run("layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain(expected));
        Assert.That(File.Exists(Path.Combine(_dir, "app.layout")), Is.False);
    }

    [Test]
    public void Roles_and_functionary_keys_exclude_each_other()
    {
        var (code, _, stderr) = Run("layout", "new", "--roles", "roles.json", "--functionary", "keys/builder.pub", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("either"));
    }
}
