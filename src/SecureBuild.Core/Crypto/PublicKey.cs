using Org.BouncyCastle.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Crypto;

/// <summary>
/// A public key the way securesystemslib/in-toto see it: keytype, scheme, the keyval.public string, and the
/// keyid derived from them.
/// </summary>
public sealed class PublicKey : IEquatable<PublicKey>
{
    internal PublicKey(KeyType type, string publicValue, AsymmetricKeyParameter parameters)
    {
        Type = type;
        PublicValue = publicValue;
        Parameters = parameters;
        KeyTypeName = KeyAlgorithms.KeyTypeName(type);
        Scheme = KeyAlgorithms.SchemeName(type);
        KeyId = KeyAlgorithms.ComputeKeyId(KeyTypeName, Scheme, publicValue);
    }

    /// <summary>Lowercase hex SHA-256 of the canonical key dict (securesystemslib keyid).</summary>
    public string KeyId { get; }

    public KeyType Type { get; }

    /// <summary>"ed25519", "ecdsa" or "rsa".</summary>
    public string KeyTypeName { get; }

    /// <summary>"ed25519", "ecdsa-sha2-nistp256" or "rsassa-pss-sha256".</summary>
    public string Scheme { get; }

    /// <summary>
    /// keyval.public exactly as securesystemslib stores it: ed25519 64 hex; ecdsa SPKI PEM with a trailing "\n";
    /// rsa SPKI PEM from BEGIN to END line, LF line endings, no trailing newline. Values read from a JSON key dict
    /// are kept verbatim (the keyid is computed over them).
    /// </summary>
    public string PublicValue { get; }

    internal AsymmetricKeyParameter Parameters { get; }

    /// <summary>Verifies a signature over <paramref name="data"/> with this key's scheme. Never throws on a bad signature.</summary>
    public bool Verify(byte[] data, byte[] signature)
    {
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }

        return signature is not null && KeyAlgorithms.Verify(Type, Parameters, data, signature);
    }

    /// <summary>The securesystemslib key dict, as embedded in a layout's "keys" map.</summary>
    public JsonMap ToKeyObject() => new()
    {
        { "keyid", KeyId },
        { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
        { "keytype", KeyTypeName },
        { "keyval", new JsonMap { { "public", PublicValue } } },
        { "scheme", Scheme },
    };

    /// <summary>
    /// Reads a key dict (layout "keys" entry). Strict: only keyid, keyid_hash_algorithms (must be
    /// ["sha256","sha512"]), keytype, keyval {public} and scheme are allowed; keyid, if present, must match.
    /// </summary>
    /// <exception cref="KeyFormatException">SB1004 for unsupported types/schemes, SB1005 for anything malformed.</exception>
    public static PublicKey FromKeyObject(JsonMap keyObject)
    {
        if (keyObject is null)
        {
            throw new ArgumentNullException(nameof(keyObject));
        }

        string keyIdHint = keyObject.TryGetValue("keyid", out var kidNode) && kidNode is JsonString kidString ? kidString.Value : "?";
        string source = $"key object {(keyIdHint.Length > 16 ? keyIdHint.Substring(0, 16) + "..." : keyIdHint)}";
        foreach (var kv in keyObject)
        {
            if (kv.Key is not ("keyid" or "keyid_hash_algorithms" or "keytype" or "keyval" or "scheme"))
            {
                throw KeyReader.Malformed(source, $"unexpected field \"{kv.Key}\" (allowed: keyid, keyid_hash_algorithms, keytype, keyval, scheme)");
            }
        }

        string keytype = keyObject.TryGetValue("keytype", out var kt) && kt is JsonString kts ? kts.Value : throw KeyReader.Malformed(source, "\"keytype\" is missing or not a string");
        string scheme = keyObject.TryGetValue("scheme", out var sc) && sc is JsonString scs ? scs.Value : throw KeyReader.Malformed(source, "\"scheme\" is missing or not a string");
        if (!keyObject.TryGetValue("keyval", out var kvNode) || kvNode is not JsonMap keyval)
        {
            throw KeyReader.Malformed(source, "\"keyval\" is missing or not an object");
        }

        foreach (var kv in keyval)
        {
            if (kv.Key != "public")
            {
                throw KeyReader.Malformed(source, $"\"keyval\" may only contain \"public\", found \"{kv.Key}\"");
            }
        }

        string publicValue = keyval.TryGetValue("public", out var pv) && pv is JsonString pvs ? pvs.Value : throw KeyReader.Malformed(source, "\"keyval.public\" is missing or not a string");
        KeyReader.CheckHashAlgorithms(keyObject, source);
        KeyType type = KeyReader.TypeFromNames(keytype, scheme, source);
        PublicKey key = type == KeyType.Ed25519
            ? KeyReader.PublicFromHex(publicValue, source)
            : KeyReader.PublicFromEmbeddedPem(publicValue, type, source);
        if (kidNode is not null)
        {
            if (kidNode is not JsonString declared)
            {
                throw KeyReader.Malformed(source, "\"keyid\" is not a string");
            }

            if (!string.Equals(declared.Value, key.KeyId, StringComparison.Ordinal))
            {
                throw KeyReader.Malformed(source, $"its \"keyid\" does not match the key (computed keyid {key.KeyId})");
            }
        }

        return key;
    }

    /// <summary>
    /// Loads a public key from a securesystemslib JSON public key or a PEM 'PUBLIC KEY' (RSA, EC P-256, Ed25519).
    /// A private key file is refused (SB1703), as in-toto-verify refuses one as a layout key: a verification key is
    /// handed around, and a private key handed around is no longer private.
    /// </summary>
    /// <exception cref="KeyFormatException">SB1001..SB1006, SB1700..SB1703.</exception>
    public static PublicKey Load(string path)
    {
        string text = KeyReader.ReadKeyFile(path);
        var full = Path.GetFullPath(path);
        var material = KeyReader.Parse(text, full, requirePrivate: false);
        if (material.Private is not null)
        {
            throw new KeyFormatException(KeyFormatException.PrivateKeyGiven,
                $"Key file '{full}' holds a private key where a public key is expected.",
                "Give the public key (`securebuild keygen` writes it next to the private key as <name>.pub) and keep the private key to the signer.");
        }
        return material.Public;
    }

    /// <inheritdoc cref="Load"/>
    public static PublicKey Parse(string text, string sourceName) =>
        KeyReader.Parse(text, sourceName, requirePrivate: false).Public;

    public bool Equals(PublicKey? other) => other is not null && other.KeyId == KeyId;

    public override bool Equals(object? obj) => obj is PublicKey other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(KeyId);

    /// <summary>The key as SubjectPublicKeyInfo PEM ("PUBLIC KEY"), what openssl, cosign and sigstore-js read (same key id).</summary>
    public string ExportPem() => KeyAlgorithms.SpkiPublicPem(Parameters);

    public override string ToString() => $"{KeyTypeName} key {KeyId}";
}
