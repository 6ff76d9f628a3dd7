using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Sigstore;

/// <summary>What the verifier requires beyond cryptographic validity.</summary>
public sealed class SigstoreVerificationOptions
{
    /// <summary>
    /// The verifier's clock ("now"). Log and TSA times later than this fail. Certificates are checked at the signing
    /// times the bundle proves (integrated time, TSA time), never at this time. Null = the system clock.
    /// </summary>
    public DateTimeOffset? VerificationTime { get; set; }

    /// <summary>Expected certificate SAN (exact match) for certificate bundles.</summary>
    public string? CertificateIdentity { get; set; }

    /// <summary>
    /// A .NET regular expression one certificate SAN must match, instead of <see cref="CertificateIdentity"/>. Like
    /// cosign's --certificate-identity-regexp it is searched, not anchored: write ^...$ to match the whole SAN.
    /// </summary>
    public string? CertificateIdentityRegexp { get; set; }

    /// <summary>Expected OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or legacy .1.1), exact match.</summary>
    public string? CertificateOidcIssuer { get; set; }

    /// <summary>The trusted key for publicKey (key-hint) bundles. Given a key, certificate bundles are refused.</summary>
    public PublicKey? PublicKey { get; set; }

    /// <summary>Required DSSE payloadType (null: any).</summary>
    public string? ExpectedPayloadType { get; set; }

    /// <summary>Also require publicKey.hint = base64(SHA-256(DER SPKI of <see cref="PublicKey"/>)).</summary>
    public bool RequireKeyHintMatch { get; set; }

    /// <summary>Verified transparency-log entries required (default 1; 0 accepts a key-signed bundle never logged).</summary>
    public int TransparencyLogThreshold { get; set; } = 1;

    /// <summary>Verified embedded SCTs required of a Fulcio certificate (default 1).</summary>
    public int CtLogThreshold { get; set; } = 1;

    /// <summary>
    /// Verified timestamps (SET integrated times and RFC 3161 times) required. Null: 1, except 0 for a key bundle
    /// with <see cref="TransparencyLogThreshold"/> 0.
    /// </summary>
    public int? TimestampThreshold { get; set; }

    /// <summary>For in-toto DSSE bundles: require the artifact's SHA-256 among the statement subjects (when an artifact is given).</summary>
    public bool RequireSubjectMatch { get; set; } = true;
}

/// <summary>The artifact a bundle is checked against: its bytes, or only its digest.</summary>
public sealed class SigstoreArtifact
{
    private readonly Dictionary<string, byte[]> _digests = new(StringComparer.Ordinal);

    private SigstoreArtifact(byte[]? bytes, string description)
    {
        Bytes = bytes;
        Description = description;
    }

    /// <summary>The artifact bytes (null when only a digest is known).</summary>
    public byte[]? Bytes { get; }

    public string Description { get; }

    public static SigstoreArtifact FromBytes(byte[] bytes, string description = "artifact") =>
        new(bytes ?? throw new ArgumentNullException(nameof(bytes)), description);

    /// <summary>
    /// The file's bytes when it is at most 1 GiB (an Ed25519 message signature is checked over the bytes); a larger
    /// file is hashed as it is read, without loading it, under SHA-256, SHA-384 and SHA-512.
    /// </summary>
    /// <exception cref="IOException">Unreadable, or not a regular file (SB1700).</exception>
    public static SigstoreArtifact FromFile(string path)
    {
        long length;
        using (var stream = InputFile.OpenRead(path, InputKind.Artifact))
        {
            length = stream.Length;
        }

        if (length <= InputFile.Limit(InputKind.Compared))
        {
            return new SigstoreArtifact(InputFile.ReadAllBytes(path, InputKind.Compared), path);
        }

        var artifact = new SigstoreArtifact(null, path);
        using var sha256 = System.Security.Cryptography.SHA256.Create();
        using var sha384 = System.Security.Cryptography.SHA384.Create();
        using var sha512 = System.Security.Cryptography.SHA512.Create();
        InputFile.Hash(path, InputKind.Artifact, null, sha256, sha384, sha512);
        artifact._digests["SHA-256"] = sha256.Hash!;
        artifact._digests["SHA-384"] = sha384.Hash!;
        artifact._digests["SHA-512"] = sha512.Hash!;
        return artifact;
    }

