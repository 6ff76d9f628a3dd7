using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Sigstore;

/// <summary>
/// Writes key-signed Sigstore bundles (v0.3, <c>publicKey</c> hint, no Fulcio certificate, no transparency-log
/// entry): a DSSE envelope signed with a SecureBuild <see cref="SigningKey"/>, so the SDK can emit
/// <c>*.sigstore.json</c> next to its attestations. The hint and the DSSE keyid are both
/// base64(SHA-256(DER SubjectPublicKeyInfo)). Verifiers need the public key and must accept a bundle without
/// log entries (<c>securebuild bundle verify --key K --tlog-threshold 0</c>).
/// Key types: ECDSA P-256 and Ed25519 bundles verify with sigstore-js too. RSA keys sign RSASSA-PSS (SecureBuild's
/// scheme), which our verifier accepts but sigstore-js, verifying RSA key-hint bundles as PKCS#1 v1.5, rejects.
/// </summary>
public static class SigstoreBundleWriter
{
    /// <summary>The file name suffix of Sigstore bundles.</summary>
    public const string FileSuffix = ".sigstore.json";

    /// <summary>Signs <paramref name="payload"/> as DSSE with <paramref name="key"/> and wraps it in a bundle.</summary>
    public static SigstoreBundle SignDsse(string payloadType, byte[] payload, SigningKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        string hint = SigstoreVerifier.KeyHint(key.Public);
        return Wrap(DsseEnvelope.Sign(payloadType, payload, key, hint), key.Public);
    }

    /// <summary>Signs an in-toto statement (payload type application/vnd.in-toto+json).</summary>
    public static SigstoreBundle SignStatement(InTotoStatement statement, SigningKey key)
    {
        if (statement is null)
        {
            throw new ArgumentNullException(nameof(statement));
        }

        return SignDsse(DsseEnvelope.InTotoPayloadType, statement.ToPayload(), key);
    }

    /// <summary>
    /// Wraps an envelope that <paramref name="key"/> signed. The envelope must have exactly one signature, it must
    /// verify with the key, and its keyid, if set, must be the key hint.
    /// </summary>
    public static SigstoreBundle Wrap(DsseEnvelope envelope, PublicKey key)
    {
        if (envelope is null)
        {
            throw new ArgumentNullException(nameof(envelope));
        }

        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (envelope.Signatures.Count != 1)
        {
            throw new ArgumentException($"A Sigstore bundle holds a DSSE envelope with exactly one signature; this one has {envelope.Signatures.Count}.", nameof(envelope));
        }

        string hint = SigstoreVerifier.KeyHint(key);
        string? keyId = envelope.Signatures[0].KeyId;
        if (keyId is not null && keyId != hint)
        {
            throw new ArgumentException($"The envelope's keyid \"{keyId}\" is not the key hint \"{hint}\"; sign with keyid = the hint (or none).", nameof(envelope));
        }

        var check = envelope.Verify(key);
        if (!check.Verified)
        {
            throw new ArgumentException("The envelope does not verify with the given key: " + check.Failure, nameof(envelope));
        }

        return new SigstoreBundle(
            SigstoreBundle.MediaTypeV03,
            VerificationMaterialKind.PublicKey,
            hint,
            Array.Empty<byte[]>(),
            Array.Empty<TransparencyLogEntry>(),
            Array.Empty<byte[]>(),
            null,
            envelope);
    }

    /// <summary>Writes the bundle atomically (UTF-8, no BOM, trailing newline).</summary>
    public static void Save(SigstoreBundle bundle, string path)
    {
        if (bundle is null)
        {
            throw new ArgumentNullException(nameof(bundle));
        }

        AtomicFile.WriteAllBytes(path, bundle.ToUtf8Json());
    }
}
