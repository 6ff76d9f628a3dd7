using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Sigstore;

/// <summary>
/// Checks that a transparency-log entry's canonicalized body describes exactly this bundle: kind and version as
/// declared, the same signature, the same digest (artifact digest, DSSE payload hash or PAE hash) and the same
/// signing certificate or key.
/// </summary>
internal static class RekorBody
{
    /// <summary>Null when the body matches, else the reason.</summary>
    public static string? Check(TransparencyLogEntry entry, SigstoreBundle bundle, byte[]? leafDer, byte[] signerSpki)
    {
        JsonMap body;
        try
        {
            body = JsonParser.Parse(entry.CanonicalizedBody) as JsonMap ?? throw new JsonFormatException("not an object");
        }
        catch (JsonFormatException e)
        {
            return "the entry's canonicalized body is not valid JSON: " + e.Message;
        }

        string? kind = (body.TryGetValue("kind", out var k) ? k : null) is JsonString ks ? ks.Value : null;
        string? apiVersion = (body.TryGetValue("apiVersion", out var v) ? v : null) is JsonString vs ? vs.Value : null;
        if (kind != entry.Kind || apiVersion != entry.KindVersion)
        {
            return $"the entry claims {entry.Kind}/{entry.KindVersion} but its body is {kind ?? "?"}/{apiVersion ?? "?"}";
        }

        var spec = body.TryGetValue("spec", out var s) ? s as JsonMap : null;
        if (spec is null)
        {
            return "the entry body has no \"spec\" object";
        }

        try
        {
            return (kind, apiVersion) switch
            {
                ("hashedrekord", "0.0.1") => HashedRekordV001(spec, bundle, leafDer, signerSpki),
                ("hashedrekord", "0.0.2") => HashedRekordV002(spec, bundle, leafDer, signerSpki),
                ("dsse", "0.0.1") => DsseV001(spec, bundle, leafDer, signerSpki),
                ("dsse", "0.0.2") => DsseV002(spec, bundle, leafDer, signerSpki),
                ("intoto", "0.0.2") => IntotoV002(spec, bundle, leafDer, signerSpki),
                _ => $"the entry kind {kind}/{apiVersion} is not supported",
            };
        }
        catch (BodyException e)
        {
            return e.Message;
        }
    }

    private static string? HashedRekordV001(JsonMap spec, SigstoreBundle bundle, byte[]? leafDer, byte[] spki)
    {
        var signature = Obj(spec, "signature");
        if (!ByteArrays.Equal(B64(Str(signature, "content"), "spec.signature.content"), bundle.SignatureBytes))
        {
            return "the log entry records a different signature than the bundle (hashedrekord signature mismatch)";
        }

        var hash = Obj(Obj(spec, "data"), "hash");
        string algorithm = Str(hash, "algorithm");
        if (!Hex.TryDecode(Str(hash, "value"), out byte[] digest))
        {
            return "the log entry's data.hash.value is not hex";
        }

        if (!SignedDigestMatches(bundle, HashName(algorithm), digest))
        {
            return "the log entry records a different artifact digest than the bundle (hashedrekord digest mismatch)";
        }

        return VerifierMatches(B64(Str(Obj(signature, "publicKey"), "content"), "spec.signature.publicKey.content"), leafDer, spki);
    }

    private static string? HashedRekordV002(JsonMap spec, SigstoreBundle bundle, byte[]? leafDer, byte[] spki)
    {
        var inner = Obj(spec, "hashedRekordV002");
        var signature = Obj(inner, "signature");
        if (!ByteArrays.Equal(B64(Str(signature, "content"), "signature.content"), bundle.SignatureBytes))
        {
            return "the log entry records a different signature than the bundle (hashedrekord signature mismatch)";
        }

        var data = Obj(inner, "data");
        if (!SignedDigestMatches(bundle, HashName(Str(data, "algorithm")), B64(Str(data, "digest"), "data.digest")))
        {
            return "the log entry records a different digest than the bundle (hashedrekord digest mismatch)";
        }

        return VerifierV002Matches(Obj(signature, "verifier"), leafDer, spki);
    }