    /// <summary>Only the SHA-256 digest (e.g. from "sha256:HEX"). Ed25519 message signatures cannot be checked this way.</summary>
    public static SigstoreArtifact FromSha256(byte[] digest)
    {
        if (digest is null || digest.Length != 32)
        {
            throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(digest));
        }

        var a = new SigstoreArtifact(null, "sha256:" + Hex.Encode(digest));
        a._digests["SHA-256"] = digest;
        return a;
    }

    /// <summary>The digest under <paramref name="hash"/> ("SHA-256", ...), or null when unknown.</summary>
    internal byte[]? Digest(string hash)
    {
        if (_digests.TryGetValue(hash, out var d))
        {
            return d;
        }

        if (Bytes is null)
        {
            return null;
        }

        d = SigstorePublicKey.Digest(hash, Bytes);
        _digests[hash] = d;
        return d;
    }
}

/// <summary>A timestamp the verifier accepted, and where it came from.</summary>
public sealed class VerifiedTimestamp
{
    internal VerifiedTimestamp(DateTimeOffset time, string source)
    {
        Time = time;
        Source = source;
    }

    public DateTimeOffset Time { get; }

    /// <summary>"transparency log https://..." or "timestamp authority https://...".</summary>
    public string Source { get; }

    public override string ToString() => $"{SigstoreTime.Format(Time)} ({Source})";
}

/// <summary>The verdict of <see cref="SigstoreVerifier.Verify"/>: on failure, one sentence saying why.</summary>
public sealed class SigstoreVerificationResult
{
    internal SigstoreVerificationResult(bool verified, string? failure, IReadOnlyList<string> checks)
    {
        Verified = verified;
        Failure = failure;
        Checks = checks;
    }

    public bool Verified { get; }

    /// <summary>Why verification failed (null when verified).</summary>
    public string? Failure { get; }

    /// <summary>The SB code of the failure (<see cref="SigstoreVerificationCodes"/>), null when verified.</summary>
    public string? FailureCode { get; internal set; }

    /// <summary>What was checked, in order (also on failure: the checks that passed before it).</summary>
    public IReadOnlyList<string> Checks { get; }

    /// <summary>The certificate SANs (certificate bundles).</summary>
    public IReadOnlyList<string> SubjectAlternativeNames { get; internal set; } = Array.Empty<string>();

    public string? OidcIssuer { get; internal set; }

    public IReadOnlyList<VerifiedTimestamp> Timestamps { get; internal set; } = Array.Empty<VerifiedTimestamp>();

    /// <summary>The in-toto statement of a verified DSSE bundle with the in-toto payload type.</summary>
    public InTotoStatement? Statement { get; internal set; }

    public override string ToString() => Verified ? "verified" : "not verified: " + Failure;
}

/// <summary>
/// Offline Sigstore bundle verification against a trusted root: no network, no TUF, an injectable clock.
/// Certificate bundles: Fulcio chain to a trusted CA valid at every proven signing time, embedded SCTs, SAN and
/// OIDC-issuer policy. Key bundles: the caller's key. Both: RFC 3161 timestamps, Rekor v1 entries (SET, inclusion
/// proof, checkpoint) and Rekor v2 entries (inclusion proof, checkpoint), entry body against the bundle, the
/// signature (over the artifact, or over the DSSE PAE), DSSE payload type and in-toto subject.
/// </summary>
public sealed class SigstoreVerifier
{
    private readonly SigstoreTrustedRoot _root;

    public SigstoreVerifier(SigstoreTrustedRoot trustedRoot)
    {
        _root = trustedRoot ?? throw new ArgumentNullException(nameof(trustedRoot));
    }

    /// <summary>Verifies; never throws for bad input, returns a failed result with the reason instead.</summary>
    public SigstoreVerificationResult Verify(SigstoreBundle bundle, SigstoreArtifact? artifact, SigstoreVerificationOptions options)
    {
        if (bundle is null)
        {
            throw new ArgumentNullException(nameof(bundle));
        }

        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }

