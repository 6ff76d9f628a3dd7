using Microsoft.Build.Framework;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;
using SecureBuild.Tasks.Tests.Infrastructure;
using SecureBuild.TestSupport;
using SecureBuild.TestSupport.Sigstore;
using SecureBuild.TestSupport.Spiffe;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// RecordStepProducts with SecureBuildSigning=spiffe: the provenance bundle is signed with the workload's X.509-SVID
/// (its chain in the bundle), and an SVID that cannot sign fails the step with its SB code and writes no bundle.
/// </summary>
public sealed class SpiffeSigningTaskTests : TaskTestBase
{
    private const string Builder = "spiffe://ci.example/builder/linux";
    private static readonly SvidTestPki Pki = SvidTestPki.Create("ci.example");

    private static string SigstoreTestData => RepositoryRoot.Combine("tests/SecureBuild.Attestation.Tests/TestData/sigstore");

    private string Bundle => Path.Combine(LinkDir, "compile.provenance.sigstore.json");

    private RecordStepProducts Step(FakeBuildEngine engine, params ITaskItem[] settings) =>
        SignedCompileStep(engine, new[] { Setting("Signing", "spiffe") }.Concat(settings).ToArray());

    private ITaskItem[] SvidFiles(TimeSpan lifetime)
    {
        var (chain, key, bundle) = Pki.WriteSvid(Dir.Path("svid"), Builder, lifetime);
        return new[] { Setting("SvidFile", chain), Setting("SvidKeyFile", key), Setting("SvidBundleFile", bundle) };
    }

