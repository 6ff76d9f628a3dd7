using SecureBuild.Cli;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>
/// `securebuild compare --policy --vsa`: the SLSA verification summary the generated pipelines publish (issue #14):
/// PASSED with the agreed subjects, the policy's and every input's digest; FAILED when builders disagree; signed with
/// --vsa-key; a policy that contradicts the command line or cannot be met is SB5450.
/// </summary>
public sealed class VerificationSummaryTests
{
    private const string Policy = "{\n \"builders\": [\n  \"ubuntu-24.04\",\n  \"ubuntu-22.04\",\n  \"container\"\n ],\n \"format\": \"securebuild-policy/v1\",\n \"threshold\": 2\n}\n";

    [Test]
    public void Agreement_writes_a_PASSED_summary_naming_the_outputs_the_policy_and_each_input()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64), new string('b', 64));
        var policy = dir.Write("securebuild/policy.json", Policy);
        var vsa = Path.Combine(dir.Path, "out", "vsa.json");
        var predicate = Path.Combine(dir.Path, "out", "vsa.predicate.json");
        var result = Run(keys.Concat(new[] { "--policy", policy, "--vsa", vsa, "--vsa-predicate", predicate, "--resource-uri", "git+https://example.invalid/repo@abc" }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(0), result.Out + result.Err);

        var statement = InTotoStatement.Parse(File.ReadAllBytes(vsa));
        Assert.That(statement.PredicateType, Is.EqualTo("https://slsa.dev/verification_summary/v1"));
        Assert.That(statement.Subjects.Single().Name, Is.EqualTo("App.1.0.0.nupkg"));
        Assert.That(statement.Subjects.Single().Digest["sha256"], Is.EqualTo(new string('a', 64)), "the digest two of three agreed on");
        var p = statement.Predicate!;
        Assert.That(((JsonString)p["verificationResult"]).Value, Is.EqualTo("PASSED"));
        Assert.That(((JsonString)p["resourceUri"]).Value, Is.EqualTo("git+https://example.invalid/repo@abc"));
        Assert.That(((JsonString)((JsonMap)((JsonMap)p["policy"])["digest"])["sha256"]).Value, Is.EqualTo(Sha256Hex.Of(File.ReadAllBytes(policy))));
        var inputs = ((JsonList)p["inputAttestations"]).Cast<JsonMap>().ToList();
        Assert.That(inputs, Has.Count.EqualTo(3));
        Assert.That(((JsonString)((JsonMap)inputs[2]["digest"])["sha256"]).Value, Is.EqualTo(Sha256Hex.Of(File.ReadAllBytes(files[2]))));
        Assert.That(JsonParser.Parse(File.ReadAllBytes(predicate)) is JsonMap alone && JsonItem.DeepEquals(alone, p), "--vsa-predicate is the predicate alone");
    }

    [Test]
    public void Disagreement_fails_and_the_summary_says_FAILED()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('b', 64), new string('c', 64));
        var vsa = Path.Combine(dir.Path, "vsa.json");
        var result = Run(keys.Concat(new[] { "--threshold", "2", "--vsa", vsa, "--resource-uri", "git+x" }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(1));
        var statement = InTotoStatement.Parse(File.ReadAllBytes(vsa));
        Assert.That(((JsonString)statement.Predicate!["verificationResult"]).Value, Is.EqualTo("FAILED"));
        Assert.That(((JsonList)statement.Predicate!["verifiedLevels"]).Count, Is.EqualTo(0));
    }

    [Test]
    public void With_a_key_the_summary_is_a_signed_envelope()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64));
        var signer = SigningKey.Generate(KeyType.Ed25519);
        var keyFile = dir.Write("vsa.key", signer.ExportPrivate());
        var vsa = Path.Combine(dir.Path, "vsa.intoto.jsonl");
        var result = Run(keys.Concat(new[] { "--threshold", "2", "--vsa", vsa, "--vsa-key", keyFile, "--resource-uri", "git+x" }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
        var envelope = DsseEnvelope.Parse(File.ReadAllText(vsa).Trim());
        Assert.That(envelope.Verify(signer.Public, DsseEnvelope.InTotoPayloadType).Verified);
        Assert.That(InTotoStatement.Parse(envelope.Payload).PredicateType, Is.EqualTo(VerificationSummary.PredicateType));
    }

    [TestCase("{\"builders\":[\"a\"],\"format\":\"securebuild-policy/v1\",\"threshold\":2}", new string[0], "requires 2 of 1 builder(s)")]
    [TestCase("{\"builders\":[\"a\",\"b\"],\"format\":\"securebuild-policy/v1\",\"threshold\":2,\"extra\":1}", new string[0], "unknown member \"extra\"")]
    [TestCase("{\"builders\":[\"a\",\"b\"],\"format\":\"other\",\"threshold\":2}", new string[0], "securebuild-policy/v1")]
    [TestCase("not json", new string[0], "not strict JSON")]
    [TestCase(Policy, new[] { "--threshold", "3" }, "contradicts the policy")]
    public void A_policy_that_cannot_be_applied_is_SB5450(string policy, string[] extra, string reason)
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64), new string('a', 64));
        var result = Run(keys.Concat(new[] { "--policy", dir.Write("policy.json", policy) }).Concat(extra).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(2), result.Out);
        Assert.That(result.Err, Does.Contain("SB5450").Or.Contain("contradicts"));
        Assert.That(result.Err, Does.Contain(reason));
    }

    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":4}", "", "3 builder(s), but the organisation policy requires at least 4")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"minThreshold\":3}", "", "a threshold of 2, but the organisation policy requires at least 3")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"allowSelfHosted\":false}", "self-hosted:linux", "self-hosted:linux are self-hosted")]
    public void Verification_below_the_organisation_policy_fails_with_SB5453_and_writes_no_summary(string org, string extraBuilder, string reason)
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64), new string('a', 64));
        var policy = dir.Write("securebuild/policy.json", extraBuilder.Length == 0 ? Policy : Policy.Replace("  \"container\"\n", $"  \"{extraBuilder}\"\n"));
        var vsa = Path.Combine(dir.Path, "vsa.json");
        var common = keys.Concat(new[] { "--policy", policy, "--vsa", vsa, "--resource-uri", "git+x" }).ToList();
        Assert.That(Run(common.Concat(files)).Exit, Is.EqualTo(0), "the same verification passes without the organisation policy");
        File.Delete(vsa);

        var result = Run(common.Concat(new[] { "--org-policy", dir.Write("org.json", org) }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(1), result.Out);
        Assert.That(result.Err, Does.Contain("SB5453").And.Contain(reason));
        Assert.That(File.Exists(vsa), Is.False, "no summary for a verification the organisation does not accept");
    }

    [Test]
    public void A_self_hosted_runner_named_by_provenance_fails_an_organisation_policy_without_self_hosted()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64));
        var key = SigningKey.Generate(KeyType.Ed25519);
        keys.AddRange(new[] { "--key", dir.Write("b9/builder.key.pub", key.ExportPublic()) });
        var predicate = new JsonMap { ["buildDefinition"] = new JsonMap { ["internalParameters"] = new JsonMap { ["worker"] = new JsonMap { ["runner"] = "self-hosted" } } } };
        var input = AgreementTests.Attest(key, AttestationAgreement.SlsaProvenanceV1, new string('a', 64), predicate);
        files.Add(dir.Write("b9/pack.provenance.intoto.jsonl", JsonText.Write(input.Envelope.ToJson(), indented: false) + "\n"));

        var org = dir.Write("org.json", "{\"format\":\"securebuild-org-policy/v1\",\"allowSelfHosted\":false}");
        var result = Run(keys.Concat(new[] { "--threshold", "2", "--org-policy", org }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(1), result.Out);
        Assert.That(result.Err, Does.Contain("SB5453").And.Contain(key.KeyId.Substring(0, 8)).And.Contain("self-hosted runner built it"));
        Assert.That(Run(keys.Concat(new[] { "--threshold", "2" }).Concat(files)).Exit, Is.EqualTo(0), "without the organisation policy the same builds pass");
    }

    [Test]
    public void Verification_that_meets_the_organisation_policy_passes()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64), new string('a', 64));
        var org = dir.Write("org.json", "{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":3,\"minThreshold\":2,\"allowSelfHosted\":false,\"engines\":[\"github\"]}");
        var result = Run(keys.Concat(new[] { "--policy", dir.Write("securebuild/policy.json", Policy), "--org-policy", org }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
    }

    [Test]
    public void The_organisation_policy_can_be_a_target_of_the_organisations_TUF_repository()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64), new string('a', 64));
        var (metadata, served) = TrustRepository(dir, "policies/org.json", "{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":4}");
        var trust = new[] { "--trust-repo", metadata, "--trust-root", Path.Combine(metadata, "1.root.json"), "--trust-cache", Path.Combine(dir.Path, "cache") };
        var common = keys.Concat(new[] { "--threshold", "2", "--org-policy", "policies/org.json" }).Concat(trust).ToList();

        var fromRepository = Run(common.Concat(files));
        Assert.That(fromRepository.Exit, Is.EqualTo(1), fromRepository.Out + fromRepository.Err);
        Assert.That(fromRepository.Err, Does.Contain("SB5453").And.Contain("3 builder(s), but the organisation policy requires at least 4"),
            "the policy was read through TUF: there is no local file policies/org.json");

        // The served file changed behind the repository's back (same length, other bytes): refused, nothing verified.
        File.WriteAllText(served, File.ReadAllText(served).Replace("\"minBuilders\":4", "\"minBuilders\":1", StringComparison.Ordinal));
        var tampered = Run(common.Concat(files));
        Assert.That(tampered.Exit, Is.EqualTo(1), tampered.Out + tampered.Err);
        Assert.That(tampered.Err, Does.Contain("SB5209").And.Contain("policies/org.json"));
        Assert.That(tampered.Out, Does.Not.Contain("PASSED"));
    }

    /// <summary>An organisation TUF repository (trust init/add/publish) serving <paramref name="content"/> as <paramref name="target"/>: its metadata folder and the served file.</summary>
    internal static (string Metadata, string Served) TrustRepository(TempDirectory dir, string target, string content)
    {
        var key = dir.Write("tuf/repo.key", SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
        var repo = Path.Combine(dir.Path, "tuf", "repo");
        var file = dir.Write("tuf/org.json", content);
        foreach (var args in new[]
        {
            new[] { "trust", "init", "--repo", repo, "--root-key", key, "--targets-key", key, "--snapshot-key", key, "--timestamp-key", key },
            new[] { "trust", "add", "--repo", repo, file, "--name", target, "--key", key },
            new[] { "trust", "publish", "--repo", repo, "--snapshot-key", key, "--timestamp-key", key },
        })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Assert.That(CliApplication.Run(args, stdout, stderr), Is.EqualTo(0), stdout + stderr.ToString());
        }

        var served = Directory.GetFiles(Path.Combine(repo, "targets"), "*org.json", SearchOption.AllDirectories).Single();
        return (Path.Combine(repo, "metadata"), served);
    }

    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"maxBuilders\":4}", "unknown member \"maxBuilders\"")]
    [TestCase("{\"format\":\"securebuild-policy/v1\"}", "securebuild-org-policy/v1")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"minThreshold\":\"2\"}", "\"minThreshold\" that is not a whole number")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"minThreshold\":0}", "\"minThreshold\" that is not a whole number")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"minThreshold\":3,\"minBuilders\":2}", "minThreshold above minBuilders")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"allowSelfHosted\":\"no\"}", "not true or false")]
    [TestCase("{\"format\":\"securebuild-org-policy/v1\",\"engines\":[\"jenkins\"]}", "\"engines\"")]
    [TestCase("[]", "not a JSON object")]
    public void An_organisation_policy_that_cannot_be_applied_is_SB5452(string org, string reason)
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64));
        var result = Run(keys.Concat(new[] { "--threshold", "2", "--org-policy", dir.Write("org.json", org) }).Concat(files));
        Assert.That(result.Exit, Is.EqualTo(2), result.Out);
        Assert.That(result.Err, Does.Contain("SB5452").And.Contain(reason));
    }

    [Test]
    public void A_summary_needs_a_resource_uri_and_a_key_needs_a_summary()
    {
        using var dir = new TempDirectory();
        var (keys, files) = Builders(dir, new string('a', 64), new string('a', 64));
        Assert.That(Run(keys.Concat(new[] { "--threshold", "2", "--vsa", Path.Combine(dir.Path, "v.json") }).Concat(files)).Exit, Is.EqualTo(2));
        Assert.That(Run(keys.Concat(new[] { "--threshold", "2", "--vsa-key", "k" }).Concat(files)).Exit, Is.EqualTo(2));
    }

    /// <summary>One builder per digest: its key and its provenance attestation for App.1.0.0.nupkg.</summary>
    private static (List<string> KeyOptions, List<string> Files) Builders(TempDirectory dir, params string[] digests)
    {
        var keys = new List<string>();
        var files = new List<string>();
        for (int i = 0; i < digests.Length; i++)
        {
            var key = SigningKey.Generate(KeyType.Ed25519);
            keys.Add("--key");
            keys.Add(dir.Write($"b{i}/builder.key.pub", key.ExportPublic()));
            var input = AgreementTests.Attest(key, AttestationAgreement.SlsaProvenanceV1, digests[i]);
            files.Add(dir.Write($"b{i}/pack.provenance.intoto.jsonl", JsonText.Write(input.Envelope.ToJson(), indented: false) + "\n"));
        }

        return (keys, files);
    }

    private static (int Exit, string Out, string Err) Run(IEnumerable<string> args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApplication.Run(new[] { "compare" }.Concat(args).ToArray(), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
