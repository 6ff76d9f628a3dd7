using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Spiffe;

/// <summary>A verified SVID signature: who signed (the SVID's SPIFFE ID) and, for DSSE, the envelope.</summary>
public sealed class SvidSignature
{
    internal SvidSignature(SpiffeId id, X509Certificate leaf, DsseEnvelope? envelope, DateTimeOffset signedAt, bool timestamped)
    {
        Id = id;
        Leaf = leaf;
        Envelope = envelope;
        SignedAt = signedAt;
        Timestamped = timestamped;
    }

    public SpiffeId Id { get; }

    public X509Certificate Leaf { get; }

    /// <summary>The time the SVID was checked at: the verified timestamp authority's time, else the time the verifier named.</summary>
    public DateTimeOffset SignedAt { get; }

    /// <summary>Whether <see cref="SignedAt"/> comes from a verified RFC 3161 timestamp of the bundle.</summary>
    public bool Timestamped { get; }

    /// <summary>The signed DSSE envelope (its payload is authentic), or null for a message signature.</summary>
    public DsseEnvelope? Envelope { get; }
}

/// <summary>
/// Verifies a Sigstore bundle signed with an X.509-SVID (<see cref="SvidSigner"/>): the chain it carries is checked
/// by <see cref="SvidVerifier"/> at the signing time, against the bundle of the SVID's own trust domain and the
/// policy's allowed IDs and maximum lifetime, and the signature must verify with the leaf's key. The signing time is
/// the time of the bundle's RFC 3161 timestamps when the verifier trusts timestamp authorities and the bundle has
/// any (each must verify: its imprint the signature's hash, signed by a trusted TSA valid then; the SVID must be
/// valid at each); else the time the verifier names (the SVID is short-lived, so a later check names the build's time).
/// </summary>
public static class SvidSignatures
{
    /// <param name="bundle">A bundle with a certificate chain (leaf first) and a DSSE envelope or a message signature.</param>
    /// <param name="trustBundles">The trusted CAs per trust domain.</param>
    /// <param name="signedAt">When the signature was made, for a bundle without a timestamp (or without trusted TSAs); every certificate of the path must be valid then.</param>
    /// <param name="policy">Allowed SPIFFE IDs and the longest SVID lifetime.</param>
    /// <param name="artifact">The signed artifact's bytes, for a message signature.</param>
    /// <param name="timestampAuthorities">The trusted timestamp authorities (a Sigstore trusted root's), or null to ignore timestamps.</param>
    /// <exception cref="SvidException">SB5233 not an SVID signature or a bad signature; SB5221-SB5230 the SVID's rule; SB5301 a timestamp that does not verify; SB5220 unreadable certificates or a message signature without the artifact.</exception>
    public static SvidSignature Verify(SigstoreBundle bundle, IReadOnlyDictionary<string, IReadOnlyList<X509Certificate>> trustBundles, DateTimeOffset signedAt, SvidPolicy policy, byte[]? artifact = null,
        IReadOnlyList<CertificateAuthorityInstance>? timestampAuthorities = null)
    {
        if (bundle.MaterialKind == VerificationMaterialKind.PublicKey || bundle.Certificates.Count == 0)
        {
            throw Bad("the bundle is signed with a key (publicKey hint), not with an SVID: it carries no certificate chain.",
                "Verify it with the key (`securebuild bundle verify --key`), or sign with SecureBuildSigning=spiffe.");
        }

        var chain = bundle.Certificates.Select((der, i) => SvidCertificates.ReadCertificates(der, $"the bundle's certificate {i + 1}").Single()).ToList();
        bool timestamped = timestampAuthorities is not null && bundle.Rfc3161Timestamps.Count > 0;
        var times = timestamped ? TimestampTimes(bundle, timestampAuthorities!) : new List<DateTimeOffset> { signedAt };
        SpiffeId id = null!;
        foreach (var time in times)
        {
            id = VerifySvidAt(chain, trustBundles, time, policy, bundle, timestamped);
        }

        var key = SigstorePublicKey.FromCertificate(chain[0]);
        if (bundle.DsseEnvelope is { } envelope)
        {
            if (envelope.Signatures.Count != 1)
            {
                throw Bad($"the DSSE envelope has {envelope.Signatures.Count} signatures; an SVID-signed bundle has exactly one.", "Sign again with one SVID.");
            }

            if (!key.Verify(envelope.Pae(), envelope.Signatures[0].Signature))
            {
                throw Bad($"the DSSE signature does not verify with the key of the SVID {id}: the payload or the signature was altered, or another key signed.", "Do not use it; sign again.");
            }

            return new SvidSignature(id, chain[0], envelope, times[times.Count - 1], timestamped);
        }

        var message = bundle.MessageSignature!;
        if (artifact is null)
        {
            throw SvidException.Input("the bundle signs an artifact (message signature): the artifact is needed to verify it.", "Give the signed file (--artifact).");
        }

        if (message.DigestAlgorithm != "SHA2_256")
        {
            throw Bad($"the message digest algorithm {message.DigestAlgorithm} is not the SHA2_256 SVID signatures use.", "Sign again with SecureBuild.");
        }

        if (!ByteArrays.Equal(SigstorePublicKey.Digest("SHA-256", artifact), message.Digest) || !key.Verify(artifact, message.Signature))
        {
            throw Bad($"the artifact's signature does not verify with the key of the SVID {id}: the file differs from the signed one, or the signature was altered.", "Do not use the file; sign it again.");
        }

        return new SvidSignature(id, chain[0], null, times[times.Count - 1], timestamped);
    }

