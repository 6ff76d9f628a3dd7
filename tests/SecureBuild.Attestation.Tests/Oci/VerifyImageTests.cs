using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;
using SecureBuild.TestSupport.Oci;
using SecureBuild.TestSupport.Sigstore;

namespace SecureBuild.Attestation.Tests.Oci;

/// <summary>
/// `securebuild verify-image IMAGE@DIGEST --policy FILE` against a real registry (Debian's docker-registry, no
/// referrers API: signatures are found through the referrers tag and cosign's tags) holding images, keyless
/// signatures and attestations (Fulcio/Rekor stand-in) and key signatures pushed by the test.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class VerifyImageTests
{
    private const string Slsa = "https://slsa.dev/provenance/v1";
    private LocalRegistry _registry = null!;
    private SigstoreStandIn _sigstore = null!;
    private KeylessSigner _signer = null!;
    private BoundedHttp _http = null!;
    private string _dir = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _registry = LocalRegistry.Start();
        _sigstore = SigstoreStandIn.Start(TestData.Sigstore);
        _dir = TestData.NewTempDir("sbverifyimage");
        _http = new BoundedHttp(TimeSpan.FromSeconds(60));
        _signer = KeylessSigner.Start(KeylessSettings.From(_sigstore.Url, _sigstore.Url, null, null, _sigstore.TrustedRootPath), IdentityToken.Parse(TestTokens.Make(), "test", DateTimeOffset.UtcNow), _http);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _signer?.Dispose();
        _http?.Dispose();
        _sigstore?.Dispose();
        _registry?.Dispose();
        TestData.TryDelete(_dir);
    }

    private OciRegistryClient Client(string repository) => new(OciRepository.Parse(_registry.Host + "/" + repository), _http, _ => null);

    /// <summary>Pushes a small image (unique config) and returns its manifest digest.</summary>
    private string PushImage(string repository) => LocalRegistry.PushTestImage(Client(repository));

    private static byte[] Statement(string repository, string digest, string predicateType) => Encoding.UTF8.GetBytes(
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"" + repository + "\",\"digest\":{\"sha256\":\"" + digest.Substring(7) + "\"}}],\"predicateType\":\""
        + predicateType + "\",\"predicate\":{}}");

    /// <summary>Stores bundles as referrers of the image (the registry has no referrers API: the tag index and cosign's .att tag).</summary>
    private void Attach(string repository, string digest, params SigstoreBundle[] bundles)
    {
        var client = Client(repository);
        var subject = client.ResolveManifest(digest)!;
        var list = new List<(string, byte[], SigstoreBundle)>();
        foreach (var bundle in bundles)
        {
            string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".sigstore.json");
            SigstoreBundleWriter.Save(bundle, path);
            list.Add((Path.GetFileName(path), File.ReadAllBytes(path), bundle));
        }

        OciAttestationStore.PushBundles(client, subject, list);
    }

    /// <summary>A keyless-signed image with a keyless SLSA provenance attestation; returns the image reference.</summary>
    private string SignedImage(string repository, bool withProvenance = true)
    {
        string digest = PushImage(repository);
        var bundles = new List<SigstoreBundle> { _signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement(repository, digest, ImagePolicy.CosignSignPredicateType)).Bundle };
        if (withProvenance)
        {
            bundles.Add(_signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement(repository, digest, Slsa)).Bundle);
        }

        Attach(repository, digest, bundles.ToArray());
        return $"{_registry.Host}/{repository}@{digest}";
    }

    private static string Keyless(string subject) => "{\"keyless\":{\"subject\":\"" + subject + "\",\"issuer\":\"" + TestTokens.GitHubIssuer + "\"}}";

    private string Policy(string? allowed = null, string subject = TestTokens.Workflow, bool requireProvenance = true, string? entries = null, int? count = null, string? imageReferences = null)
    {
        string attestors = "[{" + (count is null ? string.Empty : "\"count\":" + count + ",") + "\"entries\":[" + (entries ?? Keyless(subject)) + "]}]";
        string policy = "{\"schemaVersion\":1,\"allowedRegistries\":[\"" + (allowed ?? _registry.Host + "/acme/*") + "\"],\"trustedRoot\":" + JsonText.Write(new JsonString(_sigstore.TrustedRootPath)).Trim()
            + ",\"rules\":[{\"name\":\"acme-signed\",\"imageReferences\":[\"" + (imageReferences ?? _registry.Host + "/acme/*") + "\"],\"attestors\":" + attestors
            + (requireProvenance ? ",\"attestations\":[{\"type\":\"" + Slsa + "\"}]" : string.Empty) + "}]}";
        string path = Path.Combine(_dir, "policy-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, policy);
        return path;
    }

    private static void Refused((int Exit, string Out, string Err) run, string code, string? rule = "acme-signed")
    {
        Assert.That(run.Exit, Is.EqualTo(1), run.Out + run.Err);
        Assert.That(run.Err, Does.Contain(": " + code + ": "), run.Err);
        if (rule is not null)
        {
            Assert.That(run.Err, Does.Contain($"rule '{rule}'"), run.Err);
        }
    }

    [Test]
    public void A_keyless_signed_image_with_its_provenance_is_allowed()
    {
        string image = SignedImage("acme/allowed");
        var run = TestData.Cli("verify-image", image, "--policy", Policy());
        Assert.That(run.Exit, Is.EqualTo(0), run.Out + run.Err);
        Assert.That(run.Out, Does.Contain("OK: " + image + ": allowed by rule(s) 'acme-signed'"));
        Assert.That(run.Out, Does.Contain("found 2 Sigstore bundle(s)"));
    }

    [Test]
    public void Count_entries_of_an_attestor_set_must_have_signed_and_a_rule_that_does_not_match_does_not_apply()
    {
        string image = SignedImage("acme/count", withProvenance: false);
        string entries = Keyless("https://github.com/evil/app/.github/workflows/build.yml@refs/heads/main") + "," + Keyless(TestTokens.Workflow);
        Assert.That(TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false, entries: entries, count: 1)).Exit, Is.EqualTo(0));
        var all = TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false, entries: entries));
        Refused(all, "SB5163");
        Assert.That(all.Err, Does.Contain("1 of the required 2"));

        var unmatched = TestData.Cli("verify-image", $"{_registry.Host}/acme/count@{PushImage("acme/count")}", "--policy", Policy(imageReferences: "*/other/*"));
        Assert.That(unmatched.Exit, Is.EqualTo(0), unmatched.Err);
        Assert.That(unmatched.Out, Does.Contain("no rule of the policy applies"));
    }

    [Test]
    public void An_unsigned_image_is_refused_naming_the_rule()
    {
        string image = $"{_registry.Host}/acme/unsigned@{PushImage("acme/unsigned")}";
        var run = TestData.Cli("verify-image", image, "--policy", Policy());
        Refused(run, "SB5163");
        Assert.That(run.Err, Does.Contain("holds no signatures or attestations"));
    }

    [Test]
    public void A_signature_by_another_identity_is_refused()
    {
        string image = SignedImage("acme/identity");
        var run = TestData.Cli("verify-image", image, "--policy", Policy(subject: "https://github.com/evil/app/.github/workflows/build.yml@refs/heads/main"));
        Refused(run, "SB5163");
        Assert.That(run.Err, Does.Contain("SB5100"), "the verifier's reason (identity mismatch) is named");
    }

    [Test]
    public void A_missing_attestation_is_refused()
    {
        string image = SignedImage("acme/noprovenance", withProvenance: false);
        Assert.That(TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false)).Exit, Is.EqualTo(0));
        Refused(TestData.Cli("verify-image", image, "--policy", Policy()), "SB5164");
    }

    [Test]
    public void A_registry_not_allowed_is_refused()
    {
        string image = SignedImage("acme/registry");
        Refused(TestData.Cli("verify-image", image, "--policy", Policy(allowed: "ghcr.io/acme/*")), "SB5162", rule: null);
    }

    [Test]
    public void A_tag_instead_of_a_digest_is_refused()
    {
        SignedImage("acme/tagged");
        Refused(TestData.Cli("verify-image", _registry.Host + "/acme/tagged:latest", "--policy", Policy()), "SB5161", rule: null);
        Refused(TestData.Cli("verify-image", _registry.Host + "/acme/tagged", "--policy", Policy()), "SB5161", rule: null);
    }

    [Test]
    public void A_manifest_changed_in_storage_is_a_digest_mismatch()
    {
        string image = SignedImage("acme/tampered");
        string digest = image.Substring(image.IndexOf('@') + 1);
        string stored = _registry.BlobPath(digest);
        Assert.That(File.Exists(stored), Is.True, stored);
        string text = File.ReadAllText(stored);
        File.WriteAllText(stored, text.Replace("\"layers\":[]", "\"layers\": []"));
        var run = TestData.Cli("verify-image", image, "--policy", Policy());
        Refused(run, "SB5153", rule: null);
    }

    [Test]
    public void An_unknown_digest_is_refused_and_a_signature_of_another_image_does_not_count()
    {
        Refused(TestData.Cli("verify-image", $"{_registry.Host}/acme/unknown@sha256:{new string('0', 64)}", "--policy", Policy()), "SB5165", rule: null);

        // The other image's signature, stored as a referrer of this one: its statement names the other digest.
        string other = PushImage("acme/borrowed");
        string digest = PushImage("acme/borrowed");
        Attach("acme/borrowed", digest, _signer.SignDsse(DsseEnvelope.InTotoPayloadType, Statement("acme/borrowed", other, ImagePolicy.CosignSignPredicateType)).Bundle);
        var run = TestData.Cli("verify-image", $"{_registry.Host}/acme/borrowed@{digest}", "--policy", Policy(requireProvenance: false));
        Refused(run, "SB5163");
        Assert.That(run.Err, Does.Contain("is not a subject of the in-toto statement"));
    }

    [Test]
    public void Key_signatures_in_cosign_s_sig_tag_and_in_bundles_are_checked_with_the_policy_s_key()
    {
        var key = SigningKey.Generate(KeyType.Ecdsa);
        string keyFile = Path.Combine(_dir, "signer-" + Guid.NewGuid().ToString("N") + ".pub");
        File.WriteAllText(keyFile, key.ExportPublic());
        string entry = "{\"keys\":{\"publicKeys\":" + JsonText.Write(new JsonString(keyFile)).Trim() + ",\"ignoreTlog\":true}}";

        // cosign's legacy layout: a simple-signing payload signed with the key, at tag sha256-HEX.sig.
        string digest = PushImage("acme/keysig");
        var client = Client("acme/keysig");
        byte[] payload = Encoding.UTF8.GetBytes("{\"critical\":{\"identity\":{\"docker-reference\":\"" + _registry.Host + "/acme/keysig\"},\"image\":{\"docker-manifest-digest\":\"" + digest + "\"},\"type\":\"cosign container image signature\"},\"optional\":null}");
        var layer = client.PushBlob(OciAttestationStore.SimpleSigningMediaType, payload).ToJson();
        layer["annotations"] = new JsonMap { ["dev.cosignproject.cosign/signature"] = Convert.ToBase64String(key.Sign(payload)) };
        var config = client.PushBlob("application/vnd.oci.image.config.v1+json", Encoding.UTF8.GetBytes("{\"architecture\":\"\",\"os\":\"\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"));
        var manifest = new JsonMap { ["schemaVersion"] = 2, ["mediaType"] = OciRegistryClient.ManifestMediaType, ["config"] = config.ToJson(), ["layers"] = new JsonList(layer) };
        client.PushManifest("sha256-" + digest.Substring(7) + ".sig", OciRegistryClient.ManifestMediaType, Encoding.UTF8.GetBytes(JsonText.Write(manifest).Trim()));
        string image = $"{_registry.Host}/acme/keysig@{digest}";
        var ok = TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false, entries: entry));
        Assert.That(ok.Exit, Is.EqualTo(0), ok.Out + ok.Err);
        Assert.That(ok.Out, Does.Contain("1 cosign .sig signature(s)"));

        // A key-signed Sigstore bundle with a provenance attestation, stored as a referrer.
        Attach("acme/keysig", digest, SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, Statement("acme/keysig", digest, Slsa), key));
        Assert.That(TestData.Cli("verify-image", image, "--policy", Policy(entries: entry)).Exit, Is.EqualTo(0));

        // With the referrers index gone, the attestation is still found as a DSSE envelope under cosign's .att tag.
        using (var raw = new System.Net.Http.HttpClient())
        {
            string tag = "sha256-" + digest.Substring(7);
            using var head = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Head, $"{_registry.BaseUrl}/v2/acme/keysig/manifests/{tag}");
            head.Headers.TryAddWithoutValidation("Accept", OciRegistryClient.IndexMediaType);
            string indexDigest = raw.Send(head).Headers.GetValues("Docker-Content-Digest").Single();
            using var delete = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Delete, $"{_registry.BaseUrl}/v2/acme/keysig/manifests/{indexDigest}");
            Assert.That((int)raw.Send(delete).StatusCode, Is.EqualTo(202));
        }

        var fromAtt = TestData.Cli("verify-image", image, "--policy", Policy(entries: entry));
        Assert.That(fromAtt.Exit, Is.EqualTo(0), fromAtt.Out + fromAtt.Err);
        Assert.That(fromAtt.Out, Does.Contain("found 0 Sigstore bundle(s), 1 other cosign .att envelope(s)"));

        // Another key signed nothing here; without ignoreTlog the unlogged signatures do not count either.
        var stranger = SigningKey.Generate(KeyType.Ecdsa);
        string strangerFile = Path.Combine(_dir, "stranger-" + Guid.NewGuid().ToString("N") + ".pub");
        File.WriteAllText(strangerFile, stranger.ExportPublic());
        Refused(TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false, entries: "{\"keys\":{\"publicKeys\":" + JsonText.Write(new JsonString(strangerFile)).Trim() + ",\"ignoreTlog\":true}}")), "SB5163");
        Refused(TestData.Cli("verify-image", image, "--policy", Policy(requireProvenance: false, entries: entry.Replace("true", "false"))), "SB5163");
    }

    [TestCase("not json")]
    [TestCase("{\"schemaVersion\":2,\"allowedRegistries\":[\"*\"],\"rules\":[]}")]
    [TestCase("{\"schemaVersion\":1,\"allowedRegistries\":[],\"rules\":[]}")]
    [TestCase("{\"schemaVersion\":1,\"allowedRegistries\":[\"*\"],\"rules\":[{\"name\":\"r\",\"imageReferences\":[\"*\"]}]}")]
    [TestCase("{\"schemaVersion\":1,\"allowedRegistries\":[\"*\"],\"rules\":[{\"name\":\"r\",\"imageReferences\":[\"*\"],\"attestors\":[{\"entries\":[{\"keyless\":{\"subject\":\"x\"}}]}]}]}")]
    [TestCase("{\"schemaVersion\":1,\"allowedRegistries\":[\"*\"],\"rules\":[{\"name\":\"r\",\"imageReferences\":[\"*\"],\"attestors\":[{\"count\":2,\"entries\":[{\"keys\":{\"publicKeys\":\"missing.pub\"}}]}]}]}")]
    [TestCase("{\"schemaVersion\":1,\"allowedRegistries\":[\"*\"],\"rules\":[],\"unknown\":true}")]
    public void A_policy_that_is_not_valid_is_SB5160_exit_2(string policy)
    {
        string path = Path.Combine(_dir, "bad-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, policy);
        var run = TestData.Cli("verify-image", $"{_registry.Host}/acme/x@sha256:{new string('0', 64)}", "--policy", path);
        Assert.That(run.Exit, Is.EqualTo(2), run.Out + run.Err);
        Assert.That(run.Err, Does.Contain("SB5160"));
    }

    [Test]
    public void Keyless_attestors_without_a_trusted_root_and_a_missing_policy_are_exit_2()
    {
        string path = Path.Combine(_dir, "noroot-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{\"schemaVersion\":1,\"allowedRegistries\":[\"*\"],\"rules\":[{\"name\":\"r\",\"imageReferences\":[\"*\"],\"attestors\":[{\"entries\":[{\"keyless\":{\"subject\":\"x\",\"issuer\":\"y\"}}]}]}]}");
        string image = $"{_registry.Host}/acme/x@sha256:{new string('0', 64)}";
        var noRoot = TestData.Cli("verify-image", image, "--policy", path);
        Assert.That(noRoot.Exit, Is.EqualTo(2), noRoot.Err);
        Assert.That(noRoot.Err, Does.Contain("SB5160").And.Contain("trusted root"));
        var missing = TestData.Cli("verify-image", image, "--policy", Path.Combine(_dir, "nope.json"));
        Assert.That(missing.Exit, Is.EqualTo(2), missing.Err);
        Assert.That(missing.Err, Does.Contain("SB5160"));
        var badImage = TestData.Cli("verify-image", "http://x/y@sha256:1", "--policy", path);
        Assert.That(badImage.Exit, Is.EqualTo(2), badImage.Err);
        Assert.That(badImage.Err, Does.Contain("SB5155"));
    }
}
