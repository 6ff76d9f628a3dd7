using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;
using SecureBuild.IntegrationTests.Infrastructure;
using SecureBuild.TestSupport.Oci;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// SecureBuildBaseImagePolicy in a real MSBuild run on the packaged SDK: the .NET SDK's own ComputeContainerBaseImage
/// (the target PublishContainer depends on) resolves ContainerBaseImage and the policy check runs right after it,
/// against a real registry (Debian's docker-registry). No image is built: the check is what comes before that.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BaseImagePolicyTests
{
    [Test]
    public void The_base_image_is_checked_when_the_container_targets_resolve_it()
    {
        using var registry = LocalRegistry.Start();
        using var http = new BoundedHttp(TimeSpan.FromSeconds(60));
        var client = new OciRegistryClient(OciRepository.Parse(registry.Host + "/dotnet/runtime"), http, _ => null);
        string signedDigest = LocalRegistry.PushTestImage(client, "10.0");
        string unsignedDigest = LocalRegistry.PushTestImage(client, "unsigned");
        var key = SigningKey.Generate(KeyType.Ecdsa);
        byte[] statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"dotnet/runtime\",\"digest\":{\"sha256\":\"" + signedDigest.Substring(7)
            + "\"}}],\"predicateType\":\"" + ImagePolicy.CosignSignPredicateType + "\",\"predicate\":{}}");
        var bundle = SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, statement, key);
        var project = new TestProject("baseimage").WithConsoleApp("App");
        SigstoreBundleWriter.Save(bundle, project.Path("signature.sigstore.json"));
        OciAttestationStore.PushBundles(client, client.ResolveManifest(signedDigest)!, new[] { ("signature.sigstore.json", File.ReadAllBytes(project.Path("signature.sigstore.json")), bundle) });
        project.Write("App/keys/base.pub", key.ExportPublic());
        project.Write("App/image-policy.json", "{\"schemaVersion\":1,\"allowedRegistries\":[\"" + registry.Host + "/dotnet/*\"],\"rules\":[{\"name\":\"dotnet-base\",\"imageReferences\":[\"*\"],"
            + "\"attestors\":[{\"entries\":[{\"keys\":{\"publicKeys\":\"keys/base.pub\",\"ignoreTlog\":true}}]}]}]}");

        ProcessResult Resolve(string baseImage) => project.DotNet("msbuild", "App/App.csproj", "-t:ComputeContainerBaseImage", "-nologo", "-v:n",
            "-p:SecureBuildBaseImagePolicy=image-policy.json", $"-p:ContainerBaseImage={baseImage}");

        var allowed = Resolve($"{registry.Host}/dotnet/runtime:10.0@{signedDigest}");
        Assert.That(allowed.ExitCode, Is.EqualTo(0), allowed.ToString());
        Assert.That(allowed.Output, Does.Contain("SecureBuildBaseImagePolicy: " + registry.Host + "/dotnet/runtime@" + signedDigest + ": allowed by rule(s) 'dotnet-base'"));

        var unsigned = Resolve($"{registry.Host}/dotnet/runtime@{unsignedDigest}");
        Assert.That(unsigned.ExitCode, Is.Not.EqualTo(0), unsigned.ToString());
        Assert.That(unsigned.Output, Does.Contain("error SB5163").And.Contain("rule 'dotnet-base'"));

        var tagged = Resolve($"{registry.Host}/dotnet/runtime:10.0");
        Assert.That(tagged.ExitCode, Is.Not.EqualTo(0), tagged.ToString());
        Assert.That(tagged.Output, Does.Contain("error SB5161"));
    }
}