    [Test]
    public void The_provenance_is_signed_with_the_svid_and_verifies_as_the_builder()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, SvidFiles(TimeSpan.FromHours(1))).Execute(), Is.True, engine.Log);
        Assert.That(engine.Log, Does.Contain("signed with the X.509-SVID of " + Builder));

        var bundle = SigstoreBundle.Load(Bundle);
        Assert.That(bundle.MaterialKind, Is.EqualTo(VerificationMaterialKind.X509CertificateChain));
        var trust = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal) { ["ci.example"] = new[] { Pki.Ca } };
        var verified = SvidSignatures.Verify(bundle, trust, DateTimeOffset.UtcNow, new SvidPolicy { AllowedIds = new[] { SpiffePattern.Parse("spiffe://ci.example/builder/*") } });
        Assert.That(verified.Id.ToString(), Is.EqualTo(Builder));
        Assert.That(verified.Envelope!.PayloadType, Is.EqualTo("application/vnd.in-toto+json"));
    }

    [Test]
    public void The_link_is_signed_with_the_svid_carrying_its_chain_and_a_layout_naming_the_spiffe_id_accepts_it()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, SvidFiles(TimeSpan.FromHours(1))).Execute(), Is.True, engine.Log);
        var linkFile = Directory.GetFiles(LinkDir, "compile.*.link").Single();
        var signature = Core.InToto.Metablock.Load(linkFile).Signatures.Single();
        var chain = SvidCertificates.ReadCertificates(System.Text.Encoding.UTF8.GetBytes(signature.Cert!), "cert");
        Assert.That(SvidVerifier.UriSans(chain[0]), Is.EqualTo(new[] { Builder }));

        var owner = Core.Crypto.SigningKey.Generate(Core.Crypto.KeyType.Ed25519);
        var layout = new Core.InToto.Layout { Expires = DateTimeOffset.UtcNow.AddDays(1) };
        layout.AddRootCa(Core.InToto.LayoutCertificate.From(Pki.Ca));
        layout.Steps.Add(new Core.InToto.Step("compile")
        {
            CertConstraints = { Core.InToto.CertificateConstraint.ForSpiffeIds(new[] { "spiffe://ci.example/builder/*" }) },
            ExpectedMaterials = { new[] { "ALLOW", "*" } },
            ExpectedProducts = { new[] { "ALLOW", "*" } },
        });
        var block = new Core.InToto.Metablock(layout.ToJson());
        block.Sign(owner);
        string layoutFile = Dir.Path("root.layout");
        block.Save(layoutFile);
        var verifier = new Core.InToto.Verification.LayoutVerifier(new Core.InToto.Verification.LayoutVerifierOptions { LinkDirectory = LinkDir, WorkingDirectory = Dir.Path("."), PersistInspectionLinks = false });
        var result = verifier.Verify(layoutFile, new[] { owner.Public });
        Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures.Select(f => f.Message).Concat(result.DroppedLinks.Select(d => d.Message))));
        Assert.That(result.PerformedBy["compile"], Is.EqualTo(new[] { Builder }));

        // The next build signs with a new SVID (a new key, so a new file name): the earlier link is removed, or the
        // verifier could take it for this build's.
        engine = new FakeBuildEngine();
        Assert.That(Step(engine, SvidFiles(TimeSpan.FromHours(1))).Execute(), Is.True, engine.Log);
        var again = Directory.GetFiles(LinkDir, "compile.*.link").Single();
        Assert.That(again, Is.Not.EqualTo(linkFile));
    }

    [Test]
    public void A_long_lived_svid_fails_the_step_and_writes_no_bundle()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, SvidFiles(TimeSpan.FromDays(365))).Execute(), Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { SvidException.NotShortLived }));
        Assert.That(engine.Errors.Single().Message, Does.StartWith("compile: SPIFFE signing failed:"));
        Assert.That(File.Exists(Bundle), Is.False);
    }

    [Test]
    public void Some_but_not_all_svid_files_is_SB5234_naming_the_missing_one()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, SvidFiles(TimeSpan.FromHours(1)).Take(2).ToArray()).Execute(), Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { SvidException.SigningSettings }));
        Assert.That(engine.Errors.Single().Message, Does.Contain("missing: SecureBuildSvidBundleFile"));
    }

    [Test]
    public void With_a_timestamp_url_the_svid_bundle_carries_a_timestamp_that_dates_it()
    {
        using var standIn = SigstoreStandIn.Start(SigstoreTestData);
        var engine = new FakeBuildEngine();
        var settings = SvidFiles(TimeSpan.FromHours(1)).Append(Setting("TimestampUrl", standIn.TimestampUrl)).Append(Setting("TrustedRoot", standIn.TrustedRootPath));
        Assert.That(Step(engine, settings.ToArray()).Execute(), Is.True, engine.Log);
        Assert.That(engine.Log, Does.Contain("timestamped by " + standIn.Url));

        var bundle = SigstoreBundle.Load(Bundle);
        Assert.That(bundle.Rfc3161Timestamps, Has.Count.EqualTo(1));
        var trust = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal) { ["ci.example"] = new[] { Pki.Ca } };
        var tsas = SigstoreTrustedRoot.Load(standIn.TrustedRootPath).TimestampAuthorities;
        var verified = SvidSignatures.Verify(bundle, trust, DateTimeOffset.UtcNow.AddDays(1), new SvidPolicy(), null, tsas);
        Assert.That(verified.Timestamped, Is.True, "a day later, the TSA's time dates the signature");
    }

    [Test]
    public void A_trusted_root_without_the_timestamp_authority_fails_the_step_with_SB5302_and_no_bundle()
    {
        using var standIn = SigstoreStandIn.Start(SigstoreTestData);
        var root = standIn.TrustedRoot();
        root["timestampAuthorities"] = new Core.Json.JsonList();
        var engine = new FakeBuildEngine();
        var settings = SvidFiles(TimeSpan.FromHours(1)).Append(Setting("TimestampUrl", standIn.TimestampUrl)).Append(Setting("TrustedRoot", standIn.WriteTrustedRoot(root, "no-tsa.json")));
        Assert.That(Step(engine, settings.ToArray()).Execute(), Is.False, engine.Log);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { SvidException.TimestampSelfCheck }));
        Assert.That(engine.Errors.Single().Message, Does.Contain("SecureBuildTrustedRoot"));
        Assert.That(File.Exists(Bundle), Is.False);
    }

    [Test]
    public void No_workload_api_listening_is_SB5231_and_no_bundle()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, Setting("SpiffeEndpoint", "unix://" + Dir.Path("no-agent.sock"))).Execute(), Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { SvidException.WorkloadApi }));
        Assert.That(File.Exists(Bundle), Is.False);
    }
}
