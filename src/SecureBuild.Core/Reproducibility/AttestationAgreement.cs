using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Reproducibility;

/// <summary>One attestation considered by <see cref="AttestationAgreement"/>.</summary>
/// <param name="Source">Where it came from (file name and line), for messages.</param>
/// <param name="Envelope">The signed attestation.</param>
public sealed record AttestationInput(string Source, DsseEnvelope Envelope);

/// <summary>The verdict of a k-of-n comparison.</summary>
public sealed class AgreementResult
{
    public bool Passed { get; internal set; }

    /// <summary>Subject name → (digest → key ids that attest it).</summary>
    public SortedDictionary<string, Dictionary<string, SortedSet<string>>> Subjects { get; } = new(StringComparer.Ordinal);

    /// <summary>Attestations not counted, with the reason.</summary>
    public List<string> Ignored { get; } = new();

    /// <summary>Why the check failed (empty when it passed).</summary>
    public List<string> Failures { get; } = new();

    /// <summary>Subjects attested with more than one digest.</summary>
    public List<string> Conflicts { get; } = new();

    /// <summary>Distinct keys whose attestations were counted.</summary>
    public SortedSet<string> Builders { get; } = new(StringComparer.Ordinal);

    /// <summary>Keys whose provenance says they ran on the same worker (machine and boot), so they count once.</summary>
    public List<string> SharedWorkers { get; } = new();

    /// <summary>Key id → the runner kind its provenance names (internalParameters.worker.runner: github-hosted, self-hosted, ...), where it names one.</summary>
    public Dictionary<string, string> Runners { get; } = new(StringComparer.Ordinal);

    /// <summary>Key id → the worker its provenance names (machine/boot hash), where it names one.</summary>
    internal Dictionary<string, string> Workers { get; } = new(StringComparer.Ordinal);

    /// <summary>How many independent builders <paramref name="keys"/> are: keys on one worker count once.</summary>
    public int Independent(IEnumerable<string> keys) => keys.Select(k => Workers.TryGetValue(k, out var w) ? "worker:" + w : "key:" + k).Distinct(StringComparer.Ordinal).Count();
}

/// <summary>
/// k-of-n agreement between builders: SLSA provenance and reproducibility attestations (DSSE, in-toto Statement v1)
/// from different builders are verified against trusted keys; a subject is confirmed when at least k distinct keys
/// attest the same digest for its name (keys whose provenance names the same worker, machine and boot, count once).
/// Subjects a reproducibility attestation marks as not reproduced, and
/// attestations with the verdict not-reproducible, are not counted.
/// </summary>
public static class AttestationAgreement
{
    public const string SlsaProvenanceV1 = "https://slsa.dev/provenance/v1";

    public static AgreementResult Evaluate(IEnumerable<AttestationInput> attestations, IReadOnlyList<PublicKey> trustedKeys, int threshold, IReadOnlyCollection<string>? requiredSubjects = null)
    {
        if (threshold < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), "the threshold must be at least 1");
        }

        var result = new AgreementResult();
        foreach (var input in attestations)
        {
            var signer = trustedKeys.Distinct().FirstOrDefault(k => input.Envelope.Verify(k, DsseEnvelope.InTotoPayloadType).Verified);
            if (signer is null)
            {
                result.Ignored.Add($"{input.Source}: not signed by any trusted key");
                continue;
            }

            InTotoStatement statement;
            try
            {
                statement = InTotoStatement.Parse(input.Envelope.Payload);
            }
            catch (AttestationFormatException e)
            {
                result.Ignored.Add($"{input.Source}: {e.Message}");
                continue;
            }

            if (statement.PredicateType != SlsaProvenanceV1 && statement.PredicateType != ReproducibilityAttestation.PredicateType)
            {
                result.Ignored.Add($"{input.Source}: predicate type {statement.PredicateType} is neither SLSA provenance v1 nor reproducibility v1");
                continue;
            }

            if (statement.PredicateType == ReproducibilityAttestation.PredicateType &&
                statement.Predicate is { } p && p.TryGetValue("verdict", out var verdict) && verdict is JsonString v && v.Value != "reproducible")
            {
                result.Ignored.Add($"{input.Source}: the rebuild's verdict is \"{v.Value}\"");
                continue;
            }

            result.Builders.Add(signer.KeyId);
            if (statement.PredicateType == SlsaProvenanceV1 && !result.Workers.ContainsKey(signer.KeyId) && Provenance.WorkerIdentity.Of(statement.Predicate) is { } worker)
            {
                result.Workers[signer.KeyId] = worker;
            }

            if (statement.PredicateType == SlsaProvenanceV1 && Provenance.WorkerIdentity.RunnerOf(statement.Predicate) is { } runner &&
                (!result.Runners.TryGetValue(signer.KeyId, out _) || runner == "self-hosted"))
            {
                result.Runners[signer.KeyId] = runner; // one self-hosted build of a key is enough to say so
            }

            foreach (var subject in statement.Subjects)
            {
                if (subject.Name is null)
                {
                    continue;
                }

                if (subject.Annotations is { } a && a.TryGetValue("reproduced", out var r) && r is JsonBool b && !b.Value)
                {
                    continue;
                }

                var digest = subject.Digest.TryGetValue("sha256", out var sha) ? "sha256:" + sha.ToLowerInvariant()
                    : subject.Digest.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + ":" + kv.Value.ToLowerInvariant()).First();
                if (!result.Subjects.TryGetValue(subject.Name, out var digests))
                {
                    digests = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
                    result.Subjects[subject.Name] = digests;
                }

                if (!digests.TryGetValue(digest, out var keys))
                {
                    keys = new SortedSet<string>(StringComparer.Ordinal);
                    digests[digest] = keys;
                }

                keys.Add(signer.KeyId);
            }
        }

        foreach (var shared in result.Workers.GroupBy(w => w.Value, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            result.SharedWorkers.Add($"the keys {string.Join(", ", shared.Select(w => w.Key.Substring(0, Math.Min(8, w.Key.Length))))} ran on one worker (machine and boot {Short(shared.Key)}): they count as one builder");
        }

        int independent = result.Independent(result.Builders);
        if (independent < threshold)
        {
            result.Failures.Add(independent == result.Builders.Count
                ? $"only {result.Builders.Count} distinct trusted builder key(s) signed usable attestations; {threshold} required"
                : $"only {independent} independent builder(s) ({result.Builders.Count} keys, some on one worker) signed usable attestations; {threshold} required");
        }

        var names = requiredSubjects is { Count: > 0 } ? requiredSubjects.ToList() : result.Subjects.Keys.ToList();
        foreach (var name in names)
        {
            if (!result.Subjects.TryGetValue(name, out var digests))
            {
                result.Failures.Add($"{name}: no trusted attestation names this subject");
                continue;
            }

            if (digests.Count > 1)
            {
                result.Conflicts.Add($"{name}: " + string.Join("; ", digests.Select(d => $"{Short(d.Key)} by {d.Value.Count} key(s)")));
            }

            var best = digests.OrderByDescending(d => result.Independent(d.Value)).First();
            if (result.Independent(best.Value) < threshold)
            {
                result.Failures.Add($"{name}: at most {result.Independent(best.Value)} of the required {threshold} builders agree on a digest ({Short(best.Key)})");
            }
        }

        if (names.Count == 0 && result.Failures.Count == 0)
        {
            result.Failures.Add("no subjects to compare");
        }

        result.Passed = result.Failures.Count == 0;
        return result;
    }

    private static string Short(string digest) => digest.Length > 23 ? digest.Substring(0, 23) + "…" : digest;
}
