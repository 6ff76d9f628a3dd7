using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>k-of-n agreement between builders on attestation subjects.</summary>
public sealed class AgreementTests
{
    private static readonly SigningKey Alice = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Bob = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Carol = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Mallory = SigningKey.Generate(KeyType.Ed25519);

    private const string Sha1 = "1111111111111111111111111111111111111111111111111111111111111111";
    private const string Sha2 = "2222222222222222222222222222222222222222222222222222222222222222";

    internal static AttestationInput Attest(SigningKey key, string predicateType, string digest, JsonMap? predicate = null, bool? reproduced = null, string name = "App.1.0.0.nupkg")
    {
        var subject = new ResourceDescriptor(name, new Dictionary<string, string> { ["sha256"] = digest },
            annotations: reproduced is null ? null : new JsonMap { { "reproduced", reproduced.Value } });
        var statement = new InTotoStatement(new[] { subject }, predicateType, predicate ?? new JsonMap());
        return new AttestationInput(key.KeyId.Substring(0, 8), DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, statement.ToPayload(), key));
    }

    private static readonly PublicKey[] Trusted = { Alice.Public, Bob.Public, Carol.Public };

    [Test]
    public void Two_keys_on_one_worker_count_as_one_builder()
    {
        JsonMap Provenance(string machine, string boot) => new()
        {
            ["buildDefinition"] = new JsonMap { ["internalParameters"] = new JsonMap { ["worker"] = new JsonMap { ["runner"] = "self-hosted", ["machine"] = machine, ["boot"] = boot } } },
        };

        var shared = AttestationAgreement.Evaluate(new[]
        {
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1, Provenance("sha256:m1", "sha256:b1")),
            Attest(Bob, AttestationAgreement.SlsaProvenanceV1, Sha1, Provenance("sha256:m1", "sha256:b1")),
        }, Trusted, 2);
        Assert.That(shared.Passed, Is.False, "two keys claiming independence on one running machine are one builder");
        Assert.That(shared.SharedWorkers.Single(), Does.Contain(Alice.KeyId.Substring(0, 8)).And.Contain(Bob.KeyId.Substring(0, 8)).And.Contain("one worker"));
        Assert.That(shared.Failures, Has.Some.Contains("only 1 independent builder(s) (2 keys"));
        Assert.That(shared.Failures, Has.Some.Contains("at most 1 of the required 2"));

        var rebooted = AttestationAgreement.Evaluate(new[]
        {
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1, Provenance("sha256:m1", "sha256:b1")),
            Attest(Bob, AttestationAgreement.SlsaProvenanceV1, Sha1, Provenance("sha256:m1", "sha256:b2")),
            Attest(Carol, AttestationAgreement.SlsaProvenanceV1, Sha1),
        }, Trusted, 3);
        Assert.That(rebooted.Passed, Is.True, "another boot (a fresh VM from one image) and a build that names no worker are other builders: " + string.Join("; ", rebooted.Failures));
        Assert.That(rebooted.SharedWorkers, Is.Empty);
    }

    [Test]
    public void Two_of_three_builders_agreeing_pass_and_the_third_is_a_conflict()
    {
        var result = AttestationAgreement.Evaluate(new[]
        {
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1),
            Attest(Bob, ReproducibilityAttestation.PredicateType, Sha1, new JsonMap { { "verdict", "reproducible" } }, reproduced: true),
            Attest(Carol, AttestationAgreement.SlsaProvenanceV1, Sha2),
        }, Trusted, 2);
        Assert.That(result.Passed, Is.True, string.Join("; ", result.Failures));
        Assert.That(result.Conflicts, Has.Count.EqualTo(1));
        Assert.That(result.Builders, Has.Count.EqualTo(3));
    }

    [Test]
    public void One_key_signing_twice_counts_once()
    {
        var result = AttestationAgreement.Evaluate(new[]
        {
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1),
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1),
        }, Trusted, 2);
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures, Has.Some.Contains("1 of the required 2"));
    }

    [Test]
    public void Untrusted_keys_failed_rebuilds_unreproduced_subjects_and_other_predicates_do_not_count()
    {
        var result = AttestationAgreement.Evaluate(new[]
        {
            Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1),
            Attest(Mallory, AttestationAgreement.SlsaProvenanceV1, Sha1),
            Attest(Bob, ReproducibilityAttestation.PredicateType, Sha1, new JsonMap { { "verdict", "not-reproducible" } }),
            Attest(Carol, ReproducibilityAttestation.PredicateType, Sha1, new JsonMap { { "verdict", "reproducible" } }, reproduced: false),
            Attest(Carol, "https://example.com/other/v1", Sha1),
        }, Trusted, 2);
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Ignored, Has.Count.EqualTo(3), string.Join("\n", result.Ignored));
        Assert.That(result.Subjects["App.1.0.0.nupkg"]["sha256:" + Sha1], Has.Count.EqualTo(1));
    }

    [Test]
    public void Required_subjects_must_be_attested()
    {
        var inputs = new[] { Attest(Alice, AttestationAgreement.SlsaProvenanceV1, Sha1), Attest(Bob, AttestationAgreement.SlsaProvenanceV1, Sha1) };
        Assert.That(AttestationAgreement.Evaluate(inputs, Trusted, 2, new[] { "App.1.0.0.nupkg" }).Passed, Is.True);
        var missing = AttestationAgreement.Evaluate(inputs, Trusted, 2, new[] { "Other.nupkg" });
        Assert.That(missing.Passed, Is.False);
        Assert.That(missing.Failures, Has.Some.Contains("Other.nupkg"));
        Assert.Throws<ArgumentOutOfRangeException>(() => AttestationAgreement.Evaluate(inputs, Trusted, 0));
    }
}
