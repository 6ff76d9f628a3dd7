using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Attestation.Tests;

/// <summary>
/// Random corruption of bundles, trusted roots, envelopes and statements: parsing throws only the documented format
/// exception, verification never throws, and a corrupted input verifies only if it still means exactly the same
/// thing as the original (e.g. changed whitespace between JSON tokens).
/// </summary>
public class FuzzTests
{
    private const int Iterations = 250;

    [TestCase("happy-path-v0.1")]
    [TestCase("happy-path-intoto-in-dsse-v3")]
    [TestCase("managed-key-happy-path")]
    [TestCase("rekor2-happy-path")]
    [TestCase("gen-dsse-slsa-publickey")]
    public void CorruptedBundlesNeverCrashAndNeverPassWithADifferentMeaning(string id)
    {
        var c = SigstoreCaseTests.Find(id);
        byte[] original = File.ReadAllBytes(TestData.SigstorePath(SigstoreCaseTests.Str(c, "bundle")));
        var reference = Meaning(SigstoreBundle.Parse(original));
        var verifier = new SigstoreVerifier(SigstoreTrustedRoot.Load(TestData.SigstorePath(SigstoreCaseTests.Str(c, "trustedRoot"))));
        var artifact = SigstoreArtifact.FromFile(TestData.SigstorePath(SigstoreCaseTests.Str(c, "artifact")));
        var options = SigstoreCaseTests.Options(c, TestData.CaseClock);
        var originalResult = verifier.Verify(SigstoreBundle.Parse(original), artifact, options);
        Assert.That(originalResult.Verified, Is.True, "the unmodified bundle must verify");
        string times = string.Join(",", originalResult.Timestamps.Select(t => t.Time.ToUnixTimeSeconds()));

        var random = new Random(Mutator.StableSeed(id));
        int parsed = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] mutated = Mutator.Mutate(original, random, Mutator.Json);
            SigstoreBundle bundle;
            try
            {
                bundle = SigstoreBundle.Parse(mutated);
            }
            catch (SigstoreFormatException)
            {
                continue;
            }

