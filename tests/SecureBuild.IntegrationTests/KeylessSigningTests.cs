using SecureBuild.Core.Sigstore;
using SecureBuild.IntegrationTests.Infrastructure;
using SecureBuild.TestSupport.Oci;
using SecureBuild.TestSupport.Sigstore;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// SecureBuildSigning=keyless in a real `dotnet pack`, against the local Fulcio/Rekor/TSA stand-in (not Sigstore): the
/// provenance bundle and the package's own bundle carry a certificate for the token's identity and a log entry, and
/// verify with `securebuild` and with sigstore-js by identity and issuer.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class KeylessSigningTests
{
    private static readonly string[] NoAmbientToken = { "SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN" };

    [Test]
    public void Keyless_pack_writes_certificate_bundles_that_verify_by_identity()
    {
        using var standIn = SigstoreStandIn.Start(SdkFeed.SigstoreTestData);
        var keys = Path.Combine(SdkFeed.WorkRoot, "keyless-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(keys);
        var key = Links.Keygen(keys, "ed25519", "build.key");
        var project = new TestProject("keyless").WithConsoleApp("App");
        var env = NoAmbientToken.ToDictionary(n => n, _ => (string?)null);
        env["SecureBuildSigningKey"] = key.PrivatePath;
        env["SecureBuildSigning"] = "keyless"; // the environment variable form
        env["SIGSTORE_ID_TOKEN"] = TestTokens.Make();
        var pack = project.DotNet(env, "pack", "App/App.csproj", "-c", "Release",
            $"-p:SecureBuildFulcioUrl={standIn.Url}", $"-p:SecureBuildRekorUrl={standIn.Url}",
            $"-p:SecureBuildTimestampUrl={standIn.TimestampUrl}", $"-p:SecureBuildTrustedRoot={standIn.TrustedRootPath}");
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());

        var attestations = project.Path("App/bin/Release/attestations");
        var nupkg = project.Path("App/bin/Release/App.1.0.0.nupkg");
        var provenance = Path.Combine(attestations, "pack.provenance.sigstore.json");
        var packageBundle = nupkg + ".sigstore.json";
        var parsed = SigstoreBundle.Load(provenance);
        Assert.That(parsed.MaterialKind, Is.EqualTo(VerificationMaterialKind.Certificate));
        Assert.That(parsed.TlogEntries.Single().Kind, Is.EqualTo("dsse"));
        Assert.That(parsed.Rfc3161Timestamps, Has.Count.EqualTo(1));
        Assert.That(SigstoreBundle.Load(packageBundle).MessageSignature, Is.Not.Null, "the .nupkg gets a cosign sign-blob style bundle");
        Assert.That(File.Exists(Path.Combine(attestations, "compile.provenance.sigstore.json")), Is.True);

        string[] Identity(string identity = TestTokens.Workflow) => new[] { "--certificate-identity", identity, "--certificate-oidc-issuer", TestTokens.GitHubIssuer };
        foreach (var bundle in new[] { provenance, packageBundle })
        {
            var ok = SdkFeed.Securebuild(project.Directory, new[] { "bundle", "verify", "--bundle", bundle, "--trusted-root", standIn.TrustedRootPath }.Concat(Identity()).Append(nupkg).ToArray());
            Assert.That(ok.ExitCode, Is.EqualTo(0), ok.ToString());
            var wrong = SdkFeed.Securebuild(project.Directory, new[] { "bundle", "verify", "--bundle", bundle, "--trusted-root", standIn.TrustedRootPath }.Concat(Identity("https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main")).Append(nupkg).ToArray());
            Assert.That(wrong.ExitCode, Is.EqualTo(1), wrong.ToString());
            Assert.That(wrong.Output, Does.Contain("SB5100"));

            string oracle = SigstoreNodeTools.Install(SdkFeed.SigstoreTestData);
            var js = Run.Process("node", new[] { Path.Combine(oracle, "verify-with-sigstore-js.mjs"), "--bundle", bundle, "--trusted-root", standIn.TrustedRootPath }.Concat(Identity()).Append(nupkg), oracle);
            Assert.That(js.ExitCode, Is.EqualTo(0), "sigstore-js: " + js);
        }

        var claims = SdkFeed.Securebuild(project.Directory, new[] { "provenance", "verify", "--artifact", nupkg, "--provenance", provenance, "--trusted-root", standIn.TrustedRootPath }.Concat(Identity()).ToArray());
        Assert.That(claims.ExitCode, Is.EqualTo(0), claims.ToString());

        // Stored next to the package in a real registry and fetched back, the bundles still verify by identity.
        using var registry = LocalRegistry.Start();
        string repository = registry.Host + "/acme/app";
        var push = SdkFeed.Securebuild(project.Directory, "attest", "push", "--registry", repository, "--subject", nupkg);
        Assert.That(push.ExitCode, Is.EqualTo(0), push.ToString());
        var pulled = project.Path("pulled");
        var pull = SdkFeed.Securebuild(project.Directory, "attest", "pull", "--registry", repository, "--subject", nupkg, "-o", pulled);
        Assert.That(pull.ExitCode, Is.EqualTo(0), pull.ToString());
        Assert.That(File.ReadAllBytes(Path.Combine(pulled, "pack.provenance.sigstore.json")), Is.EqualTo(File.ReadAllBytes(provenance)));
        var again = SdkFeed.Securebuild(project.Directory, new[] { "bundle", "verify", "--bundle", Path.Combine(pulled, Path.GetFileName(packageBundle)), "--trusted-root", standIn.TrustedRootPath }.Concat(Identity()).Append(nupkg).ToArray());
        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
    }

    [Test]
    public void Keyless_without_an_identity_token_fails_the_step_with_SB5000()
    {
        var project = new TestProject("keyless-notoken").WithConsoleApp("App");
        var env = NoAmbientToken.ToDictionary(n => n, _ => (string?)null);
        var build = project.DotNet(env, "build", "App/App.csproj", "-c", "Release", "-p:SecureBuildSigning=keyless", "-p:SecureBuildFulcioUrl=http://127.0.0.1:9");
        Assert.That(build.ExitCode, Is.Not.EqualTo(0), build.ToString());
        Assert.That(build.Output, Does.Contain("SB5000"));
        Assert.That(File.Exists(project.Path("App/bin/Release/attestations/compile.provenance.sigstore.json")), Is.False, "no bundle without a certificate");
    }
}
