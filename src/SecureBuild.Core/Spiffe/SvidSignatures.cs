using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Spiffe;

/// <summary>A verified SVID signature: who signed (the SVID's SPIFFE ID) and, for DSSE, the envelope.</summary>
public sealed class SvidSignature
{
    internal SvidSignature(SpiffeId id, X509Certificate leaf, DsseEnvelope? envelope)
    {
        Id = id;
        Leaf = leaf;
        Envelope = envelope;
    }

    public SpiffeId Id { get; }

    public X509Certificate Leaf { get; }

    /// <summary>The signed DSSE envelope (its payload is authentic), or null for a message signature.</summary>
    public DsseEnvelope? Envelope { get; }
}

/// <summary>
/// Verifies a Sigstore bundle signed with an X.509-SVID (<see cref="SvidSigner"/>): the chain it carries is checked
/// by <see cref="SvidVerifier"/> at the signing time the verifier names (the SVID must have been valid then; it is
/// short-lived, so later checks name the build's time), against the bundle of the SVID's own trust domain and the
/// policy's allowed IDs and maximum lifetime, and the signature must verify with the leaf's key.
/// </summary>
public static class SvidSignatures
{
    /// <param name="bundle">A bundle with a certificate chain (leaf first) and a DSSE envelope or a message signature.</param>
    /// <param name="trustBundles">The trusted CAs per trust domain.</param>
    /// <param name="signedAt">When the signature was made; every certificate of the path must be valid then.</param>
    /// <param name="policy">Allowed SPIFFE IDs and the longest SVID lifetime.</param>
    /// <param name="artifact">The signed artifact's bytes, for a message signature.</param>
    /// <exception cref="SvidException">SB5233 not an SVID signature or a bad signature; SB5221-SB5230 the SVID's rule; SB5220 unreadable certificates or a message signature without the artifact.</exception>
    public static SvidSignature Verify(SigstoreBundle bundle, IReadOnlyDictionary<string, IReadOnlyList<X509Certificate>> trustBundles, DateTimeOffset signedAt, SvidPolicy policy, byte[]? artifact = null)
    {
        if (bundle.MaterialKind == VerificationMaterialKind.PublicKey || bundle.Certificates.Count == 0)
        {
            throw Bad("the bundle is signed with a key (publicKey hint), not with an SVID: it carries no certificate chain.",
                "Verify it with the key (`securebuild bundle verify --key`), or sign with SecureBuildSigning=spiffe.");
        }

        var chain = bundle.Certificates.Select((der, i) => SvidCertificates.ReadCertificates(der, $"the bundle's certificate {i + 1}").Single()).ToList();
        var id = SvidVerifier.Verify(chain, trustBundles, signedAt, policy);
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

            return new SvidSignature(id, chain[0], envelope);
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

        return new SvidSignature(id, chain[0], null);
    }

    private static SvidException Bad(string message, string fix) => new(SvidException.Signature, "signature", message, fix);
}