    /// <summary>The verified time of each RFC 3161 timestamp (over the bundle's signature bytes, as Sigstore bundles carry them).</summary>
    private static List<DateTimeOffset> TimestampTimes(SigstoreBundle bundle, IReadOnlyList<CertificateAuthorityInstance> timestampAuthorities)
    {
        var times = new List<DateTimeOffset>();
        for (int i = 0; i < bundle.Rfc3161Timestamps.Count; i++)
        {
            var time = Rfc3161Timestamps.Verify(bundle.Rfc3161Timestamps[i], bundle.SignatureBytes, timestampAuthorities, DateTimeOffset.UtcNow, out string error);
            if (time is null)
            {
                throw new SvidException(SvidException.Timestamp, "timestamp",
                    $"the bundle's RFC 3161 timestamp {i + 1} of {bundle.Rfc3161Timestamps.Count} does not verify: {error}.",
                    "Do not rely on its time: give the trusted root that lists the timestamp authority the build used (SecureBuildTimestampUrl), or check the bundle without it (--at the signing time).");
            }

            times.Add(time.Value);
        }

        return times;
    }

    /// <summary>The SVID's rules at <paramref name="at"/>; an SVID not valid at a time the verifier named says how to give a better one.</summary>
    private static SpiffeId VerifySvidAt(IReadOnlyList<X509Certificate> chain, IReadOnlyDictionary<string, IReadOnlyList<X509Certificate>> trustBundles, DateTimeOffset at, SvidPolicy policy, SigstoreBundle bundle, bool timestamped)
    {
        try
        {
            return SvidVerifier.Verify(chain, trustBundles, at, policy);
        }
        catch (SvidException e) when (e.Code == SvidException.NotValidAt)
        {
            string how = timestamped
                ? $"The time {SigstoreTime.Format(at)} is the bundle's verified RFC 3161 timestamp: the SVID was not valid when the timestamp authority saw the signature."
                : bundle.Rfc3161Timestamps.Count > 0
                    ? $"It was checked at {SigstoreTime.Format(at)}, the time given (default now): the bundle carries an RFC 3161 timestamp; give the trusted root of its timestamp authority (--trusted-root) to check the SVID at that time, or give the signing time (--at)."
                    : $"It was checked at {SigstoreTime.Format(at)}, the time given (default now): the bundle carries no RFC 3161 timestamp (sign with SecureBuildTimestampUrl for one), so give the time it was signed (--at, e.g. the provenance's finishedOn).";
            throw new SvidException(e.Code, e.Rule, e.Reason, e.Fix + " " + how);
        }
    }

    private static SvidException Bad(string message, string fix) => new(SvidException.Signature, "signature", message, fix);
}
