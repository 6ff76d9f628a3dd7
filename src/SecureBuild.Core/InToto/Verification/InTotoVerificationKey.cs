using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// A key used to check signatures: either a layout key given by the caller, or a functionary key taken from a
/// layout's "keys" map. Like securesystemslib, the signature is looked up by the keyid written inside the key
/// object (for layout keys: the computed keyid).
/// </summary>
internal sealed class InTotoVerificationKey
{
    private PublicKey? _key;
    private readonly JsonMap? _raw;
    private readonly string _source;

    public InTotoVerificationKey(PublicKey key)
    {
        _key = key;
        KeyId = key.KeyId;
        _source = $"layout key {key.KeyId}";
    }

    private InTotoVerificationKey(string keyId, JsonMap raw, string source)
    {
        KeyId = keyId;
        _raw = raw;
        _source = source;
    }

    /// <summary>The keyid signatures are looked up by.</summary>
    public string KeyId { get; }

    /// <summary>
    /// A functionary key from a layout's "keys" map (securesystemslib ANY_VERIFICATION_KEY_SCHEMA: keyid, keytype,
    /// scheme and keyval.public required).
    /// </summary>
    /// <exception cref="VerificationAbort">FormatError: the key object cannot be used to verify.</exception>
    public static InTotoVerificationKey FromLayoutKey(string mapKeyId, JsonMap raw, string layoutFile)
    {
        string source = $"{layoutFile}: keys[\"{ReferenceMetadataReader.Short(mapKeyId)}\"]";
        if (raw.Get("keyid") is not JsonString kids || !ReferenceMetadataReader.IsPythonHex(kids.Value))
        {
            throw VerificationAbort.Format($"{source} cannot verify signatures: it has no \"keyid\" member (in-toto-verify fails with FormatError too).", layoutFile);
        }

        return new InTotoVerificationKey(kids.Value, raw, source);
    }

    /// <summary>Checks the first signature whose keyid is <see cref="KeyId"/>.</summary>
    /// <returns>null when valid; otherwise (reason, explanation).</returns>
    /// <exception cref="VerificationAbort">FormatError for malformed signatures or keys (the reference raises there too).</exception>
    public (DropReason Reason, string Why)? Check(MetadataFile file)
    {
        SignatureEntry? signature = null;
        foreach (var s in file.Signatures)
        {
            if (s.KeyId == KeyId)
            {
                signature = s;
                break;
            }
        }

        if (signature is null)
        {
            string by = file.Signatures.Count == 0
                ? "it carries no signature at all"
                : "it is signed by " + string.Join(", ", file.Signatures.Select(s => ReferenceMetadataReader.Short(s.KeyId)));
            return (DropReason.NotSignedByNamedKey, $"no signature by key {ReferenceMetadataReader.Short(KeyId)}: {by}");
        }

        byte[] data = file.SignableBytes(out int dataLength);
        if (signature.SigHex is null)
        {
            throw VerificationAbort.Format($"{file.File}: the signature by {ReferenceMetadataReader.Short(KeyId)} is a GPG signature; GPG is not supported by securebuild verify.", file.File);
        }

        if (signature.SigHex.Length % 2 != 0 || !Hex.TryDecode(signature.SigHex, out byte[] sig))
        {
            throw VerificationAbort.Format($"{file.File}: the signature by {ReferenceMetadataReader.Short(KeyId)} is not valid hex (odd length or a stray character; in-toto-verify fails with binascii.Error).", file.File);
        }

        if (IsEd25519 && sig.Length != 64)
        {
            throw VerificationAbort.Format($"{file.File}: the ed25519 signature by {ReferenceMetadataReader.Short(KeyId)} is {sig.Length} bytes long instead of 64 (in-toto-verify fails with FormatError too).", file.File);
        }

        // Without building a key object where possible (no BouncyCastle on the common paths).
        bool valid = _raw is not null && RawMaterial() is { } m && FastSignatures.TryVerifyRaw(m.KeyType, m.Scheme, m.Public, data, dataLength, sig) is { } fast
            ? fast
            : FastSignatures.Verify(Resolve(file.File), data, dataLength, sig);
        return valid
            ? null
            : (DropReason.BadSignature, $"the signature by key {ReferenceMetadataReader.Short(KeyId)} does not verify: the file was changed after signing, or signed over different content");
    }

    private bool IsEd25519 => _key is not null ? _key.Type == KeyType.Ed25519 : RawMaterial() is { KeyType: "ed25519", Scheme: "ed25519" };

    private (string KeyType, string Scheme, string Public)? RawMaterial()
    {
        if (_raw is null)
        {
            return null;
        }

        return _raw.Get("keytype") is JsonString kt && _raw.Get("scheme") is JsonString sc && _raw.Get("keyval") is JsonMap kv && kv.Get("public") is JsonString pub
            ? (kt.Value, sc.Value, pub.Value)
            : null;
    }

    private PublicKey Resolve(string fileForErrors)
    {
        if (_key is not null)
        {
            return _key;
        }

        var raw = _raw!;
        string keytype = raw.Get("keytype") is JsonString kts ? kts.Value : "";
        string scheme = raw.Get("scheme") is JsonString scs ? scs.Value : throw Unusable("it has no \"scheme\"");
        if (raw.Get("keyval") is not JsonMap keyval || keyval.Get("public") is not { } pubNode)
        {
            throw Unusable("it has no keyval.public");
        }

        if (pubNode is not JsonString pub)
        {
            throw Unusable("it is a GPG key; GPG is not supported by securebuild verify");
        }

        try
        {
            switch (keytype)
            {
                case "ed25519" when scheme == "ed25519":
                    _key = KeyReader.PublicFromHex(pub.Value, _source);
                    break;
                case "ecdsa" or "ecdsa-sha2-nistp256" when scheme == "ecdsa-sha2-nistp256":
                    _key = KeyReader.PublicFromEmbeddedPem(pub.Value, KeyType.Ecdsa, _source);
                    break;
                case "rsa" when scheme == "rsassa-pss-sha256":
                    _key = KeyReader.PublicFromEmbeddedPem(pub.Value, KeyType.Rsa, _source);
                    break;
                default:
                    throw Unusable($"keytype '{keytype}' with scheme '{scheme}' is not supported (supported: ed25519/ed25519, ecdsa/ecdsa-sha2-nistp256, rsa/rsassa-pss-sha256)");
            }
        }
        catch (KeyFormatException e)
        {
            throw Unusable(e.Message);
        }

        return _key;

        VerificationAbort Unusable(string why) => VerificationAbort.Format($"{_source} cannot verify the signature on {fileForErrors}: {why}.", fileForErrors);
    }
}
