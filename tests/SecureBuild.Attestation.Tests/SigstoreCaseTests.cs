using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Attestation.Tests;

/// <summary>Every case of TestData/sigstore/cases.json (the Sigstore interop set, see TestData/README.md), through the library and through the CLI.</summary>
public class SigstoreCaseTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (JsonMap c in (JsonList)TestData.Cases()["cases"])
        {
            string id = ((JsonString)c["id"]).Value;
            yield return new TestCaseData(id).SetName("Case_" + id.Replace('.', '_'));
        }
    }

    [Test]
    public void ManifestHasThe47Cases()
    {
        var cases = (JsonList)TestData.Cases()["cases"];
        Assert.That(cases.Count, Is.EqualTo(47));
        Assert.That(cases.Count(c => Str((JsonMap)c, "expect") == "pass"), Is.EqualTo(12));
    }

    [TestCaseSource(nameof(Cases))]
    public void LibraryGivesTheExpectedVerdict(string id)
    {
        var c = Find(id);
        bool expectPass = Str(c, "expect") == "pass";
        var (verified, reason) = VerifyWithLibrary(c);
        TestContext.Out.WriteLine($"{id}: {(verified ? "verified" : "not verified: " + reason)}");
        Assert.That(verified, Is.EqualTo(expectPass), $"{id}: expected {Str(c, "expect")}, got {(verified ? "pass" : "fail: " + reason)}");
        if (!verified)
        {
            Assert.That(reason, Is.Not.Null.And.Not.Empty);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void CliGivesTheExpectedExitCode(string id)
    {
        var c = Find(id);
        int expected = Str(c, "expect") == "pass" ? 0 : 1;
        var args = CliArgs(c, artifactAsDigest: false);
        var (exit, stdout, stderr) = TestData.Cli(args.ToArray());
        Assert.That(exit, Is.EqualTo(expected), $"{id}: securebuild {string.Join(" ", args)}\n{stdout}\n{stderr}");
        Assert.That(stdout, Does.StartWith(expected == 0 ? "OK: " : "FAIL: "));
    }

    /// <summary>The conformance suite runs each case a second time with the artifact given as sha256:HEX.</summary>
    [TestCaseSource(nameof(Cases))]
    public void CliGivesTheSameVerdictForTheArtifactDigest(string id)
    {
        var c = Find(id);
        int expected = Str(c, "expect") == "pass" ? 0 : 1;
        var args = CliArgs(c, artifactAsDigest: true);
        var (exit, stdout, stderr) = TestData.Cli(args.ToArray());
        Assert.That(exit, Is.EqualTo(expected), $"{id}: securebuild {string.Join(" ", args)}\n{stdout}\n{stderr}");
    }

    [Test]
    public void OracleAgreesWithTheManifest()
    {
        string manifest = Path.Combine(TestData.Sigstore, "cases.json");
        var (exit, stdout, stderr) = Oracle.Verify("--cases", manifest);
        Assert.That(exit, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.Contain("47 passed, 0 failed"));
    }

    [Test]
    public void VerifyingTheHappyPathBeforeItWasSignedFails()
    {
        // The injected clock matters: the log's integrated time (2023-07-12) lies after a 2023-01-01 "now".
        var c = Find("happy-path-v0.1");
        var (verified, reason) = VerifyWithLibrary(c, new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.That(verified, Is.False);
        Assert.That(reason, Does.Contain("lies after the verification time"));
    }

    [Test]
    public void FailureReasonsNameTheProblem()
    {
        Assert.That(VerifyWithLibrary(Find("intoto-expired-certificate_fail")).Reason, Does.Contain("was not valid when the signature was made"));
        Assert.That(VerifyWithLibrary(Find("rekor2-no-timestamp_fail")).Reason, Does.Contain("proves no signing time"));
        Assert.That(VerifyWithLibrary(Find("inclusion-proof-corrupted-hash_fail")).Reason, Does.Contain("root hash"));
        Assert.That(VerifyWithLibrary(Find("derived-wrong-identity_fail")).Reason, Does.Contain("certificate identity"));
        Assert.That(VerifyWithLibrary(Find("gen-dsse-subject-mismatch_fail")).Reason, Does.Contain("not a subject"));
        Assert.That(VerifyWithLibrary(Find("trust-root-tlog-missing-validity-start_fail")).Reason, Does.Contain("no \"start\""));
        Assert.That(VerifyWithLibrary(Find("rekor2-timestamp-payload-mismatch_fail")).Reason, Does.Contain("message imprint"));
    }

    [Test]
    public void HappyPathReportsIdentityAndTimestamps()
    {
        var c = Find("happy-path-intoto-in-dsse-v3");
        var root = SigstoreTrustedRoot.Load(TestData.SigstorePath(Str(c, "trustedRoot")));
        var bundle = SigstoreBundle.Load(TestData.SigstorePath(Str(c, "bundle")));
        var result = new SigstoreVerifier(root).Verify(bundle, SigstoreArtifact.FromFile(TestData.SigstorePath(Str(c, "artifact"))), Options(c, TestData.CaseClock));
        Assert.That(result.Verified, Is.True, result.Failure);
        Assert.That(result.SubjectAlternativeNames, Does.Contain(Str(c, "identity")));
        Assert.That(result.OidcIssuer, Is.EqualTo(Str(c, "issuer")));
        Assert.That(result.Timestamps, Has.Count.EqualTo(1));
        Assert.That(result.Statement!.PredicateType, Is.EqualTo("https://slsa.dev/provenance/v1"));
    }

    internal static JsonMap Find(string id) =>
        ((JsonList)TestData.Cases()["cases"]).Cast<JsonMap>().Single(c => Str(c, "id") == id);

    internal static string Str(JsonMap c, string field) => c.TryGetValue(field, out var v) && v is JsonString s ? s.Value : null!;

    internal static SigstoreVerificationOptions Options(JsonMap c, DateTimeOffset clock)
    {
        var options = new SigstoreVerificationOptions
        {
            VerificationTime = clock,
            ExpectedPayloadType = Str(c, "payloadType"),
            RequireKeyHintMatch = c.TryGetValue("strictKeyHint", out var skh) && skh is JsonBool { Value: true },
        };
        if (Str(c, "key") is { } key)
        {
            options.PublicKey = PublicKey.Load(TestData.SigstorePath(key));
        }
        else
        {
            options.CertificateIdentity = Str(c, "identity");
            options.CertificateOidcIssuer = Str(c, "issuer");
        }

        return options;
    }

    /// <summary>Library verification with the case's inputs; a malformed trusted root or bundle is a failed verdict.</summary>
    internal static (bool Verified, string? Reason) VerifyWithLibrary(JsonMap c, DateTimeOffset? clock = null)
    {
        SigstoreTrustedRoot root;
        SigstoreBundle bundle;
        try
        {
            root = SigstoreTrustedRoot.Load(TestData.SigstorePath(Str(c, "trustedRoot")));
            bundle = SigstoreBundle.Load(TestData.SigstorePath(Str(c, "bundle")));
        }
        catch (SigstoreFormatException e)
        {
            return (false, e.Message);
        }

        var artifact = Str(c, "artifact") is { } a ? SigstoreArtifact.FromFile(TestData.SigstorePath(a)) : null;
        var result = new SigstoreVerifier(root).Verify(bundle, artifact, Options(c, clock ?? TestData.CaseClock));
        return (result.Verified, result.Failure);
    }

    private static List<string> CliArgs(JsonMap c, bool artifactAsDigest)
    {
        var args = new List<string>
        {
            "bundle", "verify",
            "--bundle", TestData.SigstorePath(Str(c, "bundle")),
            "--trusted-root", TestData.SigstorePath(Str(c, "trustedRoot")),
            "--at", "2026-11-24T00:00:00Z",
        };
        if (Str(c, "key") is { } key)
        {
            args.AddRange(new[] { "--key", TestData.SigstorePath(key) });
        }
        else
        {
            args.AddRange(new[] { "--certificate-identity", Str(c, "identity"), "--certificate-oidc-issuer", Str(c, "issuer") });
        }

        if (Str(c, "payloadType") is { } pt)
        {
            args.AddRange(new[] { "--payload-type", pt });
        }

        if (c.TryGetValue("strictKeyHint", out var skh) && skh is JsonBool { Value: true })
        {
            args.Add("--strict-key-hint");
        }

        if (Str(c, "artifact") is { } artifact)
        {
            string path = TestData.SigstorePath(artifact);
            args.Add(artifactAsDigest ? "sha256:" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant() : path);
        }

        return args;
    }
}