    private static string? DsseV001(JsonMap spec, SigstoreBundle bundle, byte[]? leafDer, byte[] spki)
    {
        var env = bundle.DsseEnvelope ?? throw new BodyException("the log entry is a dsse entry but the bundle holds a message signature");
        var sigs = Arr(spec, "signatures");
        if (sigs.Count != 1)
        {
            return $"the dsse log entry records {sigs.Count} signatures, expected exactly one";
        }

        var sig = sigs[0] as JsonMap ?? throw new BodyException("spec.signatures[0] is not an object");
        if (!ByteArrays.Equal(B64(Str(sig, "signature"), "signature"), env.Signatures[0].Signature))
        {
            return "the log entry records a different DSSE signature than the bundle";
        }

        var payloadHash = Obj(spec, "payloadHash");
        if (!Hex.TryDecode(Str(payloadHash, "value"), out byte[] digest)
            || !ByteArrays.Equal(digest, SigstorePublicKey.Digest(HashName(Str(payloadHash, "algorithm")), env.Payload)))
        {
            return "the log entry records a different DSSE payload hash than the bundle's payload";
        }

        return VerifierMatches(B64(Str(sig, "verifier"), "signatures[0].verifier"), leafDer, spki);
    }

    private static string? DsseV002(JsonMap spec, SigstoreBundle bundle, byte[]? leafDer, byte[] spki)
    {
        var env = bundle.DsseEnvelope ?? throw new BodyException("the log entry is a dsse entry but the bundle holds a message signature");
        var inner = Obj(spec, "dsseV002");
        var sigs = Arr(inner, "signatures");
        if (sigs.Count != 1)
        {
            return $"the dsse log entry records {sigs.Count} signatures, expected exactly one";
        }

        var sig = sigs[0] as JsonMap ?? throw new BodyException("signatures[0] is not an object");
        if (!ByteArrays.Equal(B64(Str(sig, "content"), "signatures[0].content"), env.Signatures[0].Signature))
        {
            return "the log entry records a different DSSE signature than the bundle";
        }

        var payloadHash = Obj(inner, "payloadHash");
        if (!ByteArrays.Equal(B64(Str(payloadHash, "digest"), "payloadHash.digest"), SigstorePublicKey.Digest(HashName(Str(payloadHash, "algorithm")), env.Payload)))
        {
            return "the log entry records a different DSSE payload hash than the bundle's payload";
        }

        return VerifierV002Matches(Obj(sig, "verifier"), leafDer, spki);
    }

    private static string? IntotoV002(JsonMap spec, SigstoreBundle bundle, byte[]? leafDer, byte[] spki)
    {
        var env = bundle.DsseEnvelope ?? throw new BodyException("the log entry is an intoto entry but the bundle holds a message signature");
        var content = Obj(spec, "content");
        var envelope = Obj(content, "envelope");
        var sigs = Arr(envelope, "signatures");
        if (sigs.Count != 1)
        {
            return $"the intoto log entry records {sigs.Count} signatures, expected exactly one";
        }

        var sig = sigs[0] as JsonMap ?? throw new BodyException("envelope.signatures[0] is not an object");

        // intoto 0.0.2 stores the signature base64-encoded twice.
        string sigText = Encoding.UTF8.GetString(B64(Str(sig, "sig"), "envelope.signatures[0].sig"));
        if (!ByteArrays.Equal(B64(sigText, "envelope.signatures[0].sig (inner)"), env.Signatures[0].Signature))
        {
            return "the log entry records a different DSSE signature than the bundle";
        }

        var payloadHash = Obj(content, "payloadHash");
        if (!Hex.TryDecode(Str(payloadHash, "value"), out byte[] digest)
            || !ByteArrays.Equal(digest, SigstorePublicKey.Digest(HashName(Str(payloadHash, "algorithm")), env.Payload)))
        {
            return "the log entry records a different DSSE payload hash than the bundle's payload";
        }

        return VerifierMatches(B64(Str(sig, "publicKey"), "envelope.signatures[0].publicKey"), leafDer, spki);
    }