            parsed++;
            var result = verifier.Verify(bundle, artifact, options);
            if (result.Verified)
            {
                Assert.That(Meaning(bundle), Is.EqualTo(reference), $"iteration {i}: a bundle with a different meaning verified");
                Assert.That(string.Join(",", result.Timestamps.Select(t => t.Time.ToUnixTimeSeconds())), Is.EqualTo(times), $"iteration {i}: different timestamps verified");
            }
            else
            {
                Assert.That(result.Failure, Is.Not.Null.And.Not.Empty);
            }
        }

        TestContext.Out.WriteLine($"{id}: {parsed} of {Iterations} corrupted bundles parsed");
    }

    /// <summary>
    /// `securebuild bundle verify` with a mutated bundle or trusted root: exit 1 or 2 (0 only for a bundle that still
    /// means the same), never a stack trace or an internal error (SB3900).
    /// </summary>
    [TestCase("bundle.sigstore.json")]
    [TestCase("trusted_root.json")]
    public void CliBundleVerifyOnMutatedInputsExits1Or2WithoutCrashing(string which)
    {
        const string Identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
        const string Issuer = "https://token.actions.githubusercontent.com";
        var bundlePath = TestData.SigstorePath("conformance/happy-path-v0.1/bundle.sigstore.json");
        var rootPath = TestData.SigstorePath("trusted_root.production.json");
        var dir = Directory.CreateTempSubdirectory("sb-bundle-fuzz-").FullName;
        try
        {
            var original = File.ReadAllBytes(which == "trusted_root.json" ? rootPath : bundlePath);
            var reference = which == "trusted_root.json" ? null : Meaning(SigstoreBundle.Parse(original));
            var problems = FuzzRun.Run("cli-bundle", new[] { (which, original) }, 60, Mutator.Json, mutated =>
            {
                var mutatedPath = Path.Combine(dir, which);
                File.WriteAllBytes(mutatedPath, mutated);
                var r = TestData.Cli("bundle", "verify", "--bundle", which == "trusted_root.json" ? bundlePath : mutatedPath, "--trusted-root", which == "trusted_root.json" ? mutatedPath : rootPath,
                    "--certificate-identity", Identity, "--certificate-oidc-issuer", Issuer, "--at", "1689177396", TestData.SigstorePath("conformance/a.txt"));
                if (r.Exit is < 0 or > 2 || r.Err.Contains("SB3900", StringComparison.Ordinal) || r.Err.Contains("   at ", StringComparison.Ordinal))
                {
                    return $"exit {r.Exit}: {r.Err}";
                }

                return r.Exit == 0 && reference is not null && Meaning(SigstoreBundle.Parse(mutated)) != reference ? "a bundle with another meaning verified" : null;
            });
            Assert.That(problems, Is.Empty, string.Join("\n", problems));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void SemanticFieldEditsNeverVerify()
    {
        // Targeted edits of individual fields of a valid bundle (structure intact): each must fail.
        var c = SigstoreCaseTests.Find("happy-path-v0.1");
        var verifier = new SigstoreVerifier(SigstoreTrustedRoot.Load(TestData.SigstorePath(SigstoreCaseTests.Str(c, "trustedRoot"))));
        var artifact = SigstoreArtifact.FromFile(TestData.SigstorePath(SigstoreCaseTests.Str(c, "artifact")));
        var options = SigstoreCaseTests.Options(c, TestData.CaseClock);
        var original = (JsonMap)JsonParser.Parse(File.ReadAllBytes(TestData.SigstorePath(SigstoreCaseTests.Str(c, "bundle"))));
        var edits = new List<(string, Action<JsonMap>)>
        {
            ("logIndex", b => Entry(b)["logIndex"] = "27246493"),
            ("integratedTime", b => Entry(b)["integratedTime"] = "1689177397"),
            ("logId", b => ((JsonMap)Entry(b)["logId"])["keyId"] = "0y8wo8MtY5wrdiIFohx7sHeI5oKDpK5vQhGHI6G+pJY="),
            ("kind", b => ((JsonMap)Entry(b)["kindVersion"])["version"] = "0.0.2"),
            ("proof index", b => ((JsonMap)Entry(b)["inclusionProof"])["logIndex"] = "23083060"),
            ("tree size", b => ((JsonMap)Entry(b)["inclusionProof"])["treeSize"] = "23083063"),
            ("drop proof hash", b => ((JsonList)((JsonMap)Entry(b)["inclusionProof"])["hashes"]).RemoveAt(0)),
            ("digest", b => ((JsonMap)((JsonMap)b["messageSignature"])["messageDigest"])["digest"] = "oM/HEnHW4njlfNMy/5V8P3BD/do1TEy7GQow1W76AcA="),
            ("no tlog", b => ((JsonMap)b["verificationMaterial"])["tlogEntries"] = new JsonList()),
        };
        foreach (var (name, edit) in edits)
        {
            var copy = (JsonMap)original.DeepClone();
            edit(copy);
            SigstoreBundle bundle;
            try
            {
                bundle = SigstoreBundle.Parse(JsonText.WriteUtf8(copy));
            }
            catch (SigstoreFormatException)
            {
                continue;
            }

            var result = verifier.Verify(bundle, artifact, options);
            Assert.That(result.Verified, Is.False, $"edited {name} still verified");
            TestContext.Out.WriteLine($"{name}: {result.Failure}");
        }
    }

    [Test]
    public void CorruptedTrustedRootsOnlyThrowTheFormatException()
    {
        byte[] original = File.ReadAllBytes(TestData.SigstorePath("trusted_root.production.json"));
        var random = new Random(4242);
        for (int i = 0; i < Iterations; i++)
        {
            try
            {
                SigstoreTrustedRoot.Parse(Mutator.Mutate(original, random, Mutator.Json));
            }
            catch (SigstoreFormatException)
            {
            }
        }
    }

    [Test]
    public void CorruptedEnvelopesNeverVerifyWithADifferentMeaning()
    {
        var alice = SigningKey.Load(Path.Combine(TestData.InToto, "keys", "alice"));
        byte[] original = File.ReadAllBytes(Path.Combine(TestData.InToto, "attestation", "pack.provenance-v1.dsse.json"));
        var reference = DsseEnvelope.Parse(original);
        var random = new Random(777);
        for (int i = 0; i < Iterations * 2; i++)
        {
            DsseEnvelope envelope;
            try
            {
                envelope = DsseEnvelope.Parse(Mutator.Mutate(original, random, Mutator.Json));
            }
            catch (AttestationFormatException)
            {
                continue;
            }

            if (envelope.Verify(alice.Public, requireSingleSignature: true).Verified)
            {
                Assert.That(envelope.PayloadType, Is.EqualTo(reference.PayloadType));
                Assert.That(envelope.Payload, Is.EqualTo(reference.Payload));
            }

            try
            {
                InTotoStatement.Parse(envelope.Payload);
            }
            catch (AttestationFormatException)
            {
            }
        }
    }

    [Test]
    public void RandomBytesAreRejectedCleanly()
    {
        var random = new Random(99);
        for (int i = 0; i < Iterations; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            Assert.Throws<SigstoreFormatException>(() => SigstoreBundle.Parse(bytes));
            Assert.Throws<SigstoreFormatException>(() => SigstoreTrustedRoot.Parse(bytes));
            Assert.Throws<AttestationFormatException>(() => DsseEnvelope.Parse(bytes));
            Assert.Throws<AttestationFormatException>(() => InTotoStatement.Parse(bytes));
        }
    }

    [Test]
    public void DeeplyNestedAndHugeInputsAreRejectedCleanly()
    {
        string deep = new string('[', 100_000) + new string(']', 100_000);
        Assert.Throws<SigstoreFormatException>(() => SigstoreBundle.Parse(Encoding.ASCII.GetBytes(deep)));
        Assert.Throws<AttestationFormatException>(() => DsseEnvelope.Parse(deep));
        string longBase64 = "{\"payload\":\"" + new string('A', 1_000_001) + "\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}";
        Assert.Throws<AttestationFormatException>(() => DsseEnvelope.Parse(longBase64));
    }

    /// <summary>
    /// What a bundle asserts, for comparing a corrupted bundle that still verifies with the original: everything but
    /// the unauthenticated key hint and the CMS wrapping of RFC 3161 timestamps (compared by their verified times).
    /// </summary>
    private static string Meaning(SigstoreBundle bundle)
    {
        var json = bundle.ToJson();
        var vm = (JsonMap)json["verificationMaterial"];
        if (vm.TryGetValue("publicKey", out var pk))
        {
            ((JsonMap)pk)["hint"] = "(hint)";
        }

        vm.Remove("timestampVerificationData");
        return JsonText.Write(json);
    }

    private static JsonMap Entry(JsonMap bundle) =>
        (JsonMap)((JsonList)((JsonMap)bundle["verificationMaterial"])["tlogEntries"])[0];
}
