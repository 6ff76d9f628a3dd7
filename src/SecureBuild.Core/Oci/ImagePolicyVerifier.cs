using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Oci;

/// <summary>What <see cref="ImagePolicyVerifier"/> decided, and why.</summary>
public sealed class ImageVerdict
{
    internal ImageVerdict(bool allowed, string? code, string? rule, string message, IReadOnlyList<string> report)
    {
        Allowed = allowed;
        Code = code;
        Rule = rule;
        Message = message;
        Report = report;
    }

    public bool Allowed { get; }

    /// <summary>The SB code of a refusal (SB5161..SB5165), null when allowed.</summary>
    public string? Code { get; }

    /// <summary>The rule that refused, or null.</summary>
    public string? Rule { get; }

    public string Message { get; }

    /// <summary>One line per signature or attestation found and per rule checked.</summary>
    public IReadOnlyList<string> Report { get; }
}

/// <summary>
/// Checks an image against an <see cref="ImagePolicy"/> the way Kyverno's verifyImages does: the image must be pinned
/// by digest and come from an allowed registry; every rule whose imageReferences match it must be satisfied: in each
/// attestor set, <c>count</c> entries must have signed the image, and each required attestation (by predicate type)
/// must be signed by its attestors. The manifest is read by digest (checked); signatures and attestations are found
/// through the referrers API or its tag, cosign's <c>.att</c> tag and cosign's <c>.sig</c> tag, and verified with
/// the Sigstore bundle verifier against the trusted root (keyless) or the key. A DSSE statement counts only when
/// the image digest is one of its subjects.
/// </summary>
public static class ImagePolicyVerifier
{
    /// <summary>Everything the registry holds about an image, fetched once.</summary>
    private sealed class Evidence
    {
        public Evidence(string source, SigstoreBundle? bundle = null, DsseEnvelope? envelope = null, byte[]? payload = null, byte[]? signature = null)
        {
            Source = source;
            Bundle = bundle;
            Envelope = envelope;
            Payload = payload;
            Signature = signature;
        }

        public string Source { get; }

        public SigstoreBundle? Bundle { get; }

        public DsseEnvelope? Envelope { get; }

        public byte[]? Payload { get; }

        public byte[]? Signature { get; }
    }

    /// <summary>
    /// The verdict for <paramref name="image"/>. Registry failures (unreachable, digest mismatch, too large, malformed)
    /// are thrown as <see cref="OciException"/>; a refusal by the policy is a verdict.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="image">The image (a tag is refused).</param>
    /// <param name="trustedRoot">The trusted root for keyless attestors (an empty one is enough for keys only).</param>
    /// <param name="client">Makes the registry client for the image's repository (credentials, HTTP limits).</param>
    /// <param name="now">The verifier's clock (null: the system clock).</param>
    public static ImageVerdict Verify(ImagePolicy policy, ImageReference image, SigstoreTrustedRoot trustedRoot, Func<OciRepository, OciRegistryClient> client, DateTimeOffset? now = null)
    {
        var report = new List<string>();
        if (image.Digest is null)
        {
            return Refuse(OciException.NotPinned, null, $"{image} is named by a tag, which the registry can move to other content", report);
        }

        if (!policy.AllowedRegistries.Any(p => p.IsMatch(image.Name)))
        {
            return Refuse(OciException.RegistryNotAllowed, null, $"{image.Name} is not in the policy's allowedRegistries ({string.Join(", ", policy.AllowedRegistries)})", report);
        }

        var registry = client(image.Repository);
        if (registry.GetManifest(image.Digest) is null)
        {
            return Refuse(OciException.ImageNotFound, null, $"{image.Name} has no manifest {image.Digest}", report);
        }

        report.Add($"manifest {image.Digest} read from {image.Name}, digest checked");
        var rules = policy.Rules.Where(r => r.AppliesTo(image)).ToList();
        if (rules.Count == 0)
        {
            return new ImageVerdict(true, null, null, $"{image}: no rule of the policy applies to it; its registry is allowed", report);
        }

        var evidence = Collect(registry, image.Digest, report);
        var verifier = new SigstoreVerifier(trustedRoot);
        var cache = new Dictionary<(ImageAttestor, Evidence), (string? Kind, string? Failure)>();
        (string? Kind, string? Failure) Check(ImageAttestor attestor, Evidence e)
        {
            if (!cache.TryGetValue((attestor, e), out var r))
            {
                r = CheckOne(attestor, e, image.Digest!, verifier, now);
                cache[(attestor, e)] = r;
            }

            return r;
        }

        foreach (var rule in rules)
        {
            for (int i = 0; i < rule.Attestors.Count; i++)
            {
                string? why = Unsatisfied(rule.Attestors[i], evidence, ImagePolicy.CosignSignPredicateType, Check);
                if (why is not null)
                {
                    return Refuse(OciException.SignatureMissing, rule.Name, $"rule '{rule.Name}' (attestors[{i}]): {why}", report);
                }
            }

            foreach (var required in rule.Attestations)
            {
                for (int i = 0; i < required.Attestors.Count; i++)
                {
                    string? why = Unsatisfied(required.Attestors[i], evidence, required.PredicateType, Check);
                    if (why is not null)
                    {
                        return Refuse(OciException.AttestationMissing, rule.Name, $"rule '{rule.Name}' requires a {required.PredicateType} attestation: {why}", report);
                    }
                }
            }

            report.Add($"rule '{rule.Name}': satisfied");
        }

        return new ImageVerdict(true, null, null, $"{image}: allowed by rule(s) {string.Join(", ", rules.Select(r => "'" + r.Name + "'"))}", report);
    }

