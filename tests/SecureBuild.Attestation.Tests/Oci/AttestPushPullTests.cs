using System.Net.Http;
using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;
using SecureBuild.TestSupport.Oci;

namespace SecureBuild.Attestation.Tests.Oci;

/// <summary>
/// `securebuild attest push/pull` against a real registry (Debian's docker-registry, distribution 2.8, which has no
/// referrers API, so the referrers tag and cosign's .att tag are exercised for real), read back with raw registry API
/// reads.
/// </summary>
public sealed class AttestPushPullTests
{
    private LocalRegistry _registry = null!;
    private string _dir = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _registry = LocalRegistry.Start();
        _dir = TestData.NewTempDir("sboci");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _registry.Dispose();
        TestData.TryDelete(_dir);
    }

    /// <summary>A package, its attestations folder (two DSSE bundles) and its own message-signature bundle.</summary>
    private (string Package, string Attestations) Build(string name)
    {
        string root = Path.Combine(_dir, name + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        string attestations = Path.Combine(root, "attestations");
        Directory.CreateDirectory(attestations);
        string package = Path.Combine(root, name + ".1.0.0.nupkg");
        File.WriteAllText(package, "package bytes " + Guid.NewGuid());
        var key = SigningKey.Generate(KeyType.Ecdsa);
        foreach (string step in new[] { "compile", "pack" })
        {
            byte[] statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"" + Path.GetFileName(package) + "\",\"digest\":{\"sha256\":\""
                + Sha256Hex.OfFile(package) + "\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"step\":\"" + step + "\"}}");
            SigstoreBundleWriter.Save(SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, statement, key), Path.Combine(attestations, step + ".provenance.sigstore.json"));
        }

        File.Copy(TestData.SigstorePath("gen/gen-hashedrekord-publickey/bundle.sigstore.json"), package + ".sigstore.json");
        return (package, attestations);
    }

    private string Repo(string name) => _registry.Host + "/acme/" + name;

    private static JsonMap Get(string url, string accept)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = http.Send(request);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), url);
        return (JsonMap)JsonParser.Parse(response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult());
    }

    private static void Ok((int Exit, string Out, string Err) run) => Assert.That(run.Exit, Is.EqualTo(0), run.Out + run.Err);

    [Test]
    public void A_package_s_bundles_round_trip_through_a_registry_without_the_referrers_API()
    {
        var (package, attestations) = Build("App");
        var push = TestData.Cli("attest", "push", "--registry", Repo("app"), "--subject", package, "--dir", attestations);
        Ok(push);
        string subject = OciAttestationStore.FileSubject(package).Digest;
        Assert.That(push.Out, Does.Contain($"OK: 3 bundle(s) stored for {Repo("app")}@{subject}"));
        Assert.That(push.Out, Does.Contain("no referrers API"));

        // The referrers tag schema index lists one bundle manifest per bundle, each with the package as subject.
        string tag = "sha256-" + subject.Substring(7);
        var index = Get($"{_registry.BaseUrl}/v2/acme/app/manifests/{tag}", OciRegistryClient.IndexMediaType);
        var listed = ((JsonList)index["manifests"]).Cast<JsonMap>().ToList();
        Assert.That(listed.Select(d => ((JsonString)d["artifactType"]).Value), Is.EqualTo(Enumerable.Repeat("application/vnd.dev.sigstore.bundle.v0.3+json", 3)));
        foreach (var d in listed)
        {
            var manifest = Get($"{_registry.BaseUrl}/v2/acme/app/manifests/{((JsonString)d["digest"]).Value}", OciRegistryClient.ManifestMediaType);
            Assert.That(((JsonString)((JsonMap)manifest["subject"])["digest"]).Value, Is.EqualTo(subject));
        }

        // cosign's tag layout: one DSSE layer per DSSE bundle, with the predicate type.
        var att = Get($"{_registry.BaseUrl}/v2/acme/app/manifests/{tag}.att", OciRegistryClient.ManifestMediaType);
        var layers = ((JsonList)att["layers"]).Cast<JsonMap>().ToList();
        Assert.That(layers.Select(l => ((JsonString)l["mediaType"]).Value), Is.EqualTo(new[] { "application/vnd.dsse.envelope.v1+json", "application/vnd.dsse.envelope.v1+json" }));
        Assert.That(layers.Select(l => ((JsonString)((JsonMap)l["annotations"])["predicateType"]).Value), Is.All.EqualTo("https://slsa.dev/provenance/v1"));

        string output = Path.Combine(_dir, "pulled-" + Guid.NewGuid().ToString("N"));
        var pull = TestData.Cli("attest", "pull", "--registry", Repo("app"), "--subject", package, "-o", output);
        Ok(pull);
        Assert.That(Directory.GetFiles(output).Select(Path.GetFileName).OrderBy(n => n), Is.EqualTo(new[] { "App.1.0.0.nupkg.sigstore.json", "compile.provenance.sigstore.json", "pack.provenance.sigstore.json" }));
        Assert.That(File.ReadAllBytes(Path.Combine(output, "pack.provenance.sigstore.json")), Is.EqualTo(File.ReadAllBytes(Path.Combine(attestations, "pack.provenance.sigstore.json"))));
        Assert.That(File.ReadAllBytes(Path.Combine(output, "App.1.0.0.nupkg.sigstore.json")), Is.EqualTo(File.ReadAllBytes(package + ".sigstore.json")));
    }

    [Test]
    public void Pushing_again_stores_no_duplicate()
    {
        var (package, attestations) = Build("Twice");
        Ok(TestData.Cli("attest", "push", "--registry", Repo("twice"), "--subject", package, "--dir", attestations));
        Ok(TestData.Cli("attest", "push", "--registry", Repo("twice"), "--subject", package, "--dir", attestations));
        string tag = "sha256-" + OciAttestationStore.FileSubject(package).Digest.Substring(7);
        Assert.That(((JsonList)Get($"{_registry.BaseUrl}/v2/acme/twice/manifests/{tag}", OciRegistryClient.IndexMediaType)["manifests"]).Count, Is.EqualTo(3));
        Assert.That(((JsonList)Get($"{_registry.BaseUrl}/v2/acme/twice/manifests/{tag}.att", OciRegistryClient.ManifestMediaType)["layers"]).Count, Is.EqualTo(2));
    }

    [Test]
    public void An_image_digest_is_a_subject_and_an_unknown_one_is_refused()
    {
        var (_, attestations) = Build("Image");
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        var client = new OciRegistryClient(OciRepository.Parse(Repo("image")), http, _ => null);
        var config = client.PushBlob("application/vnd.oci.image.config.v1+json", Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"));
        byte[] image = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" + config.ToJson() + ",\"layers\":[]}");
        string digest = "sha256:" + Sha256Hex.Of(image);
        client.PushManifest("latest", OciRegistryClient.ManifestMediaType, image);

        Ok(TestData.Cli("attest", "push", "--registry", Repo("image"), "--subject", "acme/image@" + digest, "--dir", attestations));
        string output = Path.Combine(_dir, "image-" + Guid.NewGuid().ToString("N"));
        Ok(TestData.Cli("attest", "pull", "--registry", Repo("image"), "--subject", Repo("image") + "@" + digest, "-o", output));
        Assert.That(Directory.GetFiles(output), Has.Length.EqualTo(2));

        var unknown = TestData.Cli("attest", "push", "--registry", Repo("image"), "--subject", "acme/image@sha256:" + new string('0', 64), "--dir", attestations);
        Assert.That(unknown.Exit, Is.EqualTo(1), unknown.Err);
        Assert.That(unknown.Err, Does.Contain("SB5151"));
    }

    [Test]
    public void With_only_cosign_s_tag_left_the_envelopes_are_still_pulled()
    {
        var (package, attestations) = Build("Cosign");
        Ok(TestData.Cli("attest", "push", "--registry", Repo("cosign"), "--subject", package, "--dir", attestations));
        string tag = "sha256-" + OciAttestationStore.FileSubject(package).Digest.Substring(7);
        using (var http = new HttpClient())
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, $"{_registry.BaseUrl}/v2/acme/cosign/manifests/{tag}");
            head.Headers.TryAddWithoutValidation("Accept", OciRegistryClient.IndexMediaType);
            string indexDigest = http.Send(head).Headers.GetValues("Docker-Content-Digest").Single();
            using var delete = new HttpRequestMessage(HttpMethod.Delete, $"{_registry.BaseUrl}/v2/acme/cosign/manifests/{indexDigest}");
            Assert.That((int)http.Send(delete).StatusCode, Is.EqualTo(202));
        }

        string output = Path.Combine(_dir, "cosign-" + Guid.NewGuid().ToString("N"));
        var pull = TestData.Cli("attest", "pull", "--registry", Repo("cosign"), "--subject", package, "-o", output);
        Ok(pull);
        var envelopes = Directory.GetFiles(output, "*.dsse.json");
        Assert.That(envelopes, Has.Length.EqualTo(2), pull.Out);
        var payloads = envelopes.Select(e => Encoding.UTF8.GetString(DsseEnvelope.Parse(File.ReadAllBytes(e)).Payload)).ToList();
        Assert.That(payloads, Has.Some.Contains("\"step\":\"pack\""));
    }

    [Test]
    public void Nothing_stored_is_SB5156_and_no_registry_is_SB5150()
    {
        var (package, _) = Build("Nothing");
        var none = TestData.Cli("attest", "pull", "--registry", Repo("nothing"), "--subject", package, "-o", Path.Combine(_dir, "none"));
        Assert.That(none.Exit, Is.EqualTo(1), none.Err);
        Assert.That(none.Err, Does.Contain("SB5156"));

        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int closed = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var down = TestData.Cli("attest", "pull", "--registry", $"127.0.0.1:{closed}/acme/app", "--subject", package, "-o", Path.Combine(_dir, "none"));
        Assert.That(down.Exit, Is.EqualTo(2), down.Err);
        Assert.That(down.Err, Does.Contain("SB5150"));
    }

    [TestCase("http://127.0.0.1:5000/acme/app")]
    [TestCase("127.0.0.1:5000")]
    [TestCase("127.0.0.1:5000/Acme/App")]
    [TestCase("127.0.0.1:5000/acme/app/")]
    public void A_registry_that_is_not_HOST_REPOSITORY_is_SB5155(string registry)
    {
        var (package, _) = Build("Usage");
        var run = TestData.Cli("attest", "pull", "--registry", registry, "--subject", package, "-o", Path.Combine(_dir, "usage"));
        Assert.That(run.Exit, Is.EqualTo(2), run.Err);
        Assert.That(run.Err, Does.Contain("SB5155"));
    }

    [Test]
    public void A_folder_without_bundles_or_with_a_broken_one_is_SB5157()
    {
        var (package, attestations) = Build("Broken");
        string empty = Path.Combine(_dir, "empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(empty);
        File.Delete(package + ".sigstore.json");
        var none = TestData.Cli("attest", "push", "--registry", Repo("broken"), "--subject", package, "--dir", empty);
        Assert.That(none.Exit, Is.EqualTo(2), none.Err);
        Assert.That(none.Err, Does.Contain("SB5157"));

        File.WriteAllText(Path.Combine(attestations, "x.sigstore.json"), "{\"mediaType\":\"nope\"}");
        var broken = TestData.Cli("attest", "push", "--registry", Repo("broken"), "--subject", package, "--dir", attestations);
        Assert.That(broken.Exit, Is.EqualTo(2), broken.Err);
        Assert.That(broken.Err, Does.Contain("SB5157").And.Contain("x.sigstore.json"));
    }

    [Test]
    public void Docker_config_credentials_are_found_by_host()
    {
        string config = Path.Combine(_dir, "docker-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(config, "{\"auths\":{\"https://registry.example:5000/v1/\":{\"auth\":\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes("ci:s3cr:et")) + "\"},\"other.example\":{\"username\":\"u\",\"password\":\"p\"}}}");
        Assert.That(DockerCredentials.Find(config, "registry.example:5000"), Is.EqualTo(("ci", "s3cr:et")));
        Assert.That(DockerCredentials.Find(config, "other.example"), Is.EqualTo(("u", "p")));
        Assert.That(DockerCredentials.Find(config, "registry.example"), Is.Null);
        File.WriteAllText(config, "not json");
        var e = Assert.Throws<OciException>(() => DockerCredentials.Find(config, "registry.example:5000"));
        Assert.That(e!.Code, Is.EqualTo("SB5152"));
    }
}
