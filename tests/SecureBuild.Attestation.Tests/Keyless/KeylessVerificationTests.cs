using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;
using SecureBuild.TestSupport.Sigstore;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>
/// Hostile keyless bundles and trusted roots: each one is refused by `securebuild bundle verify` (exit 1) with the SB
/// code that names what is wrong, and the sound bundle passes. Two stand-ins: the one that signed, and another whose
/// keys play the wrong CA, CT log and log key (its log clock runs an hour ahead: bundles signed there are expired at
/// signing).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class KeylessVerificationTests
{
    private SigstoreStandIn _main = null!;
    private SigstoreStandIn _other = null!;
    private string _dir = null!;
    private string _artifact = null!;
    private string _bundle = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _main = SigstoreStandIn.Start(TestData.Sigstore);
        _other = SigstoreStandIn.Start(TestData.Sigstore, "--log-clock-offset", "3600");
        _dir = TestData.NewTempDir("sbkeylessverify");
        _artifact = Path.Combine(_dir, "App.dll");
        File.WriteAllText(_artifact, "package bytes " + Guid.NewGuid());
        string hex = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_artifact))).ToLowerInvariant();
        string statement = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"App.dll\",\"digest\":{\"sha256\":\"" + hex + "\"}}],"
            + "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"buildDefinition\":{\"buildType\":\"https://example.com/t\",\"externalParameters\":{\"source\":{\"uri\":\"git+https://github.com/acme/app\"}}},\"runDetails\":{\"builder\":{\"id\":\"https://example.com/b\"}}}}";
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        using var signer = KeylessSigner.Start(KeylessSettings.From(_main.Url, _main.Url, null, null, _main.TrustedRootPath), IdentityToken.Parse(TestTokens.Make(), "test", DateTimeOffset.UtcNow), http);
        _bundle = Path.Combine(_dir, "pack.provenance.sigstore.json");
        SigstoreBundleWriter.Save(signer.SignDsse(DsseEnvelope.InTotoPayloadType, Encoding.UTF8.GetBytes(statement)).Bundle, _bundle);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _main?.Dispose();
        _other?.Dispose();
        TestData.TryDelete(_dir);
    }

    private (int Exit, string Out, string Err) Verify(string bundle, string? root = null, string identity = TestTokens.Workflow, string issuer = TestTokens.GitHubIssuer, params string[] extra)
    {
        var args = new List<string> { "bundle", "verify", "--bundle", bundle, "--trusted-root", root ?? _main.TrustedRootPath };
        if (!extra.Contains("--certificate-identity-regexp"))
        {
            args.AddRange(new[] { "--certificate-identity", identity });
        }

        args.AddRange(new[] { "--certificate-oidc-issuer", issuer });
        args.AddRange(extra);
        args.Add(_artifact);
        return TestData.Cli(args.ToArray());
    }

    private static void Refused((int Exit, string Out, string Err) r, string code)
    {
        Assert.That(r.Exit, Is.EqualTo(1), r.Out + r.Err);
        Assert.That(r.Out, Does.Contain(": " + code + ": "), r.Out);
    }

    private string Edited(string name, Action<JsonMap> edit, string? from = null)
    {
        var json = (JsonMap)JsonParser.Parse(File.ReadAllBytes(from ?? _bundle));
        edit(json);
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, JsonText.Write(json));
        return path;
    }

    private static JsonMap Entry(JsonMap bundle) => (JsonMap)((JsonList)((JsonMap)bundle["verificationMaterial"])["tlogEntries"])[0];

    private string Root(string name, params string[] fromOther)
    {
        var root = _main.TrustedRoot();
        var other = _other.TrustedRoot();
        foreach (string field in fromOther)
        {
            root[field] = other[field].DeepClone();
        }

        return _main.WriteTrustedRoot(root, name);
    }

    [Test]
    public void The_sound_bundle_verifies_by_identity_or_by_pattern()
    {
        var ok = Verify(_bundle);
        Assert.That(ok.Exit, Is.EqualTo(0), ok.Out + ok.Err);
        Assert.That(ok.Out, Does.Contain("1 embedded SCT(s) verified").And.Contain("inclusion proof verified"));
        var pattern = Verify(_bundle, extra: new[] { "--certificate-identity-regexp", "^https://github\\.com/acme/app/\\.github/workflows/[^/]+@refs/heads/main$" });
        Assert.That(pattern.Exit, Is.EqualTo(0), pattern.Out + pattern.Err);
    }

    [Test]
    public void A_wrong_identity_is_SB5100()
    {
        Refused(Verify(_bundle, identity: "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/evil"), "SB5100");
        Refused(Verify(_bundle, extra: new[] { "--certificate-identity-regexp", "^https://github\\.com/other/" }), "SB5100");
        var bad = Verify(_bundle, extra: new[] { "--certificate-identity-regexp", "([" });
        Assert.That(bad.Exit, Is.EqualTo(2));
        Assert.That(bad.Err, Does.Contain("SB5111"));
        var both = Verify(_bundle, extra: new[] { "--certificate-identity-regexp", "x" }.Concat(new[] { "--certificate-identity", "y" }).ToArray());
        Assert.That(both.Exit, Is.EqualTo(2));
    }

    [Test]
    public void A_wrong_issuer_is_SB5101() => Refused(Verify(_bundle, issuer: "https://gitlab.com"), "SB5101");

    [Test]
    public void A_signature_made_after_the_certificate_expired_is_SB5102()
    {
        // Signed by sigstore-js at the stand-in whose log clock runs an hour ahead: integrated 50 minutes after the
        // 10-minute certificate expired.
        string oracle = Oracle.Directory_();
        string expired = Path.Combine(_dir, "expired.sigstore.json");
        var made = TestData.Run("node", new[] { Path.Combine(oracle, "sign-with-sigstore-js.mjs"), "--url", _other.Url, "--token", TestTokens.Make(), "--blob", _artifact, "-o", expired }, oracle, 120_000);
        Assert.That(made.Exit, Is.EqualTo(0), made.Err);
        string later = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds().ToString();
        Refused(Verify(expired, _other.TrustedRootPath, extra: new[] { "--at", later }), "SB5102");
        var js = Oracle.Verify("--bundle", expired, "--trusted-root", _other.TrustedRootPath, "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", TestTokens.GitHubIssuer, _artifact);
        Assert.That(js.Exit, Is.EqualTo(1), "sigstore-js refuses it too: " + js.Out);
    }

    [Test]
    public void A_tampered_inclusion_proof_is_SB5105()
    {
        Refused(Verify(Edited("root-hash.sigstore.json", b => ((JsonMap)Entry(b)["inclusionProof"])["rootHash"] = Convert.ToBase64String(new byte[32]))), "SB5105");
        Refused(Verify(Edited("tree-size.sigstore.json", b => ((JsonMap)Entry(b)["inclusionProof"])["treeSize"] = "2")), "SB5105");
    }

    [Test]
    public void A_log_key_the_trusted_root_does_not_hold_is_SB5106()
    {
        // The trusted root names the log by its ID but holds another key for it.
        var root = _main.TrustedRoot();
        var tlog = (JsonMap)((JsonList)root["tlogs"])[0];
        ((JsonMap)tlog["publicKey"])["rawBytes"] = ((JsonMap)((JsonMap)((JsonList)_other.TrustedRoot()["tlogs"])[0])["publicKey"])["rawBytes"].DeepClone();
        Refused(Verify(_bundle, _main.WriteTrustedRoot(root, "wrong-log-key.json")), "SB5106");
        Refused(Verify(_bundle, Root("other-log.json", "tlogs")), "SB5106");
    }

    [Test]
    public void A_certificate_without_an_SCT_from_a_trusted_CT_log_is_SB5104() => Refused(Verify(_bundle, Root("other-ctlog.json", "ctlogs")), "SB5104");

    [Test]
    public void A_certificate_from_another_CA_is_SB5103() => Refused(Verify(_bundle, Root("other-ca.json", "certificateAuthorities")), "SB5103");

    [Test]
    public void A_changed_payload_no_longer_matches_its_log_entry_SB5108()
    {
        Refused(Verify(Edited("payload.sigstore.json", b =>
        {
            var env = (JsonMap)b["dsseEnvelope"];
            var payload = Encoding.UTF8.GetString(Convert.FromBase64String(((JsonString)env["payload"]).Value)).Replace("https://example.com/b", "https://example.com/evil");
            env["payload"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload));
        })), "SB5108");
    }

    [Test]
    public void Keyless_provenance_verifies_by_identity_and_names_what_is_wrong()
    {
        string[] Args(string issuer) => new[]
        {
            "provenance", "verify", "--artifact", _artifact, "--provenance", _bundle, "--trusted-root", _main.TrustedRootPath,
            "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", issuer, "--builder-id", "https://example.com/b", "--source-uri", "https://github.com/acme/app",
        };
        var ok = TestData.Cli(Args(TestTokens.GitHubIssuer));
        Assert.That(ok.Exit, Is.EqualTo(0), ok.Out + ok.Err);
        Assert.That(ok.Out, Does.Contain("PASSED").And.Contain(TestTokens.Workflow));
        var wrong = TestData.Cli(Args("https://accounts.google.com"));
        Assert.That(wrong.Exit, Is.EqualTo(1));
        Assert.That(wrong.Err, Does.Contain("SB5101"));
        var noRoot = TestData.Cli("provenance", "verify", "--artifact", _artifact, "--provenance", _bundle, "--certificate-identity", TestTokens.Workflow, "--certificate-oidc-issuer", TestTokens.GitHubIssuer);
        Assert.That(noRoot.Exit, Is.EqualTo(2));
    }
}