    /// <summary>The trusted root for a policy: the CLI's or the policy's file, or an empty root when only keys are named.</summary>
    /// <exception cref="OciException">SB5160: a keyless attestor and no trusted root, or an unreadable one.</exception>
    public static SigstoreTrustedRoot TrustedRoot(ImagePolicy policy, string? overridePath)
    {
        string? path = overridePath is null ? policy.TrustedRootPath : Path.GetFullPath(overridePath);
        if (path is null)
        {
            if (policy.NeedsTrustedRoot)
            {
                throw new OciException(OciException.PolicyInvalid, "the image policy names keyless attestors but no trusted root", "Set \"trustedRoot\" in the policy (a trusted_root.json beside it), or give --trusted-root.");
            }

            return SigstoreTrustedRoot.Parse("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}"u8.ToArray());
        }

        try
        {
            return SigstoreTrustedRoot.Load(path);
        }
        catch (Exception e) when (e is SigstoreFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            throw new OciException(OciException.PolicyInvalid, $"the trusted root {path} cannot be used: {e.Message}", "Name a Sigstore trusted_root.json.", e);
        }
    }

    private static List<Evidence> Collect(OciRegistryClient registry, string digest, List<string> report)
    {
        var evidence = new List<Evidence>();
        var (bundles, envelopes) = OciAttestationStore.Pull(registry, digest);
        foreach (var (name, bytes) in bundles)
        {
            evidence.Add(new Evidence("bundle " + name, bundle: OciAttestationStore.ParseBundle(bytes, $"{registry.Repository}: the bundle {name}")));
        }

        foreach (var (name, bytes) in envelopes)
        {
            evidence.Add(new Evidence("cosign .att envelope " + name, envelope: DsseEnvelope.Parse(bytes)));
        }

        foreach (var (payload, signature) in OciAttestationStore.PullCosignSignatures(registry, digest))
        {
            evidence.Add(new Evidence("cosign .sig signature", payload: payload, signature: signature));
        }

        report.Add($"found {bundles.Count} Sigstore bundle(s), {envelopes.Count} other cosign .att envelope(s) and {evidence.Count - bundles.Count - envelopes.Count} cosign .sig signature(s)");
        return evidence;
    }

