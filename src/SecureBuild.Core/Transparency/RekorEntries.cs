using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Transparency;

/// <summary>
/// Proposed Rekor v1 entries, as cosign and sigstore-js send them: <c>hashedrekord</c> 0.0.1 for a signature over an
/// artifact digest, <c>dsse</c> 0.0.1 for a DSSE envelope. The verifier is the signing certificate as PEM, base64.
/// Rekor stores a canonical form of these (for dsse: payload and envelope hashes with the signatures), which is what
/// the bundle carries and what <see cref="Sigstore.SigstoreVerifier"/> checks against the bundle.
/// </summary>
public static class RekorEntries
{
    /// <summary>hashedrekord 0.0.1: the SHA-256 digest of the artifact, the signature over it and the certificate.</summary>
    public static JsonMap HashedRekord(byte[] sha256Digest, byte[] signature, byte[] certificateDer) => new()
    {
        { "apiVersion", "0.0.1" },
        { "kind", "hashedrekord" },
        {
            "spec", new JsonMap
            {
                { "data", new JsonMap { { "hash", new JsonMap { { "algorithm", "sha256" }, { "value", Hex.Encode(sha256Digest) } } } } },
                {
                    "signature", new JsonMap
                    {
                        { "content", Base64Codec.Encode(signature) },
                        { "publicKey", new JsonMap { { "content", CertificatePemBase64(certificateDer) } } },
                    }
                },
            }
        },
    };

    /// <summary>dsse 0.0.1: the envelope as JSON text and the certificate that verifies it.</summary>
    public static JsonMap Dsse(DsseEnvelope envelope, byte[] certificateDer) => new()
    {
        { "apiVersion", "0.0.1" },
        { "kind", "dsse" },
        {
            "spec", new JsonMap
            {
                {
                    "proposedContent", new JsonMap
                    {
                        { "envelope", JsonText.Write(envelope.ToJson(), indented: false).TrimEnd('\n') },
                        { "verifiers", new JsonList(CertificatePemBase64(certificateDer)) },
                    }
                },
            }
        },
    };

    private static string CertificatePemBase64(byte[] der) => Base64Codec.Encode(Encoding.UTF8.GetBytes(Pem.Encode("CERTIFICATE", der, trailingNewline: true)));
}