    /// <summary>Message signature: the artifact digest. DSSE: the digest of the PAE (what was actually signed).</summary>
    private static bool SignedDigestMatches(SigstoreBundle bundle, string hash, byte[] digest)
    {
        if (bundle.MessageSignature is not null)
        {
            return ByteArrays.Equal(digest, bundle.MessageSignature.Digest);
        }

        return ByteArrays.Equal(digest, SigstorePublicKey.Digest(hash, bundle.DsseEnvelope!.Pae()));
    }

    /// <summary>A verifier recorded as PEM text (v0.0.1 kinds): a certificate must equal the leaf, a key the signer's key.</summary>
    private static string? VerifierMatches(byte[] pemBytes, byte[]? leafDer, byte[] spki)
    {
        List<Pem.Block> blocks;
        try
        {
            blocks = Pem.ReadAll(Encoding.UTF8.GetString(pemBytes), what => new BodyException("the log entry's verifier is not valid PEM: " + what));
        }
        catch (BodyException e)
        {
            return e.Message;
        }

        if (blocks.Count != 1)
        {
            return $"the log entry's verifier holds {blocks.Count} PEM blocks, expected one certificate or public key";
        }

        var block = blocks[0];
        return block.Label switch
        {
            "CERTIFICATE" when leafDer is not null && ByteArrays.Equal(block.Der, leafDer) => null,
            "CERTIFICATE" => "the log entry was made with a different signing certificate than the bundle's",
            "PUBLIC KEY" when ByteArrays.Equal(block.Der, spki) => null,
            "PUBLIC KEY" => "the log entry was made with a different public key than the one verifying this bundle",
            _ => $"the log entry's verifier is a PEM '{block.Label}', expected a certificate or public key",
        };
    }

    private static string? VerifierV002Matches(JsonMap verifier, byte[]? leafDer, byte[] spki)
    {
        if (verifier.TryGetValue("x509Certificate", out var c) && c is JsonMap cert)
        {
            return leafDer is not null && ByteArrays.Equal(B64(Str(cert, "rawBytes"), "verifier.x509Certificate.rawBytes"), leafDer)
                ? null
                : "the log entry was made with a different signing certificate than the bundle's";
        }

        if (verifier.TryGetValue("publicKey", out var k) && k is JsonMap key)
        {
            return ByteArrays.Equal(B64(Str(key, "rawBytes"), "verifier.publicKey.rawBytes"), spki)
                ? null
                : "the log entry was made with a different public key than the one verifying this bundle";
        }

        return "the log entry's verifier has neither x509Certificate nor publicKey";
    }

    private static string HashName(string algorithm) => algorithm switch
    {
        "sha256" or "SHA2_256" => "SHA-256",
        "sha384" or "SHA2_384" => "SHA-384",
        "sha512" or "SHA2_512" => "SHA-512",
        _ => throw new BodyException($"the log entry uses the unsupported hash algorithm \"{algorithm}\""),
    };

    private static JsonMap Obj(JsonMap o, string field) =>
        o.TryGetValue(field, out var v) && v is JsonMap r ? r : throw new BodyException($"the log entry body has no \"{field}\" object");

    private static JsonList Arr(JsonMap o, string field) =>
        o.TryGetValue(field, out var v) && v is JsonList r ? r : throw new BodyException($"the log entry body has no \"{field}\" array");

    private static string Str(JsonMap o, string field) =>
        o.TryGetValue(field, out var v) && v is JsonString r ? r.Value : throw new BodyException($"the log entry body has no \"{field}\" string");

    private static byte[] B64(string text, string what) =>
        Base64Codec.TryDecode(text, out var bytes, out var error) ? bytes : throw new BodyException($"the log entry's {what} is not base64 ({error})");

    private sealed class BodyException : Exception
    {
        public BodyException(string message)
            : base(message)
        {
        }
    }
}
