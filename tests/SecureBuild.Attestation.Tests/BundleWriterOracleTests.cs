using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Attestation.Tests;

/// <summary>
/// Bundles SecureBuild writes (key-signed DSSE of an in-toto statement, v0.3, publicKey hint, no log entry) are
/// accepted by our verifier, by `securebuild bundle verify` and by the sigstore-js oracle; tampered ones by none.
/// </summary>
[NonParallelizable]
public class BundleWriterOracleTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = TestData.NewTempDir("sbbundle");

    [TearDown]
    public void TearDown()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Passed)
        {
            TestData.TryDelete(_dir);
        }
        else
        {
            TestContext.Out.WriteLine("kept " + _dir);
        }
    }

    public static IEnumerable<KeyType> OracleKeyTypes() => new[] { KeyType.Ecdsa, KeyType.Ed25519 };

    [TestCaseSource(nameof(OracleKeyTypes))]
    public void OurBundleVerifiesHereAndWithSigstoreJs(KeyType type)
    {
        var (bundlePath, keyPath, artifactPath, key) = WriteBundle(type);
        var bundle = SigstoreBundle.Load(bundlePath);
        Assert.That(bundle.MediaType, Is.EqualTo(SigstoreBundle.MediaTypeV03));
        Assert.That(bundle.PublicKeyHint, Is.EqualTo(SigstoreVerifier.KeyHint(key.Public)));
        Assert.That(bundle.DsseEnvelope!.Signatures.Single().KeyId, Is.EqualTo(bundle.PublicKeyHint));

        var result = Verify(bundle, key.Public, artifactPath);
        Assert.That(result.Verified, Is.True, result.Failure);
        Assert.That(result.Statement!.Subjects[0].Name, Is.EqualTo("Contoso.Widgets.1.0.0.nupkg"));

        var cli = TestData.Cli("bundle", "verify", "--bundle", bundlePath, "--trusted-root", TrustedRoot(), "--key", keyPath,
            "--tlog-threshold", "0", "--payload-type", DsseEnvelope.InTotoPayloadType, "--strict-key-hint", artifactPath);
        Assert.That(cli.Exit, Is.EqualTo(0), cli.Out + cli.Err);

        var oracle = Oracle.Verify("--bundle", bundlePath, "--trusted-root", TrustedRoot(), "--key", keyPath, "--tlog-threshold", "0",
            "--payload-type", DsseEnvelope.InTotoPayloadType, "--strict-key-hint", artifactPath);
        Assert.That(oracle.Exit, Is.EqualTo(0), "sigstore-js rejected our bundle:\n" + oracle.Out + oracle.Err);
    }

    [TestCaseSource(nameof(OracleKeyTypes))]
    public void TamperedBundlesAreRejectedByBoth(KeyType type)
    {
        var (bundlePath, keyPath, artifactPath, key) = WriteBundle(type);
        var original = (JsonMap)JsonParser.Parse(File.ReadAllBytes(bundlePath));
        var env = (JsonMap)original["dsseEnvelope"];
        byte[] payload = Convert.FromBase64String(((JsonString)env["payload"]).Value);

        // 1. The statement's subject digest changed after signing.
        string text = Encoding.UTF8.GetString(payload);
        string changedDigest = text.Replace(Sha256Hex(File.ReadAllBytes(artifactPath)), new string('0', 64));
        Assert.That(changedDigest, Is.Not.EqualTo(text));
        var tamperedPayload = Mutate(original, e => e["payload"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(changedDigest)));

        // 2. The payload type changed after signing.
        var tamperedType = Mutate(original, e => e["payloadType"] = "application/json");

        // 3. A signature byte flipped.
        var tamperedSig = Mutate(original, e =>
        {
            var sig = (JsonMap)((JsonList)e["signatures"])[0];
            byte[] s = Convert.FromBase64String(((JsonString)sig["sig"]).Value);
            s[s.Length / 2] ^= 0x20;
            sig["sig"] = Convert.ToBase64String(s);
        });

        foreach (var (name, json) in new[] { ("payload", tamperedPayload), ("payloadType", tamperedType), ("signature", tamperedSig) })
        {
            string path = Path.Combine(_dir, $"tampered-{name}.sigstore.json");
            File.WriteAllBytes(path, JsonText.WriteUtf8(json));
            var ours = Verify(SigstoreBundle.Load(path), key.Public, null);
            Assert.That(ours.Verified, Is.False, $"we accepted a bundle with a tampered {name}");
            TestContext.Out.WriteLine($"tampered {name}: {ours.Failure}");
            var cli = TestData.Cli("bundle", "verify", "--bundle", path, "--trusted-root", TrustedRoot(), "--key", keyPath, "--tlog-threshold", "0");
            Assert.That(cli.Exit, Is.EqualTo(1), cli.Out + cli.Err);
            var oracle = Oracle.Verify("--bundle", path, "--trusted-root", TrustedRoot(), "--key", keyPath, "--tlog-threshold", "0", "--no-subject-check");
            Assert.That(oracle.Exit, Is.EqualTo(1), $"sigstore-js accepted a bundle with a tampered {name}:\n{oracle.Out}{oracle.Err}");
        }

        // 4. The right bundle, but another artifact: not a subject.
        string other = Path.Combine(_dir, "other.nupkg");
        File.WriteAllBytes(other, Encoding.UTF8.GetBytes("not the package"));
        Assert.That(Verify(SigstoreBundle.Load(bundlePath), key.Public, other).Failure, Does.Contain("not a subject"));
        Assert.That(Oracle.Verify("--bundle", bundlePath, "--trusted-root", TrustedRoot(), "--key", keyPath, "--tlog-threshold", "0", other).Exit, Is.EqualTo(1));

        // 5. The right bundle, another key.
        var stranger = SigningKey.Generate(type);
        string strangerPath = Path.Combine(_dir, "stranger.pub");
        File.WriteAllText(strangerPath, stranger.Public.ExportPem());
        Assert.That(Verify(SigstoreBundle.Load(bundlePath), stranger.Public, artifactPath).Verified, Is.False);
        Assert.That(Oracle.Verify("--bundle", bundlePath, "--trusted-root", TrustedRoot(), "--key", strangerPath, "--tlog-threshold", "0", artifactPath).Exit, Is.EqualTo(1));
    }

    [Test]
    public void UnloggedBundleNeedsAnExplicitZeroLogThreshold()
    {
        var (bundlePath, keyPath, artifactPath, key) = WriteBundle(KeyType.Ecdsa);
        var options = new SigstoreVerificationOptions { PublicKey = key.Public };
        var result = new SigstoreVerifier(SigstoreTrustedRoot.Load(TrustedRoot())).Verify(SigstoreBundle.Load(bundlePath), SigstoreArtifact.FromFile(artifactPath), options);
        Assert.That(result.Verified, Is.False);
        Assert.That(result.Failure, Does.Contain("no transparency log entry"));
        var cli = TestData.Cli("bundle", "verify", "--bundle", bundlePath, "--trusted-root", TrustedRoot(), "--key", keyPath, artifactPath);
        Assert.That(cli.Exit, Is.EqualTo(1));
    }

    [Test]
    public void RsaKeyBundlesRoundTripHere()
    {
        var (bundlePath, _, artifactPath, key) = WriteBundle(KeyType.Rsa);
        Assert.That(Verify(SigstoreBundle.Load(bundlePath), key.Public, artifactPath).Verified, Is.True);
    }

    [Test]
    public void WriterRefusesEnvelopesItCannotVouchFor()
    {
        var key = SigningKey.Generate(KeyType.Ecdsa);
        var other = SigningKey.Generate(KeyType.Ecdsa);
        byte[] payload = Encoding.UTF8.GetBytes("{}");
        Assert.Throws<ArgumentException>(() => SigstoreBundleWriter.Wrap(DsseEnvelope.Sign("application/json", payload, other, SigstoreVerifier.KeyHint(key.Public)), key.Public));
        Assert.Throws<ArgumentException>(() => SigstoreBundleWriter.Wrap(DsseEnvelope.Sign("application/json", payload, key, "wrong-keyid"), key.Public));
        var a = DsseEnvelope.Sign("application/json", payload, key, SigstoreVerifier.KeyHint(key.Public));
        var two = new DsseEnvelope("application/json", payload, a.Signatures.Concat(a.Signatures));
        Assert.Throws<ArgumentException>(() => SigstoreBundleWriter.Wrap(two, key.Public));
    }

    [Test]
    public void WrittenBundleRoundTripsThroughTheParser()
    {
        var (bundlePath, _, _, _) = WriteBundle(KeyType.Ed25519);
        byte[] bytes = File.ReadAllBytes(bundlePath);
        Assert.That(bytes[0], Is.EqualTo((byte)'{'), "no BOM");
        Assert.That(SigstoreBundle.Parse(bytes).ToUtf8Json(), Is.EqualTo(bytes));
    }

    private static SigstoreVerificationResult Verify(SigstoreBundle bundle, PublicKey key, string? artifact) =>
        new SigstoreVerifier(SigstoreTrustedRoot.Load(TrustedRoot())).Verify(
            bundle,
            artifact is null ? null : SigstoreArtifact.FromFile(artifact),
            new SigstoreVerificationOptions
            {
                PublicKey = key,
                TransparencyLogThreshold = 0,
                ExpectedPayloadType = DsseEnvelope.InTotoPayloadType,
                RequireKeyHintMatch = true,
            });

    /// <summary>Any trusted root will do for a key-signed, unlogged bundle: the production one.</summary>
    private static string TrustedRoot() => TestData.SigstorePath("trusted_root.production.json");

    /// <summary>
    /// A bundle signed with a key `securebuild keygen --format pem` wrote: the oracle reads that key's SPKI PEM as it
    /// is, so sigstore-js checks our PEM too.
    /// </summary>
    private (string Bundle, string Key, string Artifact, SigningKey SigningKey) WriteBundle(KeyType type)
    {
        string privatePath = Path.Combine(_dir, "signing");
        var keygen = TestData.Cli("keygen", "-t", type == KeyType.Ed25519 ? "ed25519" : type == KeyType.Ecdsa ? "ecdsa" : "rsa", "--format", "pem", "-o", privatePath);
        Assert.That(keygen.Exit, Is.EqualTo(0), keygen.Err);
        var key = SigningKey.Load(privatePath);
        string artifact = Path.Combine(_dir, "Contoso.Widgets.1.0.0.nupkg");
        File.WriteAllBytes(artifact, Encoding.UTF8.GetBytes("PK\u0003\u0004 pretend package " + Guid.NewGuid()));
        var statement = new InTotoStatement(
            new[]
            {
                new ResourceDescriptor("Contoso.Widgets.1.0.0.nupkg", new Dictionary<string, string> { ["sha256"] = Sha256Hex(File.ReadAllBytes(artifact)) }),
                new ResourceDescriptor("lib/net8.0/Contoso.Widgets.dll", new Dictionary<string, string> { ["sha256"] = new string('a', 64) }),
            },
            "https://slsa.dev/provenance/v1",
            (JsonMap)JsonParser.Parse("{\"buildDefinition\":{\"buildType\":\"https://securebuild.invalid/test/v1\",\"externalParameters\":{}},\"runDetails\":{\"builder\":{\"id\":\"https://securebuild.invalid/builder\"}}}"));
        var bundle = SigstoreBundleWriter.SignStatement(statement, key);
        string bundlePath = artifact + SigstoreBundleWriter.FileSuffix;
        SigstoreBundleWriter.Save(bundle, bundlePath);
        string keyPath = privatePath + ".pub";
        return (bundlePath, keyPath, artifact, key);
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

    private static JsonMap Mutate(JsonMap original, Action<JsonMap> change)
    {
        var copy = (JsonMap)original.DeepClone();
        change((JsonMap)copy["dsseEnvelope"]);
        return copy;
    }
}
