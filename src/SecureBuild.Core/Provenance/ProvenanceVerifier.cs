using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Checks SLSA provenance for one artifact, like slsa-verifier: a DSSE envelope signed by the
/// trusted key, an in-toto Statement v1 with predicate SLSA provenance v1, the artifact's digest
/// among the subjects, and optionally the expected builder and source repository.
/// </summary>
public static class ProvenanceVerifier
{
    public const string SlsaProvenanceV1 = "https://slsa.dev/provenance/v1";

    /// <param name="envelopes">Candidate envelopes (a .intoto.jsonl file may hold several); the first that verifies and is provenance is checked.</param>
    /// <param name="key">The builder's public key.</param>
    /// <param name="artifactDigests">Digests of the artifact (algorithm to lowercase hex); one match with a subject suffices.</param>
    /// <param name="expectedBuilderId">runDetails.builder.id must equal this, when given.</param>
    /// <param name="expectedSourceUri">The source repository (with or without "git+"), when given.</param>
    /// <param name="policy">What is demanded of the worker and the pipeline state, when given.</param>
    public static StatementVerification Verify(IEnumerable<DsseEnvelope> envelopes, PublicKey key,
        IReadOnlyDictionary<string, string> artifactDigests, string? expectedBuilderId = null, string? expectedSourceUri = null, ProvenancePolicy? policy = null)
    {
        var failures = new List<string>();
        var signatureFailures = new List<string>();
        var statement = InTotoStatement.FirstSigned(envelopes, new[] { key }, SlsaProvenanceV1, signatureFailures);
        if (statement is null)
        {
            failures.Add(signatureFailures.Count == 0
                ? "the file holds no DSSE envelope"
                : $"no SLSA provenance signed by key {key.KeyId} was found: {string.Join("; ", signatureFailures.Distinct())}");
            return new StatementVerification(failures, null);
        }

        return VerifyClaims(statement, artifactDigests, expectedBuilderId, expectedSourceUri, policy);
    }

    /// <summary>
    /// The checks after the signature: the statement is SLSA provenance v1, the artifact is a subject, and the builder
    /// and source are the expected ones, and the <paramref name="policy"/> holds (the worker; the pipeline state against
    /// the repository). For a statement whose signature was verified elsewhere (a keyless bundle).
    /// </summary>
    public static StatementVerification VerifyClaims(InTotoStatement statement, IReadOnlyDictionary<string, string> artifactDigests,
        string? expectedBuilderId = null, string? expectedSourceUri = null, ProvenancePolicy? policy = null)
    {
        if (statement is null)
        {
            throw new ArgumentNullException(nameof(statement));
        }

        var failures = new List<string>();
        if (statement.PredicateType != SlsaProvenanceV1)
        {
            failures.Add($"the signed statement's predicateType is '{statement.PredicateType}', not '{SlsaProvenanceV1}'");
            return new StatementVerification(failures, statement);
        }

        var predicate = statement.Predicate;
        if (!artifactDigests.Any(d => statement.HasSubjectDigest(d.Key, d.Value)))
        {
            failures.Add("the artifact is not a subject of the provenance: its " +
                string.Join(", ", artifactDigests.Select(d => $"{d.Key} {d.Value}")) + " matches none of " +
                string.Join(", ", statement.Subjects.Select(s => s.Name ?? "(unnamed)")));
        }

        if (expectedBuilderId is not null)
        {
            var builder = Get(predicate, "runDetails", "builder", "id");
            if (builder != expectedBuilderId)
            {
                failures.Add($"builder id is '{builder ?? "(none)"}', expected '{expectedBuilderId}'");
            }
        }

        if (expectedSourceUri is not null)
        {
            var source = Get(predicate, "buildDefinition", "externalParameters", "source", "uri");
            if (source is null || !SameSource(source, expectedSourceUri))
            {
                failures.Add($"source is '{source ?? "(none)"}', expected '{expectedSourceUri}'");
            }
        }

        if (policy is not null)
        {
            failures.AddRange(policy.Worker.Check(predicate));
            if (policy.Repository is not null)
            {
                failures.AddRange(DefinitionVerification.Check(predicate, policy.Repository));
            }
        }

        return new StatementVerification(failures, statement);
    }

    private static bool SameSource(string recorded, string expected)
    {
        static string Normalize(string uri)
        {
            uri = uri.Trim();
            if (uri.StartsWith("git+", StringComparison.OrdinalIgnoreCase))
            {
                uri = uri.Substring(4);
            }
            var at = uri.IndexOf('@', uri.IndexOf("://", StringComparison.Ordinal) + 3);
            if (at > 0 && uri.IndexOf('/', uri.IndexOf("://", StringComparison.Ordinal) + 3) < at)
            {
                uri = uri.Substring(0, at); // "repo@refs/heads/main": compare the repository
            }
            if (uri.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
            {
                uri = uri.Substring(0, uri.Length - 4);
            }
            return uri.TrimEnd('/');
        }
        return string.Equals(Normalize(recorded), Normalize(expected), StringComparison.OrdinalIgnoreCase);
    }

    private static string? Get(JsonMap? node, params string[] path)
    {
        JsonItem? current = node;
        foreach (var key in path)
        {
            if (current is not JsonMap obj || !obj.TryGetValue(key, out current))
            {
                return null;
            }
        }
        return current is JsonString s ? s.Value : null;
    }
}

/// <summary>What a verifier demands beyond signature, subject, builder and source (issue #14).</summary>
public sealed class ProvenancePolicy
{
    /// <summary>The rules for the worker that built it.</summary>
    public WorkerPolicy Worker { get; set; } = new();

    /// <summary>A clone of the built repository (the folder the build used as its root): the recorded definitions must equal its files at the built commit.</summary>
    public string? Repository { get; set; }
}
