using System.Text;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;
using SecureBuild.Core.Transparency;
using SecureBuild.TestSupport.Sigstore;
using SecureBuild.TestSupport.Spiffe;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>
/// SVID signatures with an RFC 3161 timestamp from the local TSA stand-in (the keyless tests' one): a verifier that
/// trusts the TSA (a trusted root's timestampAuthorities) checks the SVID at the TSA's time, so a check long after
/// the short-lived SVID expired needs no --at; a timestamp that does not verify, or a time outside the SVID's
/// validity, is refused; without a timestamp the time given is used and a refusal says how to give one.
/// </summary>
public sealed class SvidTimestampTests
{
    private const string Workload = "spiffe://ci.example/builder/linux";
    private static readonly SvidTestPki Pki = SvidTestPki.Create("ci.example");
    private static readonly byte[] Statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\"}");
    private SigstoreStandIn _standIn = null!;
    private BoundedHttp _http = null!;
    private string _dir = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _standIn = SigstoreStandIn.Start(TestData.Sigstore);
        _http = new BoundedHttp(TimeSpan.FromSeconds(60));
        _dir = TestData.NewTempDir("sbsvidtsa");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _http?.Dispose();
        _standIn?.Dispose();
        TestData.TryDelete(_dir);
    }

    private static Dictionary<string, IReadOnlyList<X509Certificate>> Trust() =>
        new(StringComparer.Ordinal) { ["ci.example"] = new[] { Pki.Ca } };

    private IReadOnlyList<CertificateAuthorityInstance> Tsas() => SigstoreTrustedRoot.Load(_standIn.TrustedRootPath).TimestampAuthorities;

    private TimestampClient Tsa() => new(new Uri(_standIn.TimestampUrl), _http);

    /// <summary>A signer whose SVID is valid from <paramref name="signedAt"/> - 1 min for an hour, checked at <paramref name="signedAt"/>.</summary>
    private SvidSigner Signer(DateTimeOffset signedAt, bool timestamped = true, IReadOnlyList<CertificateAuthorityInstance>? selfCheck = null)
    {
        var (cert, key) = SvidTestPki.IssueLeaf(Pki.Ca, Pki.CaKey, Workload, signedAt.AddMinutes(-1), signedAt.AddHours(1));
        var signer = SvidSigner.Checked(new[] { cert }, Core.Crypto.SigningKey.Parse(SvidCertificates.PrivateKeyPem(key), "svid.key"), new[] { Pki.Ca }, null, new SvidPolicy(), signedAt);
        if (timestamped)
        {
            signer.UseTimestampAuthority(Tsa(), selfCheck);
        }

        return signer;
    }

    [Test]
    public void A_timestamped_svid_signature_is_checked_at_the_tsa_time_a_day_later_without_at()
    {
        var now = DateTimeOffset.UtcNow;
        var bundle = SigstoreBundle.Parse(Signer(now, selfCheck: Tsas()).SignDsse(DsseEnvelope.InTotoPayloadType, Statement).ToUtf8Json());
        Assert.That(bundle.Rfc3161Timestamps, Has.Count.EqualTo(1));

        var tomorrow = now.AddDays(1); // the SVID expired long before: only the TSA's time makes the check pass
        var verified = SvidSignatures.Verify(bundle, Trust(), tomorrow, new SvidPolicy(), null, Tsas());
        Assert.That(verified.Id.ToString(), Is.EqualTo(Workload));
        Assert.That(verified.Timestamped, Is.True);
        Assert.That(verified.SignedAt, Is.EqualTo(now).Within(TimeSpan.FromMinutes(5)));

        // Without trusted TSAs the time given is used, and the refusal says how to use the timestamp.
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), tomorrow, new SvidPolicy()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotValidAt));
        Assert.That(e.Message, Does.Contain("carries an RFC 3161 timestamp").And.Contain("--trusted-root"));
    }

    [Test]
    public void A_timestamped_artifact_signature_verifies_at_the_tsa_time()
    {
        var now = DateTimeOffset.UtcNow;
        var bundle = Signer(now).SignArtifact(Statement);
        var verified = SvidSignatures.Verify(bundle, Trust(), now.AddDays(2), new SvidPolicy(), Statement, Tsas());
        Assert.That(verified.Timestamped, Is.True);
    }

    [Test]
    public void A_timestamp_of_another_signature_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var signer = Signer(now);
        var first = signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var second = signer.SignDsse(DsseEnvelope.InTotoPayloadType, Encoding.UTF8.GetBytes("{\"_type\":\"other\"}"));
        var swapped = new SigstoreBundle(first.MediaType, first.MaterialKind, null, first.Certificates, first.TlogEntries, second.Rfc3161Timestamps, null, first.DsseEnvelope);

        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(swapped, Trust(), now, new SvidPolicy(), null, Tsas()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.Timestamp));
        Assert.That(e.Message, Does.Contain("message imprint"));
    }

    [Test]
    public void A_timestamp_from_an_untrusted_tsa_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var bundle = Signer(now).SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var root = _standIn.TrustedRoot();
        root["timestampAuthorities"] = new JsonList();
        var noTsa = SigstoreTrustedRoot.Load(_standIn.WriteTrustedRoot(root, "no-tsa.json")).TimestampAuthorities;

        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), now, new SvidPolicy(), null, noTsa));
        Assert.That(e!.Code, Is.EqualTo(SvidException.Timestamp));
        Assert.That(e.Message, Does.Contain("not a timestamp authority of the trusted root"));
    }

    [Test]
    public void A_tsa_time_outside_the_svids_validity_is_refused_and_never_signs_with_a_self_check()
    {
        // An SVID that expired 29 minutes ago (signed "as of" 90 minutes ago): the TSA's time, now, is after it.
        var then = DateTimeOffset.UtcNow.AddMinutes(-90);
        var bundle = Signer(then).SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), then, new SvidPolicy(), null, Tsas()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotValidAt));
        Assert.That(e.Message, Does.Contain("verified RFC 3161 timestamp"));

        var selfChecked = Signer(then, selfCheck: Tsas());
        e = Assert.Throws<SvidException>(() => selfChecked.SignDsse(DsseEnvelope.InTotoPayloadType, Statement));
        Assert.That(e!.Code, Is.EqualTo(SvidException.TimestampSelfCheck));
        Assert.That(e.Message, Does.Contain("SB5228"));
    }

    [Test]
    public void Without_a_timestamp_the_time_given_is_used_and_the_refusal_says_to_give_it()
    {
        var now = DateTimeOffset.UtcNow;
        var bundle = Signer(now, timestamped: false).SignDsse(DsseEnvelope.InTotoPayloadType, Statement);
        Assert.That(bundle.Rfc3161Timestamps, Is.Empty);
        Assert.That(SvidSignatures.Verify(bundle, Trust(), now, new SvidPolicy(), null, Tsas()).Timestamped, Is.False);

        var e = Assert.Throws<SvidException>(() => SvidSignatures.Verify(bundle, Trust(), now.AddDays(1), new SvidPolicy(), null, Tsas()));
        Assert.That(e!.Code, Is.EqualTo(SvidException.NotValidAt));
        Assert.That(e.Message, Does.Contain("carries no RFC 3161 timestamp").And.Contain("--at"));
    }

    [Test]
    public void Svid_verify_signature_and_provenance_verify_use_the_trusted_roots_tsa_instead_of_at()
    {
        string artifact = Path.Combine(_dir, "App.dll");
        File.WriteAllText(artifact, "assembly " + Guid.NewGuid());
        string statement = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"App.dll\",\"digest\":{\"sha256\":\""
            + Core.Crypto.Sha256Hex.OfFile(artifact) + "\"}}],\"predicateType\":\"" + Core.Provenance.ProvenanceVerifier.SlsaProvenanceV1
            + "\",\"predicate\":{\"buildDefinition\":{},\"runDetails\":{\"builder\":{\"id\":\"https://ci.example/builder\"}}}}";
        string signed = Path.Combine(_dir, "compile.provenance.sigstore.json");
        SigstoreBundleWriter.Save(Signer(DateTimeOffset.UtcNow).SignDsse(DsseEnvelope.InTotoPayloadType, Encoding.UTF8.GetBytes(statement)), signed);
        string bundle = Path.Combine(_dir, "bundle.pem");
        File.WriteAllText(bundle, SvidCertificates.ToPem(new[] { Pki.Ca }));
        string tomorrow = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (code, output, error) = TestData.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--trusted-root", _standIn.TrustedRootPath, "--at", tomorrow);
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("signed by " + Workload).And.Contain("RFC 3161 timestamp's verified time"));

        (code, output, error) = TestData.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--at", tomorrow);
        Assert.That(code, Is.EqualTo(1), output + error);
        Assert.That(error, Does.Contain("SB5228").And.Contain("--trusted-root"));

        (code, output, error) = TestData.Cli("provenance", "verify", "--artifact", artifact, "--provenance", signed,
            "--spiffe-bundle", bundle, "--spiffe-id", "spiffe://ci.example/builder/*", "--trusted-root", _standIn.TrustedRootPath);
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("signed by " + Workload).And.Contain("RFC 3161"));

        File.WriteAllText(Path.Combine(_dir, "broken-root.json"), "{");
        (code, output, error) = TestData.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--trusted-root", Path.Combine(_dir, "broken-root.json"));
        Assert.That(code, Is.EqualTo(2), output + error);
        Assert.That(error, Does.Contain("SB5220").And.Contain("--trusted-root"));
    }
}
