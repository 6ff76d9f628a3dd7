using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;
using SecureBuild.Tasks.Tests.Infrastructure;
using SecureBuild.TestSupport.Oci;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// SecureBuildBaseImagePolicy's task against a real registry (Debian's docker-registry on 127.0.0.1): a base image
/// signed with the policy's key passes, an unsigned one, one named by tag and a missing ContainerBaseImage fail the
/// publish with their SB codes.
/// </summary>
[NonParallelizable]
public sealed class VerifyBaseImageTaskTests
{
    private LocalRegistry _registry = null!;
    private BoundedHttp _http = null!;
    private TempDirectory _dir = null!;
    private SigningKey _key = null!;
    private string _policy = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _registry = LocalRegistry.Start();
        _http = new BoundedHttp(TimeSpan.FromSeconds(60));
        _dir = new TempDirectory(nameof(VerifyBaseImageTaskTests));
        _key = SigningKey.Generate(KeyType.Ecdsa);
        _dir.Write("App/keys/base.pub", _key.ExportPublic());
        _policy = _dir.Write("App/image-policy.json", "{\"schemaVersion\":1,\"allowedRegistries\":[\"" + _registry.Host + "/base/*\"],\"rules\":[{\"name\":\"base-images\",\"imageReferences\":[\"*\"],"
            + "\"attestors\":[{\"entries\":[{\"keys\":{\"publicKeys\":\"keys/base.pub\",\"ignoreTlog\":true}}]}]}]}");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _http?.Dispose();
        _registry?.Dispose();
        _dir?.Dispose();
    }

    /// <summary>Pushes an image to base/NAME, signed with the policy's key when <paramref name="signed"/>; returns NAME@DIGEST.</summary>
    private string Image(string name, bool signed)
    {
        var client = new OciRegistryClient(OciRepository.Parse(_registry.Host + "/base/" + name), _http, _ => null);
        string digest = LocalRegistry.PushTestImage(client, "10.0");
        if (signed)
        {
            byte[] statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"base/" + name + "\",\"digest\":{\"sha256\":\"" + digest.Substring(7)
                + "\"}}],\"predicateType\":\"" + ImagePolicy.CosignSignPredicateType + "\",\"predicate\":{}}");
            var bundle = SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, statement, _key);
            string path = _dir.Path("bundle-" + Guid.NewGuid().ToString("N") + ".sigstore.json");
            SigstoreBundleWriter.Save(bundle, path);
            OciAttestationStore.PushBundles(client, client.ResolveManifest(digest)!, new[] { (Path.GetFileName(path), File.ReadAllBytes(path), bundle) });
        }

        return $"{_registry.Host}/base/{name}:10.0@{digest}";
    }

    private (bool Ok, FakeBuildEngine Engine) Run(string? baseImage)
    {
        var engine = new FakeBuildEngine();
        var task = new VerifyBaseImage { BuildEngine = engine, Policy = "image-policy.json", BaseImage = baseImage, ProjectDirectory = Path.GetDirectoryName(_policy)! };
        return (task.Execute(), engine);
    }

    [Test]
    public void A_base_image_signed_with_the_policy_s_key_passes()
    {
        var (ok, engine) = Run(Image("runtime", signed: true));
        Assert.That(ok, Is.True, string.Join("\n", engine.Errors.Select(e => e.Code + " " + e.Message)));
        Assert.That(engine.Messages.Select(m => m.Message), Has.Some.Contains("allowed by rule(s) 'base-images'"));
    }

    [Test]
    public void An_unsigned_base_image_fails_the_publish_naming_the_rule()
    {
        var (ok, engine) = Run(Image("unsigned", signed: false));
        Assert.That(ok, Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB5163" }));
        Assert.That(engine.Errors.Single().Message, Does.Contain("rule 'base-images'"));
    }

    [Test]
    public void A_base_image_named_by_tag_or_not_named_fails()
    {
        string pinned = Image("tagged", signed: true);
        var (ok, engine) = Run(pinned.Substring(0, pinned.IndexOf('@')));
        Assert.That(ok, Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB5161" }));
        Assert.That(engine.Errors.Single().Message, Does.Contain("Pin ContainerBaseImage by digest"));

        var (none, noneEngine) = Run("");
        Assert.That(none, Is.False);
        Assert.That(noneEngine.ErrorCodes, Is.EqualTo(new[] { "SB5166" }));
    }

    [Test]
    public void A_registry_outside_the_policy_fails()
    {
        var (ok, engine) = Run("mcr.microsoft.com/dotnet/runtime:10.0@sha256:" + new string('a', 64));
        Assert.That(ok, Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB5162" }));
    }
}
