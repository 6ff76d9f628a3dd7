namespace SecureBuild.Attestation.Tests;

/// <summary>`securebuild bundle verify` exit codes for usage and input errors (2), as opposed to verdicts (0/1).</summary>
public class BundleCommandTests
{
    private static string Case(string rel) => TestData.SigstorePath(rel);

    private const string Identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    private const string Issuer = "https://token.actions.githubusercontent.com";

    [Test]
    public void NeitherKeyNorIdentityIsAUsageError()
    {
        var r = TestData.Cli("bundle", "verify", "--bundle", Case("conformance/happy-path-v0.1/bundle.sigstore.json"), "--trusted-root", Case("trusted_root.production.json"), Case("conformance/a.txt"));
        Assert.That(r.Exit, Is.EqualTo(2), r.Out + r.Err);
        Assert.That(r.Err, Does.Contain("--certificate-identity"));
    }

    [Test]
    public void MissingFilesAreInputErrors()
    {
        var r = TestData.Cli("bundle", "verify", "--bundle", "/nonexistent/b.json", "--trusted-root", Case("trusted_root.production.json"),
            "--certificate-identity", Identity, "--certificate-oidc-issuer", Issuer, Case("conformance/a.txt"));
        Assert.That(r.Exit, Is.EqualTo(2), r.Out + r.Err);
        r = TestData.Cli("bundle", "verify", "--bundle", Case("conformance/happy-path-v0.1/bundle.sigstore.json"), "--trusted-root", Case("trusted_root.production.json"),
            "--certificate-identity", Identity, "--certificate-oidc-issuer", Issuer, "/nonexistent/artifact");
        Assert.That(r.Exit, Is.EqualTo(2), r.Out + r.Err);
    }

    [TestCase("yesterday")]
    [TestCase("2026-13-01T00:00:00Z")]
    public void BadTimeIsAUsageError(string at)
    {
        var r = TestData.Cli("bundle", "verify", "--bundle", Case("conformance/happy-path-v0.1/bundle.sigstore.json"), "--trusted-root", Case("trusted_root.production.json"),
            "--certificate-identity", Identity, "--certificate-oidc-issuer", Issuer, "--at", at, Case("conformance/a.txt"));
        Assert.That(r.Exit, Is.EqualTo(2), r.Out + r.Err);
    }

    [Test]
    public void AtAcceptsUnixSecondsAndDecidesFutureEntries()
    {
        string[] Args(string at) => new[]
        {
            "bundle", "verify", "--bundle", Case("conformance/happy-path-v0.1/bundle.sigstore.json"), "--trusted-root", Case("trusted_root.production.json"),
            "--certificate-identity", Identity, "--certificate-oidc-issuer", Issuer, "--at", at, Case("conformance/a.txt"),
        };

        // integratedTime is 1689177396.
        Assert.That(TestData.Cli(Args("1689177396")).Exit, Is.EqualTo(0));
        var early = TestData.Cli(Args("1689177395"));
        Assert.That(early.Exit, Is.EqualTo(1));
        Assert.That(early.Out, Does.Contain("after the verification time"));
    }

    [Test]
    public void KeyForACertificateBundleFails()
    {
        var r = TestData.Cli("bundle", "verify", "--bundle", Case("conformance/happy-path-v0.1/bundle.sigstore.json"), "--trusted-root", Case("trusted_root.production.json"),
            "--key", Case("conformance/managed-key-happy-path/key.pub"), Case("conformance/a.txt"));
        Assert.That(r.Exit, Is.EqualTo(1), r.Out + r.Err);
        Assert.That(r.Out, Does.Contain("signed with a certificate"));
    }
}
