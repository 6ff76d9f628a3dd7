using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tuf;

/// <summary>
/// A key as TUF metadata lists it (root "keys", delegations "keys"): the keyid the metadata gives it and, when its
/// keytype and scheme are supported, the public key that checks signatures. Supported: ed25519; ecdsa-sha2-nistp256
/// with keytype "ecdsa" (SPKI PEM) or "ecdsa-sha2-nistp256" (PEM or hex point, the form Sigstore's first roots use);
/// rsassa-pss-sha256. A key of another type is kept, never used: its signatures do not count (TUF: a client ignores
/// keys it cannot use), so metadata that needs it to reach a threshold is refused with the reason.
/// <para>The keyid is taken as the metadata states it, as python-tuf and tuf-js do: repositories compute keyids in
/// more than one way (with and without keyid_hash_algorithms), so recomputing would refuse valid repositories.</para>
/// </summary>
public sealed class TufKey
{
    private TufKey(string keyId, PublicKey? key, string? unsupported, string keyType, string scheme, string publicValue)
    {
        KeyId = keyId;
        Key = key;
        Unsupported = unsupported;
        KeyType = keyType;
        Scheme = scheme;
        PublicValue = publicValue;
    }

    public string KeyId { get; }

    /// <summary>The verifying key, or null when <see cref="Unsupported"/> says why there is none.</summary>
    public PublicKey? Key { get; }

    public string? Unsupported { get; }

    public string KeyType { get; }

    public string Scheme { get; }

    public string PublicValue { get; }

    /// <summary>Reads one entry of a "keys" map. Malformed entries fail; unsupported types come back without a key.</summary>
    internal static TufKey Parse(string keyId, JsonItem node, string path)
    {
        Func<string, Exception> fail = TufMetadata.Fail;
        var obj = StrictJson.AsObject(node, path, fail);
        string keyType = StrictJson.ReqString(obj, "keytype", path, fail);
        string scheme = StrictJson.ReqString(obj, "scheme", path, fail);
        var keyval = StrictJson.ReqObject(obj, "keyval", path, fail);
        string publicValue = StrictJson.ReqString(keyval, "public", path + ".keyval", fail);
        string source = $"TUF key {keyId}";
        try
        {
            PublicKey? key = (keyType, scheme) switch
            {
                ("ed25519", "ed25519") => KeyReader.PublicFromHex(publicValue, source),
                ("ecdsa" or "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => publicValue.StartsWith("-----BEGIN", StringComparison.Ordinal)
                    ? KeyReader.PublicFromEmbeddedPem(publicValue, Crypto.KeyType.Ecdsa, source)
                    : KeyReader.PublicFromEcPointHex(publicValue, source),
                ("rsa", "rsassa-pss-sha256") => KeyReader.PublicFromEmbeddedPem(publicValue, Crypto.KeyType.Rsa, source),
                _ => null,
            };
            return key is null
                ? new TufKey(keyId, null, $"keytype '{keyType}' with scheme '{scheme}' is not supported (supported: ed25519, ecdsa-sha2-nistp256, rsassa-pss-sha256)", keyType, scheme, publicValue)
                : new TufKey(keyId, key, null, keyType, scheme, publicValue);
        }
        catch (KeyFormatException e)
        {
            throw TufMetadata.Fail($"{path}: {e.Message}");
        }
    }

    /// <summary>The key dict for metadata this client writes (securesystemslib form, keyid_hash_algorithms omitted as TUF 1.0 allows).</summary>
    public static JsonMap ToJson(PublicKey key) => new()
    {
        { "keytype", key.KeyTypeName },
        { "keyval", new JsonMap { { "public", key.PublicValue } } },
        { "scheme", key.Scheme },
    };

    /// <summary>TUF's keyid: hex SHA-256 of the canonical JSON of <see cref="ToJson"/>.</summary>
    public static string KeyIdOf(PublicKey key) => Sha256Hex.Of(CanonicalJson.Serialize(ToJson(key)));
}
