using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;
using SecureBuild.TestSupport.Sigstore;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>
/// Keyless signing against the local Fulcio/Rekor/TSA stand-in: certificates, log entries, timestamps, retries, and
/// the bundles checked by our verifier and by sigstore-js.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class KeylessSigningTests
{
    private SigstoreStandIn _standIn = null!;
    private string _dir = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _standIn = SigstoreStandIn.Start(TestData.Sigstore);
        _dir = TestData.NewTempDir("sbkeyless");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _standIn?.Dispose();
        TestData.TryDelete(_dir);
    }

    private KeylessSettings Settings(string? tsa = null, TransparencyLogMode mode = TransparencyLogMode.Required, string? trustedRoot = null) =>
        KeylessSettings.From(_standIn.Url, _standIn.Url, tsa, mode == TransparencyLogMode.Optional ? "optional" : "required", trustedRoot ?? _standIn.TrustedRootPath);

    private static IdentityToken Token() => IdentityToken.Parse(TestTokens.Make(), "test", DateTimeOffset.UtcNow);

    /// <summary>An artifact file and an in-toto statement naming it.</summary>
    private (string Artifact, byte[] Statement) Subject(string name)
    {
        string artifact = Path.Combine(_dir, name);
        File.WriteAllText(artifact, "artifact " + name + " " + Guid.NewGuid());
        string hex = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(artifact))).ToLowerInvariant();
        string statement = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"" + name + "\",\"digest\":{\"sha256\":\"" + hex + "\"}}],"
            + "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"buildDefinition\":{\"buildType\":\"https://example.com/t\",\"externalParameters\":{}},\"runDetails\":{\"builder\":{\"id\":\"https://example.com/b\"}}}}";
        return (artifact, Encoding.UTF8.GetBytes(statement));
    }

    private string Save(SigstoreBundle bundle, string name)
    {
        string path = Path.Combine(_dir, name);
        SigstoreBundleWriter.Save(bundle, path);
        return path;
    }

    [Test]
    public void A_keyless_DSSE_bundle_carries_the_certificate_and_a_log_entry_that_verify()
    {
        var (artifact, statement) = Subject("app.dll");
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(Settings(), Token(), http);
        var made = signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement);
        var bundle = SigstoreBundle.Parse(made.Bundle.ToUtf8Json());
        Assert.Multiple(() =>
        {
            Assert.That(made.Warning, Is.Null);
            Assert.That(bundle.MediaType, Is.EqualTo(SigstoreBundle.MediaTypeV03));
            Assert.That(bundle.MaterialKind, Is.EqualTo(VerificationMaterialKind.Certificate));
            Assert.That(bundle.TlogEntries, Has.Count.EqualTo(1));
            Assert.That(bundle.TlogEntries[0].Kind + "/" + bundle.TlogEntries[0].KindVersion, Is.EqualTo("dsse/0.0.1"));
            Assert.That(bundle.TlogEntries[0].SignedEntryTimestamp, Is.Not.Null);
            Assert.That(bundle.TlogEntries[0].InclusionProof!.Checkpoint, Is.Not.Null);
            Assert.That(signer.Certificate.Identities, Is.EqualTo(new[] { TestTokens.Workflow }));
            Assert.That(signer.Certificate.OidcIssuer, Is.EqualTo(TestTokens.GitHubIssuer));
            Assert.That(signer.RoundTrips, Is.EqualTo(2), "one Fulcio request and one Rekor upload");
        });

        var result = new SigstoreVerifier(SigstoreTrustedRoot.Load(_standIn.TrustedRootPath)).Verify(bundle, SigstoreArtifact.FromFile(artifact), new SigstoreVerificationOptions
        {
            CertificateIdentity = TestTokens.Workflow,
            CertificateOidcIssuer = TestTokens.GitHubIssuer,
        });
        Assert.That(result.Verified, Is.True, result.Failure);
    }

    [Test]
    public void The_key_is_discarded_after_signing()
    {
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        var signer = KeylessSigner.Start(Settings(), Token(), http);
        signer.SignArtifact(new byte[] { 1, 2, 3 });
        signer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => signer.SignArtifact(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void Sigstore_js_accepts_our_keyless_bundles_and_rejects_the_wrong_identity_artifact_or_log_entry()
    {
        var (artifact, statement) = Subject("lib.nupkg");
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(Settings(tsa: _standIn.TimestampUrl), Token(), http);
        string dsse = Save(signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement).Bundle, "lib.provenance.sigstore.json");
        string blob = Save(signer.SignArtifact(File.ReadAllBytes(artifact)).Bundle, "lib.nupkg.sigstore.json");
        var (other, _) = Subject("other.nupkg");

        string[] Args(string bundle, string file, string identity = TestTokens.Workflow) => new[]
        {
            "--bundle", bundle, "--trusted-root", _standIn.TrustedRootPath,
            "--certificate-identity", identity, "--certificate-oidc-issuer", TestTokens.GitHubIssuer, file,
        };

        var ok1 = Oracle.Verify(Args(dsse, artifact));
        var ok2 = Oracle.Verify(Args(blob, artifact));
        Assert.That(ok1.Exit, Is.EqualTo(0), ok1.Out + ok1.Err);
        Assert.That(ok2.Exit, Is.EqualTo(0), ok2.Out + ok2.Err);
        Assert.That(ok1.Out, Does.Contain("tlog dsse/0.0.1"));
        Assert.That(ok2.Out, Does.Contain("tlog hashedrekord/0.0.1"));

        Assert.That(Oracle.Verify(Args(dsse, artifact, "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main")).Exit, Is.EqualTo(1));
        Assert.That(Oracle.Verify(Args(blob, other)).Exit, Is.EqualTo(1));
        Assert.That(Oracle.Verify(Args(dsse, other)).Exit, Is.EqualTo(1));

        // A log entry that records another signature: the body no longer matches (and the SET no longer verifies).
        string tampered = Path.Combine(_dir, "tampered.sigstore.json");
        var json = (JsonMap)JsonParser.Parse(File.ReadAllBytes(blob));
        var entry = (JsonMap)((JsonList)((JsonMap)json["verificationMaterial"])["tlogEntries"])[0];
        entry["integratedTime"] = (long.Parse(((JsonString)entry["integratedTime"]).Value) + 1).ToString();
        File.WriteAllText(tampered, JsonText.Write(json));
        Assert.That(Oracle.Verify(Args(tampered, artifact)).Exit, Is.EqualTo(1));
        Assert.That(TestData.Cli("bundle", "verify", "--bundle", tampered, "--trusted-root", _standIn.TrustedRootPath,
            "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", TestTokens.GitHubIssuer, artifact).Out, Does.Contain("SB5106"));
    }

    [Test]
    public void We_verify_the_bundles_sigstore_js_makes()
    {
        var (artifact, statement) = Subject("js.dll");
        string payload = Path.Combine(_dir, "js.statement.json");
        File.WriteAllBytes(payload, statement);
        string dsse = Path.Combine(_dir, "js.dsse.sigstore.json");
        string blob = Path.Combine(_dir, "js.blob.sigstore.json");
        string oracle = Oracle.Directory_();
        var a = TestData.Run("node", new[] { Path.Combine(oracle, "sign-with-sigstore-js.mjs"), "--url", _standIn.Url, "--token", TestTokens.Make(), "--dsse", payload, "--tsa", "-o", dsse }, oracle, 120_000);
        var b = TestData.Run("node", new[] { Path.Combine(oracle, "sign-with-sigstore-js.mjs"), "--url", _standIn.Url, "--token", TestTokens.Make(), "--blob", artifact, "-o", blob }, oracle, 120_000);
        Assert.That(a.Exit, Is.EqualTo(0), a.Err);
        Assert.That(b.Exit, Is.EqualTo(0), b.Err);

        foreach (string bundle in new[] { dsse, blob })
        {
            var ok = TestData.Cli("bundle", "verify", "--bundle", bundle, "--trusted-root", _standIn.TrustedRootPath,
                "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", TestTokens.GitHubIssuer, artifact);
            Assert.That(ok.Exit, Is.EqualTo(0), ok.Out + ok.Err);
            var regexp = TestData.Cli("bundle", "verify", "--bundle", bundle, "--trusted-root", _standIn.TrustedRootPath,
                "--certificate-identity-regexp", "^https://github\\.com/acme/", "--certificate-oidc-issuer", TestTokens.GitHubIssuer, artifact);
            Assert.That(regexp.Exit, Is.EqualTo(0), regexp.Out + regexp.Err);
            var wrong = TestData.Cli("bundle", "verify", "--bundle", bundle, "--trusted-root", _standIn.TrustedRootPath,
                "--certificate-identity", "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main", "--certificate-oidc-issuer", TestTokens.GitHubIssuer, artifact);
            Assert.That(wrong.Exit, Is.EqualTo(1));
            Assert.That(wrong.Out, Does.Contain("SB5100"));
        }

        Assert.That(TestData.Cli("bundle", "verify", "--bundle", dsse, "--trusted-root", _standIn.TrustedRootPath,
            "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", TestTokens.GitHubIssuer, artifact).Out, Does.Contain("RFC 3161 timestamp"));
    }

    [Test]
    public void A_timestamp_authority_adds_an_RFC3161_timestamp_over_the_signature()
    {
        var (_, statement) = Subject("tsa.dll");
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(Settings(tsa: _standIn.TimestampUrl), Token(), http);
        var bundle = signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement).Bundle;
        Assert.That(bundle.Rfc3161Timestamps, Has.Count.EqualTo(1));
        var result = new SigstoreVerifier(SigstoreTrustedRoot.Load(_standIn.TrustedRootPath)).Verify(bundle, null, new SigstoreVerificationOptions
        {
            CertificateIdentity = TestTokens.Workflow,
            CertificateOidcIssuer = TestTokens.GitHubIssuer,
            TimestampThreshold = 2,
        });
        Assert.That(result.Verified, Is.True, result.Failure);
        Assert.That(result.Timestamps.Select(t => t.Source), Has.Some.EqualTo("timestamp authority"));
    }

    [Test]
    public void A_lost_answer_is_retried_and_the_existing_entry_fetched_not_logged_twice()
    {
        var (_, statement) = Subject("retry.dll");
        var sleeps = new List<TimeSpan>();
        var handler = new LoseFirstUploadAnswer();
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60), handler: handler);
        using var signer = KeylessSigner.Start(Settings(), Token(), http, sleep: sleeps.Add);
        var bundle = signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement).Bundle;
        Assert.Multiple(() =>
        {
            Assert.That(handler.Log, Is.EqualTo(new[] { "POST /api/v2/signingCert 201", "POST /api/v1/log/entries 201 (answer lost)", "POST /api/v1/log/entries 409", "GET 200" }));
            Assert.That(sleeps, Is.EqualTo(new[] { TimeSpan.FromMilliseconds(500) }));
            Assert.That(bundle.TlogEntries, Has.Count.EqualTo(1));
            Assert.That(signer.RoundTrips, Is.EqualTo(4));
        });
        var result = new SigstoreVerifier(SigstoreTrustedRoot.Load(_standIn.TrustedRootPath)).Verify(bundle, null, new SigstoreVerificationOptions
        {
            CertificateIdentity = TestTokens.Workflow,
            CertificateOidcIssuer = TestTokens.GitHubIssuer,
        });
        Assert.That(result.Verified, Is.True, result.Failure);
    }

    [Test]
    public void An_upload_that_keeps_failing_is_SB5020_or_with_the_opt_out_a_bundle_without_a_log_entry()
    {
        using var failing = SigstoreStandIn.Start(TestData.Sigstore, "--fail-next-uploads", "100");
        var (_, statement) = Subject("down.dll");
        var sleeps = new List<TimeSpan>();
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using (var signer = KeylessSigner.Start(KeylessSettings.From(failing.Url, failing.Url, null, "required", failing.TrustedRootPath), Token(), http, sleep: sleeps.Add))
        {
            var e = Assert.Throws<KeylessException>(() => signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement));
            Assert.That(e!.Code, Is.EqualTo("SB5020"));
            Assert.That(e.Message, Does.Contain("failed 4 times").And.Contain("HTTP 503"));
            Assert.That(sleeps, Is.EqualTo(new[] { TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2) }));
        }

        using (var signer = KeylessSigner.Start(KeylessSettings.From(failing.Url, failing.Url, failing.TimestampUrl, "optional", failing.TrustedRootPath), Token(), http, sleep: _ => { }))
        {
            var made = signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement);
            Assert.That(made.Bundle.TlogEntries, Is.Empty, "no log entry is claimed");
            Assert.That(made.Warning, Does.StartWith("the bundle was written without a transparency-log entry"));
            Assert.That(made.WarningCode, Is.EqualTo("SB5022"));
            var result = new SigstoreVerifier(SigstoreTrustedRoot.Load(failing.TrustedRootPath)).Verify(made.Bundle, null, new SigstoreVerificationOptions
            {
                CertificateIdentity = TestTokens.Workflow,
                CertificateOidcIssuer = TestTokens.GitHubIssuer,
            });
            Assert.That(result.Verified, Is.False, "a verifier that requires a log entry refuses it");
            Assert.That(result.FailureCode, Is.EqualTo("SB5109"));
        }
    }

    [Test]
    public void A_trusted_root_that_does_not_cover_the_services_is_SB5040()
    {
        using var other = SigstoreStandIn.Start(TestData.Sigstore);
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(Settings(trustedRoot: other.TrustedRootPath), Token(), http);
        var e = Assert.Throws<KeylessException>(() => signer.SignArtifact(new byte[] { 7 }));
        Assert.That(e!.Code, Is.EqualTo("SB5040"));
    }

    [Test]
    public void A_log_entry_integrated_outside_the_certificate_validity_is_refused_at_signing()
    {
        using var skewed = SigstoreStandIn.Start(TestData.Sigstore, "--log-clock-offset", "3600");
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(KeylessSettings.From(skewed.Url, skewed.Url, null, "required", null), Token(), http);
        var e = Assert.Throws<KeylessException>(() => signer.SignArtifact(new byte[] { 7 }));
        Assert.That(e!.Code, Is.EqualTo("SB5021"));
        Assert.That(e.Message, Does.Contain("outside the certificate's validity"));
    }

    [Test]
    public void Service_URLs_must_be_https_or_loopback()
    {
        Assert.That(Assert.Throws<KeylessException>(() => KeylessSettings.From("http://fulcio.example.com", null, null, null, null))!.Code, Is.EqualTo("SB5050"));
        Assert.That(Assert.Throws<KeylessException>(() => KeylessSettings.From(null, "https://user:pw@rekor.example.com", null, null, null))!.Code, Is.EqualTo("SB5050"));
        Assert.That(Assert.Throws<KeylessException>(() => KeylessSettings.From(null, null, null, "sometimes", null))!.Code, Is.EqualTo("SB5050"));
        Assert.That(Assert.Throws<KeylessException>(() => KeylessSettings.From(null, null, null, null, Path.Combine(_dir, "missing.json")))!.Code, Is.EqualTo("SB5041"));
        var defaults = KeylessSettings.From(null, "", null, null, null);
        Assert.That(defaults.FulcioUrl.ToString(), Is.EqualTo("https://fulcio.sigstore.dev/"));
        Assert.That(defaults.RekorUrl.ToString(), Is.EqualTo("https://rekor.sigstore.dev/"));
        Assert.That(defaults.TimestampUrl, Is.Null);
    }

    /// <summary>Forwards to the stand-in, but loses the answer to the first log upload (the entry was made all the same).</summary>
    private sealed class LoseFirstUploadAnswer : DelegatingHandler
    {
        private bool _lost;

        public LoseFirstUploadAnswer()
            : base(new HttpClientHandler { AllowAutoRedirect = false })
        {
        }

        public List<string> Log { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            string what = request.Method == HttpMethod.Get ? "GET" : $"{request.Method} {request.RequestUri!.AbsolutePath}";
            if (request.RequestUri!.AbsolutePath == "/api/v1/log/entries" && !_lost)
            {
                _lost = true;
                Log.Add($"{what} {(int)response.StatusCode} (answer lost)");
                response.Dispose();
                throw new HttpRequestException("connection reset (simulated)");
            }

            Log.Add($"{what} {(int)response.StatusCode}");
            return response;
        }
    }
}
