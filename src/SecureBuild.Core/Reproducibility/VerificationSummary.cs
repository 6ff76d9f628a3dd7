using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Reproducibility;

/// <summary>One attestation a verification read: where it came from and the SHA-256 of its bytes.</summary>
public sealed class VerifiedInput
{
    public VerifiedInput(string uri, string sha256)
    {
        Uri = uri;
        Sha256 = sha256;
    }

    public string Uri { get; }

    public string Sha256 { get; }
}

/// <summary>
/// The SLSA Verification Summary Attestation (https://slsa.dev/verification_summary/v1) for a k-of-n comparison
/// (<see cref="AttestationAgreement"/>): the subjects are the outputs at least k builders attested with the same digest,
/// the input attestations are listed with their digests, the policy (when one was given) with its digest.
/// </summary>
public static class VerificationSummary
{
    public const string PredicateType = "https://slsa.dev/verification_summary/v1";

    public const string VerifierId = "https://securebuild.dev/verifiers/compare/v1";

    /// <summary>The summary statement. <paramref name="policy"/>: the policy file's URI and SHA-256, or null.</summary>
    /// <exception cref="ArgumentException">The comparison named no subject at all (there is nothing to summarize).</exception>
    public static InTotoStatement Create(AgreementResult result, int threshold, string resourceUri, IReadOnlyList<VerifiedInput> inputs,
        (string Uri, string Sha256)? policy, DateTimeOffset verifiedAt, string? toolVersion)
    {
        var subjects = new List<ResourceDescriptor>();
        foreach (var subject in result.Subjects)
        {
            var best = subject.Value.OrderByDescending(d => result.Independent(d.Value)).ThenBy(d => d.Key, StringComparer.Ordinal).First();
            // A PASSED summary vouches only for what k independent builders agreed on; a FAILED one names every output it looked at.
            if (result.Passed && result.Independent(best.Value) < threshold)
            {
                continue;
            }

            var colon = best.Key.IndexOf(':');
            subjects.Add(new ResourceDescriptor(subject.Key, new Dictionary<string, string> { [best.Key.Substring(0, colon)] = best.Key.Substring(colon + 1) }));
        }

        var verifier = new JsonMap { ["id"] = VerifierId };
        if (toolVersion is not null)
        {
            verifier["version"] = new JsonMap { ["securebuild"] = toolVersion };
        }

        var predicate = new JsonMap
        {
            ["verifier"] = verifier,
            ["timeVerified"] = verifiedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["resourceUri"] = resourceUri,
        };
        if (policy is { } p)
        {
            predicate["policy"] = new JsonMap { ["uri"] = p.Uri, ["digest"] = new JsonMap { ["sha256"] = p.Sha256 } };
        }

        predicate["inputAttestations"] = new JsonList(inputs.Select(i => (JsonItem)new JsonMap { ["uri"] = i.Uri, ["digest"] = new JsonMap { ["sha256"] = i.Sha256 } }));
        predicate["verificationResult"] = result.Passed ? "PASSED" : "FAILED";
        // What was verified: provenance (SLSA Build L1: it exists and is signed) from k distinct builders agreeing.
        predicate["verifiedLevels"] = result.Passed ? new JsonList("SLSA_BUILD_LEVEL_1") : new JsonList();
        predicate["slsaVersion"] = "1.0";
        return new InTotoStatement(subjects, PredicateType, predicate);
    }
}
