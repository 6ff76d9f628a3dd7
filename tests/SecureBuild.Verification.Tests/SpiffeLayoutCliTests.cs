using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport.Spiffe;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// `securebuild layout new --functionary-spiffe ID --spiffe-bundle B` and roles files naming SPIFFE IDs: the layout
/// carries rootcas and cert_constraints, `securebuild verify` accepts links signed with an X.509-SVID of an allowed ID
/// and `verify --roles` names the SPIFFE ID that performed each step.
/// </summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory
public class SpiffeLayoutCliTests
{
    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SvidTestPki Ci = SvidTestPki.Create("ci.example");
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("spiffe-layout");
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        File.WriteAllText(Path.Combine(_dir, "keys", "owner.pub"), Owner.ExportPublic());
        File.WriteAllText(Path.Combine(_dir, "keys", "owner.key"), Owner.ExportPrivate());
        File.WriteAllText(Path.Combine(_dir, "bundle.pem"), SvidCertificates.ToPem(new[] { Ci.Ca }));
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private string Links => Path.Combine(_dir, "links");

    private (int Code, string Stdout, string Stderr) Run(params string[] args) => Cli.Run(_dir, args);

    /// <summary>A compile link signed with a fresh SVID of <paramref name="spiffeId"/> (the chain in "cert").</summary>
    private void WriteLink(string spiffeId)
    {
        if (Directory.Exists(Links))
        {
            Directory.Delete(Links, recursive: true);
        }

        var (cert, keyDer) = Ci.Issue(spiffeId, TimeSpan.FromHours(1));
        var compile = new Link("compile") { Command = new[] { "dotnet", "build" } };
        compile.Materials["App/Code.cs"] = new Dictionary<string, string> { ["sha256"] = new string('1', 64) };
        compile.Products["App/bin/App.dll"] = new Dictionary<string, string> { ["sha256"] = new string('2', 64) };
        LinkFile.WriteSigned(compile, SigningKey.Parse(SvidCertificates.PrivateKeyPem(keyDer), "svid.key"), Links, SvidCertificates.ToPem(new[] { cert }));
    }

    [Test]
    public void A_layout_for_spiffe_functionaries_accepts_their_svid_signed_links_and_refuses_others()
    {
        WriteLink("spiffe://ci.example/builder/linux");
        var (code, stdout, stderr) = Run("layout", "new", "--functionary-spiffe", "spiffe://ci.example/builder/*", "--spiffe-bundle", "bundle.pem",
            "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.That(stderr, Does.Not.Contain("SB3016"), "an SVID-signed link is signed by a functionary");

        var layout = Layout.FromJson(Metablock.Load(Path.Combine(_dir, "app.layout")).Signed);
        Assert.That(layout.RootCas.Values.Single().Certificate, Is.EqualTo(Ci.Ca));
        Assert.That(layout.Steps.Single().CertConstraints.Single().Uris, Is.EqualTo(new[] { "spiffe://ci.example/builder/*" }));
        Assert.That(layout.Steps.Single().PubKeys, Is.Empty);

        var verified = Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links");
        Assert.That(verified.Code, Is.EqualTo(0), verified.Stdout + verified.Stderr);

        WriteLink("spiffe://ci.example/tester/linux");
        verified = Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links");
        Assert.That(verified.Code, Is.EqualTo(1), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stderr, Does.Contain("spiffe://ci.example/tester/linux").And.Contain("uris: spiffe://ci.example/builder/*"));

        // Signed an hour ago, checked as if two hours later: the SVID had expired by then.
        WriteLink("spiffe://ci.example/builder/linux");
        verified = Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links", "--svid-signed-at", DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"));
        Assert.That(verified.Code, Is.EqualTo(1), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stderr, Does.Contain("SB5228"));
    }

    [Test]
    public void A_roles_file_names_spiffe_ids_and_verify_reports_the_id_that_performed_the_step()
    {
        WriteLink("spiffe://ci.example/builder/linux");
        File.WriteAllText(Path.Combine(_dir, "roles.json"), """
            {
              "_type": "securebuild-roles/v1",
              "layout_owners": { "functionaries": ["keys/owner.pub"] },
              "roles": { "builder": { "functionaries": ["spiffe://ci.example/builder/*"] } },
              "steps": { "compile*": "builder" }
            }
            """);
        var (code, stdout, stderr) = Run("layout", "new", "--roles", "roles.json", "--spiffe-bundle", "bundle.pem", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(code, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.Contain("compile: role builder (1 of spiffe://ci.example/builder/*)"));

        var verified = Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links", "--roles", "roles.json");
        Assert.That(verified.Code, Is.EqualTo(0), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stdout, Does.Contain("compile: role builder, performed by spiffe://ci.example/builder/linux"));

        WriteLink("spiffe://ci.example/intruder/x");
        verified = Run("verify", "-l", "app.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", "links", "--roles", "roles.json");
        Assert.That(verified.Code, Is.EqualTo(1), verified.Stdout + verified.Stderr);
        Assert.That(verified.Stderr, Does.Contain("outside the role").And.Contain("the SVID of spiffe://ci.example/intruder/x"));
    }

    [TestCase("--functionary-spiffe", "spiffe://ci.example/builder/*", "SB5238")]
    [TestCase("--functionary-spiffe", "https://ci.example/builder", "SB5241")]
    public void Spiffe_functionaries_without_a_bundle_or_with_a_bad_id_are_refused(string option, string value, string code)
    {
        WriteLink("spiffe://ci.example/builder/linux");
        var result = Run("layout", "new", option, value, "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(result.Code, Is.EqualTo(2), result.Stderr);
        Assert.That(result.Stderr, Does.Contain(code));
        Assert.That(File.Exists(Path.Combine(_dir, "app.layout")), Is.False);
    }

    [Test]
    public void A_bundle_of_another_trust_domain_is_refused()
    {
        WriteLink("spiffe://ci.example/builder/linux");
        File.WriteAllText(Path.Combine(_dir, "other.pem"), SvidCertificates.ToPem(new[] { SvidTestPki.Create("other.example").Ca }));
        var result = Run("layout", "new", "--functionary-spiffe", "spiffe://ci.example/builder/*", "--spiffe-bundle", "other.pem", "--sign", "keys/owner.key", "--link-dir", "links", "-o", "app.layout");
        Assert.That(result.Code, Is.EqualTo(2), result.Stderr);
        Assert.That(result.Stderr, Does.Contain("SB5238").And.Contain("other.example"));
    }
}