    /// <summary>Null when the set is satisfied for <paramref name="kind"/>, else why not.</summary>
    private static string? Unsatisfied(ImageAttestorSet set, List<Evidence> evidence, string kind, Func<ImageAttestor, Evidence, (string? Kind, string? Failure)> check)
    {
        var signed = new List<ImageAttestor>();
        var reasons = new List<string>();
        foreach (var attestor in set.Entries)
        {
            bool ok = false;
            foreach (var e in evidence)
            {
                var (k, failure) = check(attestor, e);
                if (k == kind)
                {
                    ok = true;
                    break;
                }

                if (failure is not null && reasons.Count < 4)
                {
                    reasons.Add($"{e.Source} for {attestor.Description}: {failure}");
                }
            }

            if (ok)
            {
                signed.Add(attestor);
            }
        }

        if (signed.Count >= set.Count)
        {
            return null;
        }

        string what = kind == ImagePolicy.CosignSignPredicateType ? "signed the image" : "signed such an attestation";
        string found = evidence.Count == 0 ? "the registry holds no signatures or attestations for the image" : string.Join("; ", reasons.DefaultIfEmpty("none of them is of that kind"));
        return $"{signed.Count} of the required {set.Count} ({string.Join(", ", set.Entries.Select(a => a.Description))}) {what} ({found})";
    }

    /// <summary>What <paramref name="e"/> proves when checked against <paramref name="attestor"/>: the cosign sign
    /// predicate type for an image signature, an attestation's predicate type, or nothing (with why).</summary>
    private static (string? Kind, string? Failure) CheckOne(ImageAttestor attestor, Evidence e, string digest, SigstoreVerifier verifier, DateTimeOffset? now)
    {
        string hex = digest.Substring("sha256:".Length);
        if (e.Bundle is { } bundle)
        {
            if ((bundle.MaterialKind == VerificationMaterialKind.PublicKey) != !attestor.IsKeyless)
            {
                return (null, attestor.IsKeyless ? "signed with a key, not a certificate" : "signed with a certificate, not a key");
            }

            Hex.TryDecode(hex, out byte[] raw);
            var result = verifier.Verify(bundle, SigstoreArtifact.FromSha256(raw), attestor.Options(now));
            if (!result.Verified)
            {
                return (null, $"{result.FailureCode}: {result.Failure}");
            }

            if (bundle.DsseEnvelope is null)
            {
                return (ImagePolicy.CosignSignPredicateType, null);
            }

            return result.Statement is { } statement ? (statement.PredicateType, null) : (null, "the DSSE payload is not an in-toto statement");
        }

        if (attestor.Key is not { } key || !attestor.IgnoreTlog)
        {
            return (null, "cosign's tag layout carries no transparency-log proof SecureBuild checks; only a key attestor with ignoreTlog accepts it");
        }

        if (e.Envelope is { } envelope)
        {
            var verified = envelope.Verify(key, DsseEnvelope.InTotoPayloadType, requireSingleSignature: false);
            if (!verified.Verified)
            {
                return (null, verified.Failure);
            }

            InTotoStatement statement;
            try
            {
                statement = InTotoStatement.Parse(envelope.Payload);
            }
            catch (AttestationFormatException ex)
            {
                return (null, "the payload is not an in-toto statement: " + ex.Message);
            }

            return statement.HasSubjectDigest("sha256", hex) ? (statement.PredicateType, null) : (null, $"the statement is not about {digest}");
        }

        if (!key.Verify(e.Payload!, e.Signature!))
        {
            return (null, "the signature does not verify with the key");
        }

        string? signedDigest = null;
        try
        {
            if (JsonParser.Parse(e.Payload!) is JsonMap m && m.TryGetValue("critical", out var c) && c is JsonMap critical
                && critical.TryGetValue("image", out var i) && i is JsonMap imageMap && imageMap.TryGetValue("docker-manifest-digest", out var d) && d is JsonString ds)
            {
                signedDigest = ds.Value;
            }
        }
        catch (JsonFormatException)
        {
            // not simple signing: signedDigest stays null
        }

        return signedDigest == digest ? (ImagePolicy.CosignSignPredicateType, null) : (null, $"the signed payload names {signedDigest ?? "no image"}, not {digest}");
    }

    private static ImageVerdict Refuse(string code, string? rule, string message, List<string> report) => new(false, code, rule, message, report);
}