        var run = new Run(_root, bundle, artifact, options);
        try
        {
            run.Execute();
            var result = new SigstoreVerificationResult(true, null, run.Checks);
            run.Fill(result);
            return result;
        }
        catch (VerificationFailure f)
        {
            var result = new SigstoreVerificationResult(false, f.Message, run.Checks) { FailureCode = f.Code };
            run.Fill(result);
            return result;
        }
        catch (Exception e) when (e is not OutOfMemoryException && e is not StackOverflowException)
        {
            // Malformed input that slipped past the checks (e.g. unusual ASN.1): never a pass.
            return new SigstoreVerificationResult(false, $"verification failed on malformed data ({e.GetType().Name}: {e.Message})", run.Checks) { FailureCode = SigstoreVerificationCodes.Other };
        }
    }

    /// <summary>base64(SHA-256(DER SubjectPublicKeyInfo)): the key hint convention for publicKey bundles.</summary>
    public static string KeyHint(PublicKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        return Convert.ToBase64String(SigstorePublicKey.Digest("SHA-256", SigstorePublicKey.FromCoreKey(key).SpkiDer));
    }

    private sealed class VerificationFailure : Exception
    {
        public VerificationFailure(string message, string code = SigstoreVerificationCodes.Other)
            : base(message)
        {
            Code = code;
        }

        public string Code { get; }
    }

    private sealed class Run
    {
        private readonly SigstoreTrustedRoot _root;
        private readonly SigstoreBundle _bundle;
        private readonly SigstoreArtifact? _artifact;
        private readonly SigstoreVerificationOptions _options;
        private readonly DateTimeOffset _now;
        private readonly List<VerifiedTimestamp> _timestamps = new();
        private SigstorePublicKey? _signerKey;
        private X509Certificate? _leaf;
        private List<string> _sans = new();
        private string? _issuer;
        private InTotoStatement? _statement;

        public Run(SigstoreTrustedRoot root, SigstoreBundle bundle, SigstoreArtifact? artifact, SigstoreVerificationOptions options)
        {
            _root = root;
            _bundle = bundle;
            _artifact = artifact;
            _options = options;
            _now = options.VerificationTime ?? DateTimeOffset.UtcNow;
        }

        public List<string> Checks { get; } = new();

        public void Fill(SigstoreVerificationResult result)
        {
            result.SubjectAlternativeNames = _sans;
            result.OidcIssuer = _issuer;
            result.Timestamps = _timestamps.ToList();
            result.Statement = _statement;
        }

        public void Execute()
        {
            CheckContentShape();
            SelectSigningKey();
            var tsaTimes = VerifyRfc3161Timestamps();
            VerifyTransparencyLog(tsaTimes);
            RequireTimestamps();
            VerifyCertificate();
            VerifySignature();
            VerifyPolicy();
            VerifySubject();
        }

        private void CheckContentShape()
        {
            if (_bundle.DsseEnvelope is { } env)
            {
                if (env.Signatures.Count != 1)
                {
                    throw Fail($"the DSSE envelope must carry exactly one signature, it has {env.Signatures.Count}");
                }

                if (_options.ExpectedPayloadType is not null && env.PayloadType != _options.ExpectedPayloadType)
                {
                    throw Fail($"the DSSE payloadType is \"{env.PayloadType}\", expected \"{_options.ExpectedPayloadType}\"");
                }
            }
            else
            {
                if (_options.ExpectedPayloadType is not null)
                {
                    throw Fail("a DSSE payload type was required, but the bundle holds a message signature, not a DSSE envelope");
                }

                if (_artifact is null)
                {
                    throw Fail("the bundle holds a message signature over an artifact, but no artifact was given to check it against");
                }
            }

            Checks.Add($"bundle v{_bundle.Version} ({(_bundle.DsseEnvelope is null ? "message signature" : "DSSE envelope, payloadType " + _bundle.DsseEnvelope.PayloadType)})");
        }

        private void SelectSigningKey()
        {
            if (_bundle.MaterialKind == VerificationMaterialKind.PublicKey)
            {
                if (_options.PublicKey is null)
                {
                    throw Fail($"the bundle is signed with a public key (hint \"{_bundle.PublicKeyHint}\"), but no public key was given to verify it with");
                }

                _signerKey = SigstorePublicKey.FromCoreKey(_options.PublicKey);
                string hint = Convert.ToBase64String(SigstorePublicKey.Digest("SHA-256", _signerKey.SpkiDer));
                if (_options.RequireKeyHintMatch && _bundle.PublicKeyHint != hint)
                {
                    throw Fail($"the bundle's key hint \"{_bundle.PublicKeyHint}\" does not name the given key (expected \"{hint}\")");
                }

                string? keyId = _bundle.DsseEnvelope?.Signatures[0].KeyId;
                if (!string.IsNullOrEmpty(_bundle.PublicKeyHint) && keyId is not null && keyId != _bundle.PublicKeyHint)
                {
                    throw Fail($"the DSSE signature's keyid \"{keyId}\" differs from the bundle's key hint \"{_bundle.PublicKeyHint}\"");
                }

                Checks.Add($"signing key: the given {_signerKey.Description} key");
                return;
            }

            if (_options.PublicKey is not null)
            {
                throw Fail("a public key was given, but the bundle is signed with a certificate; verify it with an identity and issuer instead");
            }

            if ((string.IsNullOrEmpty(_options.CertificateIdentity) && string.IsNullOrEmpty(_options.CertificateIdentityRegexp)) || string.IsNullOrEmpty(_options.CertificateOidcIssuer))
            {
                throw Fail("the bundle is signed with a certificate: an expected certificate identity (or identity pattern) and OIDC issuer are required");
            }

            _leaf = SigstoreCertificates.Parse(_bundle.Certificates[0], "the signing certificate", m => new VerificationFailure(m));
            for (int i = 1; i < _bundle.Certificates.Count; i++)
            {
                var extra = SigstoreCertificates.Parse(_bundle.Certificates[i], $"certificate {i} of the bundle's chain", m => new VerificationFailure(m));
                if (SigstoreCertificates.IsSelfSigned(extra))
                {
                    throw Fail($"the bundle's certificate chain contains a root certificate {SigstoreCertificates.Describe(extra)}; trust anchors must come from the trusted root only");
                }
            }

            try
            {
                _signerKey = SigstorePublicKey.FromCertificate(_leaf);
            }
            catch (Exception e) when (e is NotSupportedException || e is ArgumentException)
            {
                throw Fail("the signing certificate's key is not supported: " + e.Message);
            }

            _sans = SigstoreCertificates.SubjectAlternativeNames(_leaf);
            _issuer = SigstoreCertificates.OidcIssuer(_leaf);
        }

        private List<DateTimeOffset> VerifyRfc3161Timestamps()
        {
            var times = new List<DateTimeOffset>();
            for (int i = 0; i < _bundle.Rfc3161Timestamps.Count; i++)
            {
                var t = Rfc3161Timestamps.Verify(_bundle.Rfc3161Timestamps[i], _bundle.SignatureBytes, _root.TimestampAuthorities, _now, out string error);
                if (t is null)
                {
                    throw Fail(SigstoreVerificationCodes.NoSigningTime, $"timestamp {i + 1}: {error}");
                }

                times.Add(t.Value);
                _timestamps.Add(new VerifiedTimestamp(t.Value, "timestamp authority"));
                Checks.Add($"RFC 3161 timestamp {SigstoreTime.Format(t.Value)} verified against the trusted timestamp authority");
            }

            return times;
        }

        private void VerifyTransparencyLog(List<DateTimeOffset> tsaTimes)
        {
            int verified = 0;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            byte[]? leafDer = _leaf?.GetEncoded();
            for (int i = 0; i < _bundle.TlogEntries.Count; i++)
            {
                var entry = _bundle.TlogEntries[i];
                string what = $"transparency log entry {i + 1} ({entry.Kind}/{entry.KindVersion}, log index {entry.LogIndex})";
                if (!seen.Add(Convert.ToBase64String(entry.LogId) + "|" + Convert.ToBase64String(entry.CanonicalizedBody)))
                {
                    throw Fail($"{what} is a duplicate of an earlier entry");
                }

                var logs = _root.TransparencyLogs.Where(l => ByteArrays.Equal(l.LogId, entry.LogId)).ToList();
                if (logs.Count == 0)
                {
                    throw Fail(SigstoreVerificationCodes.LogKey, $"{what} comes from a log that is not in the trusted root (log ID {Convert.ToBase64String(entry.LogId)})");
                }

                // The log key must be valid at the time the entry was made: its integrated time, or (Rekor v2, which has
                // none) the TSA times.
                var entryTimes = entry.IntegratedTime > 0
                    ? new List<DateTimeOffset> { SigstoreTime.FromUnixSeconds(entry.IntegratedTime) }
                    : tsaTimes;
                if (entry.IntegratedTime > 0 && entryTimes[0] > _now)
                {
                    throw Fail($"{what}: its integrated time {SigstoreTime.Format(entryTimes[0])} lies after the verification time {SigstoreTime.Format(_now)}");
                }

                logs = logs.Where(l => entryTimes.All(t => l.ValidFor.Contains(t))).ToList();
                if (logs.Count == 0)
                {
                    var any = _root.TransparencyLogs.First(l => ByteArrays.Equal(l.LogId, entry.LogId));
                    throw Fail(SigstoreVerificationCodes.LogKey, $"{what}: the key of log {any.BaseUrl} is valid {any.ValidFor}, which does not cover the entry's time ({string.Join(", ", entryTimes.Select(SigstoreTime.Format))})");
                }

                bool promised = false;
                if (entry.SignedEntryTimestamp is not null)
                {
                    if (entry.IntegratedTime <= 0)
                    {
                        throw Fail($"{what} has an inclusion promise but no integrated time");
                    }

                    byte[] payload = SignedEntryTimestamp.Payload(entry);
                    if (!logs.Any(l => l.Key is not null && l.Key.Verify(payload, entry.SignedEntryTimestamp)))
                    {
                        throw Fail(SigstoreVerificationCodes.LogKey, $"{what}: the signed entry timestamp (inclusion promise) does not verify with the log's key");
                    }

                    promised = true;
                    Checks.Add($"{what}: signed entry timestamp verified ({logs[0].BaseUrl})");
                }

                bool proven = false;
                if (entry.InclusionProof is { } proof)
                {
                    if (proof.Checkpoint is null)
                    {
                        // v0.1 only: a proof without a checkpoint has an unauthenticated root; the SET carries the entry.
                        Checks.Add($"{what}: inclusion proof without checkpoint ignored (root hash unauthenticated)");
                    }
                    else
                    {
                        VerifyInclusionProof(entry, proof, logs, what);
                        proven = true;
                    }
                }

                if (!promised && !proven)
                {
                    throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what} has neither a signed entry timestamp nor an inclusion proof with a checkpoint: its inclusion in the log cannot be verified offline");
                }

                string? bodyError = RekorBody.Check(entry, _bundle, leafDer, _signerKey!.SpkiDer);
                if (bodyError is not null)
                {
                    throw Fail(SigstoreVerificationCodes.EntryBody, $"{what}: {bodyError}");
                }

                Checks.Add($"{what}: entry body matches the bundle");
                if (promised)
                {
                    _timestamps.Add(new VerifiedTimestamp(SigstoreTime.FromUnixSeconds(entry.IntegratedTime), "transparency log " + logs[0].BaseUrl));
                }

                verified++;
            }

            if (verified < _options.TransparencyLogThreshold)
            {
                throw Fail(SigstoreVerificationCodes.NoSigningTime, _bundle.TlogEntries.Count == 0
                    ? $"the bundle has no transparency log entry, and {_options.TransparencyLogThreshold} verified entr{(_options.TransparencyLogThreshold == 1 ? "y is" : "ies are")} required"
                    : $"only {verified} transparency log entries verified, {_options.TransparencyLogThreshold} required");
            }
        }

        private void VerifyInclusionProof(TransparencyLogEntry entry, InclusionProof proof, List<TransparencyLogInstance> logs, string what)
        {
            var checkpoint = SignedCheckpoint.TryParse(proof.Checkpoint!, out string parseError)
                ?? throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what}: the checkpoint is malformed: {parseError}");
            var signer = logs.FirstOrDefault(checkpoint.IsSignedBy);
            if (signer is null)
            {
                throw Fail(SigstoreVerificationCodes.LogKey, $"{what}: no signature on the checkpoint verifies with the key of the log that made the entry ({logs[0].BaseUrl})");
            }

            string host = signer.HostName;
            if (checkpoint.Origin != host && !checkpoint.Origin.StartsWith(host + " - ", StringComparison.Ordinal))
            {
                throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what}: the checkpoint's origin \"{checkpoint.Origin}\" is not the log {host}");
            }

            if (checkpoint.Size != proof.TreeSize)
            {
                throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what}: the checkpoint is for tree size {checkpoint.Size}, the inclusion proof for {proof.TreeSize}");
            }

            if (!ByteArrays.Equal(checkpoint.RootHash, proof.RootHash))
            {
                throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what}: the checkpoint's root hash differs from the inclusion proof's root hash");
            }

            string? merkleError = Merkle.VerifyInclusion(proof.LogIndex, proof.TreeSize, Merkle.LeafHash(entry.CanonicalizedBody), proof.Hashes, proof.RootHash);
            if (merkleError is not null)
            {
                throw Fail(SigstoreVerificationCodes.InclusionProof, $"{what}: {merkleError}");
            }

            Checks.Add($"{what}: inclusion proof verified against the signed checkpoint ({signer.BaseUrl}, tree size {proof.TreeSize})");
        }

        private void RequireTimestamps()
        {
            int required = _options.TimestampThreshold
                ?? (_bundle.MaterialKind == VerificationMaterialKind.PublicKey && _options.TransparencyLogThreshold == 0 ? 0 : 1);
            if (_timestamps.Count < required)
            {
                throw Fail(SigstoreVerificationCodes.NoSigningTime, _timestamps.Count == 0
                    ? "the bundle proves no signing time: it has no verified signed entry timestamp and no RFC 3161 timestamp (Rekor v2 entries need a timestamp authority's timestamp)"
                    : $"only {_timestamps.Count} verified timestamps, {required} required");
            }
        }

        private void VerifyCertificate()
        {
            if (_leaf is null)
            {
                return;
            }

            if (!SigstoreCertificates.HasExtendedKeyUsage(_leaf, SigstoreCertificates.OidCodeSigning))
            {
                throw Fail("the signing certificate is not a code-signing certificate (no codeSigning extended key usage)");
            }

            List<X509Certificate>? path = null;
            foreach (var ts in _timestamps)
            {
                if (!SigstoreCertificates.ValidAt(_leaf, ts.Time))
                {
                    throw Fail(SigstoreVerificationCodes.CertificateNotValidAtSigning, $"the signing certificate {SigstoreCertificates.Describe(_leaf)} was not valid when the signature was made: it is valid {SigstoreCertificates.Validity(_leaf)}, the signing time is {ts}");
                }

                var problems = new List<string>();
                List<X509Certificate>? found = null;
                foreach (var ca in _root.CertificateAuthorities)
                {
                    if (!ca.ValidFor.Contains(ts.Time))
                    {
                        problems.Add($"CA {ca.Uri} ({ca.Subject}) is trusted only {ca.ValidFor}");
                        continue;
                    }

                    string? error = SigstoreCertificates.VerifyChain(_leaf, ca.Chain, ts.Time, out var candidate);
                    if (error is null)
                    {
                        found = candidate;
                        break;
                    }

                    problems.Add($"CA {ca.Uri}: {error}");
                }

                if (found is null)
                {
                    throw Fail(SigstoreVerificationCodes.UntrustedCertificate, $"the signing certificate {SigstoreCertificates.Describe(_leaf)} (valid {SigstoreCertificates.Validity(_leaf)}) does not chain to a trusted certificate authority at the signing time {ts}: "
                        + (problems.Count == 0 ? "the trusted root has no certificate authorities" : string.Join("; ", problems)));
                }

                path ??= found;
            }

            if (path is null)
            {
                throw Fail("the signing certificate cannot be checked: there is no verified signing time");
            }

            Checks.Add($"certificate chain verified to the trusted root at {string.Join(", ", _timestamps.Select(t => SigstoreTime.Format(t.Time)))}");
            var sctProblems = new List<string>();
            int scts = SigstoreCertificates.VerifyEmbeddedScts(_leaf, path[1], _root.CtLogs, sctProblems);
            if (scts < _options.CtLogThreshold)
            {
                throw Fail(SigstoreVerificationCodes.Sct, $"the signing certificate has {scts} verified certificate-transparency timestamps (SCTs), {_options.CtLogThreshold} required"
                    + (sctProblems.Count > 0 ? ": " + string.Join("; ", sctProblems) : string.Empty));
            }

            if (_options.CtLogThreshold > 0)
            {
                Checks.Add($"{scts} embedded SCT(s) verified");
            }
        }

        private void VerifySignature()
        {
            var key = _signerKey!;
            if (_bundle.MessageSignature is { } message)
            {
                string hash = message.DigestAlgorithm switch
                {
                    "SHA2_256" or "HASH_ALGORITHM_UNSPECIFIED" => "SHA-256",
                    "SHA2_384" => "SHA-384",
                    "SHA2_512" => "SHA-512",
                    "SHA3_256" => "SHA3-256",
                    "SHA3_384" => "SHA3-384",
                    _ => throw Fail($"the message digest algorithm \"{message.DigestAlgorithm}\" is not supported"),
                };
                byte[] digest = _artifact!.Digest(hash)
                    ?? throw Fail($"the artifact was given as a SHA-256 digest, but the bundle signs a {hash} digest");
                if (!ByteArrays.Equal(digest, message.Digest))
                {
                    throw Fail($"the artifact {_artifact.Description} does not match the bundle: its {hash} digest differs from the bundle's message digest");
                }

                bool ok;
                if (_artifact.Bytes is not null)
                {
                    ok = key.Verify(_artifact.Bytes, message.Signature, hash);
                }
                else if (key.IsEd25519)
                {
                    throw Fail("an Ed25519 message signature can only be verified over the artifact itself, not a digest");
                }
                else
                {
                    ok = key.VerifyDigest(hash, digest, message.Signature);
                }

                if (!ok)
                {
                    throw Fail(SigstoreVerificationCodes.Signature, "the signature over the artifact does not verify with the signing " + (_leaf is null ? "key" : "certificate's key"));
                }

                Checks.Add("artifact signature verified");
                return;
            }

            var env = _bundle.DsseEnvelope!;
            if (!key.Verify(env.Pae(), env.Signatures[0].Signature))
            {
                throw Fail(SigstoreVerificationCodes.Signature, "the DSSE envelope signature does not verify with the signing " + (_leaf is null ? "key" : "certificate's key")
                    + " (the signature, the payload or the payloadType was changed)");
            }

            Checks.Add("DSSE signature verified over PAE(payloadType, payload)");
        }

        private void VerifyPolicy()
        {
            if (_leaf is null)
            {
                return;
            }

            string found = _sans.Count == 0 ? "missing" : string.Join(", ", _sans.Select(s => "\"" + s + "\""));
            string identity;
            if (!string.IsNullOrEmpty(_options.CertificateIdentity))
            {
                identity = _options.CertificateIdentity!;
                if (!_sans.Contains(identity, StringComparer.Ordinal))
                {
                    throw Fail(SigstoreVerificationCodes.Identity, $"the certificate identity is {found}, expected \"{identity}\" (exact match)");
                }
            }
            else
            {
                var pattern = IdentityPattern.Compile(_options.CertificateIdentityRegexp!, out string? patternError)
                    ?? throw Fail(SigstoreVerificationCodes.BadIdentityPattern, patternError!);
                identity = _sans.FirstOrDefault(s => IdentityPattern.Matches(pattern, s))
                    ?? throw Fail(SigstoreVerificationCodes.Identity, $"the certificate identity is {found}, which does not match the pattern /{_options.CertificateIdentityRegexp}/");
            }

            if (!string.Equals(_issuer, _options.CertificateOidcIssuer, StringComparison.Ordinal))
            {
                throw Fail(SigstoreVerificationCodes.Issuer, $"the certificate's OIDC issuer is {(_issuer is null ? "missing" : "\"" + _issuer + "\"")}, expected \"{_options.CertificateOidcIssuer}\"");
            }

            Checks.Add($"identity \"{identity}\" issued by \"{_issuer}\"");
        }

        private void VerifySubject()
        {
            var env = _bundle.DsseEnvelope;
            if (env is null)
            {
                return;
            }

            if (env.PayloadType == DsseEnvelope.InTotoPayloadType)
            {
                try
                {
                    _statement = InTotoStatement.Parse(env.Payload);
                }
                catch (AttestationFormatException e)
                {
                    throw Fail("the DSSE payload is not a valid in-toto statement: " + e.Message);
                }
            }

            if (_artifact is null || !_options.RequireSubjectMatch)
            {
                return;
            }

            if (_statement is null)
            {
                throw Fail($"an artifact was given, but the DSSE payload (\"{env.PayloadType}\") is not an in-toto statement whose subjects could name it");
            }

            byte[] digest = _artifact.Digest("SHA-256") ?? throw Fail("the artifact's SHA-256 digest is unknown");
            string hex = Hex.Encode(digest);
            if (!_statement.HasSubjectDigest("sha256", hex))
            {
                throw Fail($"the artifact {_artifact.Description} (sha256:{hex}) is not a subject of the in-toto statement");
            }

            Checks.Add($"artifact sha256:{hex} is a subject of the statement ({_statement.PredicateType})");
        }

        private static VerificationFailure Fail(string message) => new(message);

        private static VerificationFailure Fail(string code, string message) => new(message, code);
    }
}
