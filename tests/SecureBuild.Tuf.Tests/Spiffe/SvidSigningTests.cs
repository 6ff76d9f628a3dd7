using System.Text;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>
/// Signing with an X.509-SVID (SvidSigner) and verifying such signatures (SvidSignatures, `svid verify-signature`):
/// the chain travels in the bundle's x509CertificateChain, and verification applies the SPIFFE rules of
/// `svid verify` at the signing time, then the signature with the leaf's key.
/// </summary>
public class SvidSigningTests
{
    private const string Workload = "spiffe://example.org/ci/build";
    private static readonly byte[] Statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\"}");
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = ScratchDirectory.Create("svid-sign");

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_dir);

    private static Dictionary<string, IReadOnlyList<X509Certificate>> Trust(string domain = "example.org") =>
        new(StringComparer.Ordinal) { [domain] = SvidCertificates.ReadBundle(TestPki.BundleDer, "bundle") };

    /// <summary>A fresh SVID as the files `svid fetch` writes: (svid.pem, svid.key, bundle.pem).</summary>
    private (string Chain, string Key, string Bundle) Files(string id = Workload, TimeSpan? lifetime = null, byte[]? otherKey = null, int rsaBits = 0)
    {
        var now = DateTimeOffset.UtcNow;
        var (cert, key) = TestPki.IssueLeaf(id, now.AddMinutes(-1), now + (lifetime ?? TimeSpan.FromHours(1)), rsaBits);
        string chain = Path.Combine(_dir, "svid.pem"), keyFile = Path.Combine(_dir, "svid.key"), bundle = Path.Combine(_dir, "bundle.pem");
        File.WriteAllText(chain, SvidCertificates.ToPem(new[] { cert }));
        File.WriteAllText(keyFile, SvidCertificates.PrivateKeyPem(otherKey ?? key));
        File.WriteAllBytes(bundle, TestPki.BundleDer);
        return (chain, keyFile, bundle);
    }

    private SvidSigner Signer(string id = Workload)
    {
        var (chain, key, bundle) = Files(id);
        return SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow);
    }

    [Test]
    public void A_dsse_signature_carries_the_chain_and_verifies_as_the_workloads()
    {
        var signer = Signer();
        Assert.That(signer.Id.ToString(), Is.EqualTo(Workload));
        var bundle = SigstoreBundle.Parse(signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement).ToUtf8Json());

        Assert.That(bundle.MaterialKind, Is.EqualTo(VerificationMaterialKind.X509CertificateChain));
        Assert.That(bundle.Certificates[0], Is.EqualTo(signer.Chain[0].GetEncoded()));
        var verified = SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow, new SvidPolicy { AllowedIds = new[] { SpiffePattern.Parse("spiffe://example.org/ci/*") } });
        Assert.That(verified.Id.ToString(), Is.EqualTo(Workload));
        Assert.That(verified.Envelope!.Payload, Is.EqualTo(Statement));
    }

    [Test]
    public void An_artifact_signature_verifies_only_with_the_same_bytes()
    {
        var bundle = Signer().SignArtifact(Statement);
        Assert.That(SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow, new SvidPolicy(), Statement).Id.ToString(), Is.EqualTo(Workload));
        var changed = Statement.Concat(new byte[] { 0x20 }).ToArray();
        Assert.That(() => SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow, new SvidPolicy(), changed),
            Throws.TypeOf<SvidException>().With.Property("Code").EqualTo(SvidException.Signature));
        Assert.That(() => SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow, new SvidPolicy()),
            Throws.TypeOf<SvidException>().With.Property("Code").EqualTo(SvidException.Unreadable));
    }

    [Test]
    public void An_altered_payload_is_refused()
    {
        var bundle = Signer().SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var json = bundle.ToJson();
        var envelope = (Core.Json.JsonMap)json["dsseEnvelope"]!;
        envelope["payload"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"_type\":\"forged\"}"));
        var forged = SigstoreBundle.Parse(Core.Json.JsonText.WriteUtf8(json, indented: false));
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(forged, Trust(), DateTimeOffset.UtcNow, new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.Signature));
        Assert.That(e.Message, Does.Contain(Workload));
    }

    [Test]
    public void The_signature_must_be_checked_inside_the_svids_validity()
    {
        var bundle = Signer().SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow.AddHours(2), new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotValidAt));
    }

    [Test]
    public void Another_workloads_signature_is_refused_naming_it()
    {
        var bundle = Signer("spiffe://example.org/dev/laptop").SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow,
            new SvidPolicy { AllowedIds = new[] { SpiffePattern.Parse("spiffe://example.org/ci/*") } }));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotAuthorized));
        Assert.That(e.Message, Does.Contain("spiffe://example.org/dev/laptop").And.Contain("spiffe://example.org/ci/*"));
    }

    [Test]
    public void A_signature_is_checked_only_against_its_own_trust_domains_bundle()
    {
        var bundle = Signer().SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust("other.example"), DateTimeOffset.UtcNow, new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.TrustDomainMismatch));
    }

    [Test]
    public void A_key_signed_bundle_is_not_an_svid_signature()
    {
        var bundle = SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, Statement, SigningKey.Generate(KeyType.Ecdsa));
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), DateTimeOffset.UtcNow, new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.Signature));
    }

    [Test]
    public void A_long_lived_svid_never_signs()
    {
        var (chain, key, bundle) = Files(lifetime: TimeSpan.FromDays(365));
        var e = Assert.Throws<SvidException>(() => SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotShortLived));
    }

    [Test]
    public void A_key_that_is_not_the_svids_never_signs()
    {
        var (_, otherKey) = TestPki.IssueLeaf(Workload, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        var (chain, key, bundle) = Files(otherKey: otherKey);
        var e = Assert.Throws<SvidException>(() => SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow));
        Assert.That(e!.Code, Is.EqualTo(SvidException.SigningKey));
    }

    [Test]
    public void An_rsa_svid_signs_pkcs1_v15_sha256_which_openssl_verifies_with_the_certificates_key()
    {
        var (chain, key, bundle) = Files(rsaBits: 2048);
        var signer = SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow);
        var dsse = SigstoreBundle.Parse(signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement).ToUtf8Json());
        Assert.That(SvidSignatures.Verify(dsse, Trust(), DateTimeOffset.UtcNow, new SvidPolicy()).Id.ToString(), Is.EqualTo(Workload));
        var artifact = signer.SignArtifact(Statement);
        Assert.That(SvidSignatures.Verify(artifact, Trust(), DateTimeOffset.UtcNow, new SvidPolicy(), Statement).Id.ToString(), Is.EqualTo(Workload));

        // The oracle: openssl's default RSA verification is PKCS#1 v1.5, what cosign and sigstore-go check for an RSA certificate.
        string pub = Path.Combine(_dir, "leaf.pub.pem"), sig = Path.Combine(_dir, "artifact.sig"), data = Path.Combine(_dir, "artifact");
        File.WriteAllText(pub, "-----BEGIN PUBLIC KEY-----\n" + Convert.ToBase64String(signer.Chain[0].CertificateStructure.SubjectPublicKeyInfo.GetEncoded(), Base64FormattingOptions.InsertLineBreaks) + "\n-----END PUBLIC KEY-----\n");
        File.WriteAllBytes(sig, artifact.MessageSignature!.Signature);
        File.WriteAllBytes(data, Statement);
        var openssl = Run.Process("openssl", new[] { "dgst", "-sha256", "-verify", pub, "-signature", sig, data }, _dir);
        Assert.That(openssl.ExitCode, Is.EqualTo(0), openssl.Output);
        Assert.That(openssl.Output, Does.Contain("Verified OK"));
    }

    [Test]
    public void An_rsa_svid_shorter_than_2048_bits_neither_signs_nor_verifies()
    {
        var (chain, key, bundle) = Files(rsaBits: 1024);
        var e = Assert.Throws<SvidException>(() => SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow));
        Assert.That(e!.Code, Is.EqualTo(SvidException.WeakRsaKey));
        Assert.That(e.Message, Does.Contain("RSA-1024").And.Contain("2048"));

        var leaf = SvidCertificates.ReadCertificates(File.ReadAllBytes(chain), chain);
        e = Assert.Throws<SvidException>(() => SvidVerifier.Verify(leaf, Trust(), DateTimeOffset.UtcNow, new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.WeakRsaKey));
        var (code, output) = SigstoreTufTests.Cli("svid", "verify", chain, "--bundle", bundle);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5300").And.Contain("weak-rsa-key"));
    }

    [Test]
    public void A_missing_svid_file_is_unreadable()
    {
        var (chain, key, _) = Files();
        var e = Assert.Throws<SvidException>(() => SvidSigner.FromFiles(chain, key, Path.Combine(_dir, "missing.pem"), new SvidPolicy(), DateTimeOffset.UtcNow));
        Assert.That(e!.Code, Is.EqualTo(SvidException.Unreadable));
    }

    [Test]
    public void The_workload_apis_svid_signs_and_its_announced_id_must_be_the_certificates()
    {
        var now = DateTimeOffset.UtcNow;
        var (cert, key) = TestPki.IssueLeaf(Workload, now.AddMinutes(-1), now.AddHours(1));
        var signer = SvidSigner.FromWorkloadApi(new WorkloadSvid(Workload, cert.GetEncoded(), key, TestPki.BundleDer, ""), new SvidPolicy(), now);
        Assert.That(SvidSignatures.Verify(signer.SignDsse("text/plain", Statement), Trust(), now, new SvidPolicy()).Id.ToString(), Is.EqualTo(Workload));

        var e = Assert.Throws<SvidException>(() => SvidSigner.FromWorkloadApi(new WorkloadSvid("spiffe://example.org/other", cert.GetEncoded(), key, TestPki.BundleDer, ""), new SvidPolicy(), now));
        Assert.That(e!.Code, Is.EqualTo(SvidException.WorkloadApi));
    }

    [Test]
    public void Svid_verify_signature_exits_0_1_2()
    {
        var signer = Signer();
        string signed = Path.Combine(_dir, "statement.sigstore.json");
        SigstoreBundleWriter.Save(signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement), signed);
        string bundle = Path.Combine(_dir, "bundle.pem");

        var (code, output) = SigstoreTufTests.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--spiffe-id", "spiffe://example.org/ci/*");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("signed by " + Workload));

        (code, output) = SigstoreTufTests.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--spiffe-id", "spiffe://example.org/release/*");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("refused (spiffe-id-not-authorized)").And.Contain(Workload));

        (code, output) = SigstoreTufTests.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--at", DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5228"));

        File.WriteAllText(signed, "{\"mediaType\":");
        (code, output) = SigstoreTufTests.Cli("svid", "verify-signature", signed, "--bundle", bundle);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("SB5220"));
    }

    [Test]
    public void Provenance_verify_checks_an_svid_signed_provenance_and_names_the_signer_or_both_ids()
    {
        string artifact = Path.Combine(_dir, "App.dll");
        File.WriteAllText(artifact, "assembly");
        string statement = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"App.dll\",\"digest\":{\"sha256\":\""
            + Sha256Hex.OfFile(artifact) + "\"}}],\"predicateType\":\"" + Core.Provenance.ProvenanceVerifier.SlsaProvenanceV1
            + "\",\"predicate\":{\"buildDefinition\":{},\"runDetails\":{\"builder\":{\"id\":\"https://ci.example/builder\"}}}}";
        string provenance = Path.Combine(_dir, "compile.provenance.sigstore.json");
        SigstoreBundleWriter.Save(Signer().SignDsse(DsseEnvelope.InTotoPayloadType, Encoding.UTF8.GetBytes(statement)), provenance);
        string bundle = Path.Combine(_dir, "bundle.pem");

        var (code, output) = SigstoreTufTests.Cli("provenance", "verify", "--artifact", artifact, "--provenance", provenance,
            "--spiffe-bundle", bundle, "--spiffe-id", "spiffe://example.org/ci/*", "--builder-id", "https://ci.example/builder");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("signed by " + Workload));

        (code, output) = SigstoreTufTests.Cli("provenance", "verify", "--artifact", artifact, "--provenance", provenance,
            "--spiffe-bundle", bundle, "--spiffe-id", "spiffe://example.org/release/signer");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5230").And.Contain(Workload).And.Contain("spiffe://example.org/release/signer"));

        File.WriteAllText(artifact, "another assembly");
        (code, output) = SigstoreTufTests.Cli("provenance", "verify", "--artifact", artifact, "--provenance", provenance, "--spiffe-bundle", bundle);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("not a subject"));
    }
}
