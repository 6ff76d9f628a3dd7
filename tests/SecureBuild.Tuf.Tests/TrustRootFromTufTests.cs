using SecureBuild.Core.Crypto;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// `bundle verify --trusted-root-from-tuf`: the trusted root a private Sigstore deployment publishes through its own
/// TUF repository (made with `trust init/add/publish`), fetched with `trust update`, used instead of a file by hand.
/// </summary>
[NonParallelizable]
public class TrustRootFromTufTests
{
    private static string Bundle(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "bundle", name);

    [Test]
    public void A_bundle_verifies_against_the_tuf_verified_trusted_root_and_not_against_a_missing_or_edited_one()
    {
        string dir = ScratchDirectory.Create("securebuild-trust-bundle");
        try
        {
            var key = SigningKey.Generate(KeyType.Ed25519);
            string keyPath = Path.Combine(dir, "repo.key");
            File.WriteAllText(keyPath, key.ExportPrivate());
            string repo = Path.Combine(dir, "repo");
            Expect(0, "trust", "init", "--repo", repo, "--root-key", keyPath, "--targets-key", keyPath, "--snapshot-key", keyPath, "--timestamp-key", keyPath);
            Expect(0, "trust", "add", "--repo", repo, Bundle("trusted_root.generated.json"), "--name", "trusted_root.json", "--key", keyPath);
            Expect(0, "trust", "publish", "--repo", repo, "--snapshot-key", keyPath, "--timestamp-key", keyPath);
            using var server = new StaticHttpServer(repo);
            string cache = Path.Combine(dir, "cache");
            string[] verify = { "bundle", "verify", "--bundle", Bundle("bundle.sigstore.json"), "--key", Bundle("key.pub"), "--trusted-root-from-tuf", "--tuf-cache", cache, Bundle("artifact.nupkg") };

            var (code, output) = SigstoreTufTests.Cli(verify);
            Assert.That(code, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("SB5211").And.Contain("securebuild trust update"));

            Expect(2, "trust", "update", "--metadata-url", server.Url + "/metadata", "--cache-dir", cache);
            Expect(0, "trust", "update", "--metadata-url", server.Url + "/metadata", "--targets-url", server.Url + "/targets", "--root", Path.Combine(repo, "metadata", "1.root.json"), "--cache-dir", cache);
            (code, output) = SigstoreTufTests.Cli(verify);
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("verified"));

            (code, output) = SigstoreTufTests.Cli(verify.Concat(new[] { "--trusted-root", Bundle("trusted_root.generated.json") }).ToArray());
            Assert.That(code, Is.EqualTo(2), output);

            string cached = Path.Combine(cache, "targets", "trusted_root.json");
            File.WriteAllText(cached, File.ReadAllText(cached) + " ");
            (code, output) = SigstoreTufTests.Cli(verify);
            Assert.That(code, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("SB5209"));
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    private static void Expect(int code, params string[] args)
    {
        var (actual, output) = SigstoreTufTests.Cli(args);
        Assert.That(actual, Is.EqualTo(code), $"securebuild {string.Join(" ", args)}\n{output}");
    }
}
