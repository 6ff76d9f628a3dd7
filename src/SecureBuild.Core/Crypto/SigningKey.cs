using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Crypto;

/// <summary>A private key that signs with its securesystemslib scheme.</summary>
public sealed class SigningKey
{
    private readonly AsymmetricKeyParameter _private;

    internal SigningKey(PublicKey publicKey, AsymmetricKeyParameter privateKey)
    {
        Public = publicKey;
        _private = privateKey;
    }

    public PublicKey Public { get; }

    public string KeyId => Public.KeyId;

    public KeyType Type => Public.Type;

    /// <summary>
    /// Signs <paramref name="data"/>: ed25519 (64 raw bytes, deterministic); ecdsa-sha2-nistp256 (DER, RFC 6979
    /// deterministic nonce); rsassa-pss-sha256 (MGF1-SHA256, salt 32).
    /// </summary>
    public byte[] Sign(byte[] data)
    {
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }

        return KeyAlgorithms.Sign(Type, _private, data);
    }

    /// <summary>
    /// Signs <paramref name="data"/> in the scheme X.509 certificate verifiers use for this key's certificate:
    /// RSA as RSASSA-PKCS1-v1_5 SHA-256 (what Sigstore bundle verifiers, cosign and sigstore-go check for an RSA
    /// certificate); ed25519 and ECDSA as <see cref="Sign"/>.
    /// </summary>
    public byte[] SignForCertificate(byte[] data)
    {
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }

        return Type == KeyType.Rsa ? KeyAlgorithms.SignRsaPkcs1Sha256(_private, data) : KeyAlgorithms.Sign(Type, _private, data);
    }

    /// <summary>
    /// Loads a private key: securesystemslib JSON private keys, PEM 'PRIVATE KEY' (PKCS#8: Ed25519, EC P-256,
    /// RSA), 'RSA PRIVATE KEY', 'EC PRIVATE KEY' (P-256).
    /// </summary>
    /// <exception cref="KeyFormatException">SB1001..SB1006 (SB1003 for a public key).</exception>
    public static SigningKey Load(string path)
    {
        string text = KeyReader.ReadKeyFile(path);
        return FromMaterial(KeyReader.Parse(text, Path.GetFullPath(path), requirePrivate: true));
    }

    /// <inheritdoc cref="Load"/>
    public static SigningKey Parse(string text, string sourceName) =>
        FromMaterial(KeyReader.Parse(text, sourceName, requirePrivate: true));

    /// <summary>A new random key (RSA: 3072 bits, e = 65537; ECDSA: NIST P-256).</summary>
    public static SigningKey Generate(KeyType type)
    {
        var pair = KeyAlgorithms.Generate(type);
        PublicKey pub = type switch
        {
            KeyType.Ed25519 => new PublicKey(type, Hex.Encode(((Ed25519PublicKeyParameters)pair.Public).GetEncoded()), pair.Public),
            KeyType.Ecdsa => MakeEc((ECPublicKeyParameters)pair.Public),
            _ => new PublicKey(type, KeyAlgorithms.RsaPublicPem((RsaKeyParameters)pair.Public), pair.Public),
        };
        AsymmetricKeyParameter priv = pair.Private;
        if (priv is ECPrivateKeyParameters ec)
        {
            priv = new ECPrivateKeyParameters("EC", ec.D, KeyAlgorithms.P256Oid);
        }

        return new SigningKey(pub, priv);

        static PublicKey MakeEc(ECPublicKeyParameters p)
        {
            var named = new ECPublicKeyParameters("EC", p.Q, KeyAlgorithms.P256Oid);
            return new PublicKey(KeyType.Ecdsa, KeyAlgorithms.EcPublicPem(named), named);
        }
    }

    /// <summary>
    /// The private key file as Debian's in-toto-keygen writes it: ed25519/ecdsa as securesystemslib JSON
    /// (with "keyid" and keyval.private; ecdsa private as SEC1 PEM), rsa as PKCS#1 PEM 'RSA PRIVATE KEY'.
    /// Contains secret material: write it with restrictive permissions.
    /// </summary>
    public string ExportPrivate()
    {
        switch (Type)
        {
            case KeyType.Ed25519:
                return JsonText.WritePythonDefault(new JsonMap
                {
                    { "keytype", Public.KeyTypeName },
                    { "scheme", Public.Scheme },
                    { "keyid", KeyId },
                    { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
                    {
                        "keyval", new JsonMap
                        {
                            { "public", Public.PublicValue },
                            { "private", Hex.Encode(((Ed25519PrivateKeyParameters)_private).GetEncoded()) },
                        }
                    },
                });
            case KeyType.Ecdsa:
                return JsonText.WritePythonDefault(new JsonMap
                {
                    { "keytype", Public.KeyTypeName },
                    { "scheme", Public.Scheme },
                    { "keyid", KeyId },
                    {
                        "keyval", new JsonMap
                        {
                            { "public", Public.PublicValue },
                            { "private", KeyAlgorithms.EcPrivatePem((ECPrivateKeyParameters)_private, (ECPublicKeyParameters)Public.Parameters) },
                        }
                    },
                    { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
                });
            default:
                return KeyAlgorithms.RsaPrivatePem((RsaPrivateCrtKeyParameters)_private);
        }
    }

    /// <summary>
    /// The public key file as in-toto-keygen writes it: ed25519/ecdsa securesystemslib JSON, rsa SPKI PEM
    /// without trailing newline.
    /// </summary>
    public string ExportPublic()
    {
        if (Type == KeyType.Rsa)
        {
            return Public.PublicValue;
        }

        return JsonText.WritePythonDefault(new JsonMap
        {
            { "keytype", Public.KeyTypeName },
            { "scheme", Public.Scheme },
            { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
            { "keyval", new JsonMap { { "public", Public.PublicValue } } },
        });
    }

    /// <summary>
    /// The private key as PKCS#8 PEM ("PRIVATE KEY"), for tools that do not read securesystemslib JSON: cosign,
    /// sigstore-js (Node's crypto), openssl. Contains secret material: write it with restrictive permissions.
    /// </summary>
    public string ExportPrivatePem() => KeyAlgorithms.Pkcs8PrivatePem(Type, _private, Public.Parameters);

    public override string ToString() => $"{Public.KeyTypeName} signing key {KeyId}";

    private static SigningKey FromMaterial(KeyMaterial material) =>
        new(material.Public, material.Private ?? throw new InvalidOperationException("Key material without a private key."));
}
