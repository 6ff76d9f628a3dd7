using System.Text;
using SecureBuild.Attestation.Tests.Keyless;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Oci;

namespace SecureBuild.Attestation.Tests.Oci;

/// <summary>A registry that lies or floods is refused with a code (exit 1), never a pass, a hang or a crash; authentication flows.</summary>
public sealed class HostileRegistryTests
{
    private const string Bundle = "application/vnd.dev.sigstore.bundle.v0.3+json";
    private string _dir = null!;
    private string _package = null!;
    private string _subject = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _dir = TestData.NewTempDir("sbocihostile");
        _package = Path.Combine(_dir, "App.1.0.0.nupkg");
        File.WriteAllText(_package, "package");
        _subject = OciAttestationStore.FileSubject(_package).Digest;
    }

    [OneTimeTearDown]
    public void Stop() => TestData.TryDelete(_dir);

    private static string Digest(string text) => "sha256:" + Sha256Hex.Of(Encoding.UTF8.GetBytes(text));

    private static string Index(string manifestDigest, long size) =>
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + manifestDigest + "\",\"size\":" + size + ",\"artifactType\":\"" + Bundle + "\"}]}";

    private static string Manifest(string subject, string layerDigest, long layerSize) =>
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"artifactType\":\"" + Bundle + "\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},"
        + "\"layers\":[{\"mediaType\":\"" + Bundle + "\",\"digest\":\"" + layerDigest + "\",\"size\":" + layerSize + "}],\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + subject + "\",\"size\":100}}";

    /// <summary>A registry without the referrers API whose tag index lists one manifest, served by <paramref name="manifest"/>.</summary>
    private ScriptedRegistry Serving(string manifestDigest, Func<string, Answer> manifest, Func<string, Answer>? blob = null) => new((method, path, _) =>
    {
        if (path.Contains("/referrers/", StringComparison.Ordinal) || path.EndsWith(".att", StringComparison.Ordinal))
        {
            return Answer.Json(404, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}");
        }

        if (path.EndsWith("/manifests/" + _subject.Replace(':', '-'), StringComparison.Ordinal))
        {
            return Answer.Json(200, Index(manifestDigest, 500), new() { ["Content-Type"] = "application/vnd.oci.image.index.v1+json" });
        }

        if (path.Contains("/manifests/", StringComparison.Ordinal))
        {
            return manifest(path);
        }

        return blob?.Invoke(path) ?? Answer.Json(404, "{}");
    });

    private (int Exit, string Out, string Err) Pull(ScriptedRegistry registry) =>
        TestData.Cli("attest", "pull", "--registry", registry.Host + "/acme/app", "--subject", _package, "-o", Path.Combine(_dir, "out-" + Guid.NewGuid().ToString("N")));

    private static void Refused((int Exit, string Out, string Err) run, string code)
    {
        Assert.That(run.Exit, Is.EqualTo(1), run.Out + run.Err);
        Assert.That(run.Err, Does.Contain(code));
        Assert.That(run.Err, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void A_manifest_whose_bytes_do_not_have_the_digest_asked_for_is_SB5153()
    {
        string real = Manifest(_subject, Digest("x"), 1);
        using var registry = Serving(Digest(real), _ => Answer.Json(200, real.Replace("\"size\":1}", "\"size\":2}")));
        Refused(Pull(registry), "SB5153");
    }

    [Test]
    public void A_10_GB_blob_is_refused_while_it_streams_SB5154()
    {
        string manifest = Manifest(_subject, Digest("bundle"), 6);
        using var registry = Serving(Digest(manifest), _ => Answer.Json(200, manifest), _ => new Answer(200, Array.Empty<byte>(), HugeLength: 10L * 1024 * 1024 * 1024));
        Refused(Pull(registry), "SB5154");
        Assert.That(registry.Requests, Has.Some.Contains("/blobs/"), "the blob was asked for, and refused");
    }

    [Test]
    public void A_layer_that_claims_10_GB_is_refused_before_any_download_SB5154()
    {
        string manifest = Manifest(_subject, Digest("bundle"), 10L * 1024 * 1024 * 1024);
        using var registry = Serving(Digest(manifest), _ => Answer.Json(200, manifest));
        Refused(Pull(registry), "SB5154");
        Assert.That(registry.Requests, Has.None.Contains("/blobs/"));
    }

    [Test]
    public void A_blob_whose_bytes_differ_from_its_digest_is_SB5153()
    {
        string manifest = Manifest(_subject, Digest("bundle"), 6);
        using var registry = Serving(Digest(manifest), _ => Answer.Json(200, manifest), _ => Answer.Json(200, "BUNDLE"));
        Refused(Pull(registry), "SB5153");
    }

    [Test]
    public void A_referrer_about_another_subject_is_SB5158()
    {
        string manifest = Manifest("sha256:" + new string('1', 64), Digest("bundle"), 6);
        using var registry = Serving(Digest(manifest), _ => Answer.Json(200, manifest));
        Refused(Pull(registry), "SB5158");
    }

    [Test]
    public void A_bundle_layer_that_is_not_a_bundle_is_SB5158()
    {
        string manifest = Manifest(_subject, Digest("{\"a\":1}"), 7);
        using var registry = Serving(Digest(manifest), _ => Answer.Json(200, manifest), _ => Answer.Json(200, "{\"a\":1}"));
        Refused(Pull(registry), "SB5158");
    }

    /// <summary>distribution with htpasswd (Basic), and the token flow (Bearer) registries like ghcr.io use.</summary>
    [TestCase("Basic")]
    [TestCase("Bearer")]
    public void Credentials_are_sent_after_the_challenge_and_missing_or_wrong_ones_are_SB5152(string scheme)
    {
        string good = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ci:pw"));
        ScriptedRegistry? self = null;
        using var registry = new ScriptedRegistry((method, path, headers) =>
        {
            headers.TryGetValue("Authorization", out var auth);
            if (path.StartsWith("/token?", StringComparison.Ordinal))
            {
                Assert.That(path, Does.Contain("scope=repository%3Aacme%2Fapp%3Apull%2Cpush").And.Contain("service=test"));
                return auth == good ? Answer.Json(200, "{\"token\":\"t0k\"}") : Answer.Json(401, "{}");
            }

            bool allowed = scheme == "Basic" ? auth == good : auth == "Bearer t0k";
            if (!allowed)
            {
                string challenge = scheme == "Basic" ? "Basic realm=\"registry\"" : $"Bearer realm=\"http://{self!.Host}/token\",service=\"test\"";
                return Answer.Json(401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", new() { ["WWW-Authenticate"] = challenge });
            }

            return Answer.Json(404, "{}");
        });
        self = registry;
        using var http = new BoundedHttp(TimeSpan.FromSeconds(30));
        var repository = OciRepository.Parse(registry.Host + "/acme/app");

        Assert.That(new OciRegistryClient(repository, http, _ => ("ci", "pw")).GetReferrers(_subject), Is.Null, "authenticated, then 404");
        var missing = Assert.Throws<OciException>(() => new OciRegistryClient(repository, http, _ => null).GetReferrers(_subject));
        Assert.That(missing!.Code, Is.EqualTo("SB5152"));
        Assert.That(missing.Message, scheme == "Basic" ? Does.Contain("has none") : Does.Contain("refused a token"));
        var wrong = Assert.Throws<OciException>(() => new OciRegistryClient(repository, http, _ => ("ci", "nope")).GetReferrers(_subject));
        Assert.That(wrong!.Code, Is.EqualTo("SB5152"));
    }
}
