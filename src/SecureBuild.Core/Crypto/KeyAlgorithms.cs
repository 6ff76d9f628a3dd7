using System.Collections.Concurrent;
using System.Text;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Crypto;

/// <summary>All signing, verification and key encoding, on BouncyCastle only (same code on .NET Framework and .NET).</summary>
internal static class KeyAlgorithms
{
    public const int RsaPssSaltLength = 32;
    public const int MinRsaBits = 2048;

    private static readonly SecureRandom Random = new();

    public static DerObjectIdentifier P256Oid => SecObjectIdentifiers.SecP256r1;

    public static string KeyTypeName(KeyType type) => type switch
    {
        KeyType.Ed25519 => "ed25519",
        KeyType.Ecdsa => "ecdsa",
        KeyType.Rsa => "rsa",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static string SchemeName(KeyType type) => type switch
    {
        KeyType.Ed25519 => "ed25519",
        KeyType.Ecdsa => "ecdsa-sha2-nistp256",
        KeyType.Rsa => "rsassa-pss-sha256",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The securesystemslib keyid: sha256 over canonical JSON of the public key dict.</summary>
    public static string ComputeKeyId(string keyType, string scheme, string publicValue)
    {
        var preimage = new JsonMap
        {
            { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
            { "keytype", keyType },
            { "keyval", new JsonMap { { "public", publicValue } } },
            { "scheme", scheme },
        };
        return Hex.Encode(Sha256(CanonicalJson.Serialize(preimage)));
    }

    public static byte[] Sha256(byte[] data)
    {
        var digest = new Sha256Digest();
        digest.BlockUpdate(data, 0, data.Length);
        var result = new byte[digest.GetDigestSize()];
        digest.DoFinal(result, 0);
        return result;
    }

    // ---- signing / verification ----

    public static byte[] Sign(KeyType type, AsymmetricKeyParameter privateKey, byte[] data)
    {
        ISigner signer = type switch
        {
            KeyType.Ed25519 => new Ed25519Signer(),
            // RFC 6979 deterministic k: no dependency on the quality of a random source at signing time.
            KeyType.Ecdsa => new DsaDigestSigner(new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest())), new Sha256Digest(), StandardDsaEncoding.Instance),
            KeyType.Rsa => new PssSigner(new RsaBlindedEngine(), new Sha256Digest(), new Sha256Digest(), RsaPssSaltLength),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        ICipherParameters parameters = type == KeyType.Rsa ? new ParametersWithRandom(privateKey, Random) : privateKey;
        signer.Init(true, parameters);
        signer.BlockUpdate(data, 0, data.Length);
        return signer.GenerateSignature();
    }

    /// <summary>
    /// RSASSA-PKCS1-v1_5 with SHA-256: the scheme X.509 certificate verifiers assume for an RSA certificate key
    /// (Sigstore's PKIX_RSA_PKCS1V15_*_SHA256, cosign, sigstore-go), where securesystemslib keys use PSS.
    /// </summary>
    public static byte[] SignRsaPkcs1Sha256(AsymmetricKeyParameter privateKey, byte[] data)
    {
        var signer = new RsaDigestSigner(new Sha256Digest());
        signer.Init(true, privateKey);
        signer.BlockUpdate(data, 0, data.Length);
        return signer.GenerateSignature();
    }

    public static bool Verify(KeyType type, AsymmetricKeyParameter publicKey, byte[] data, byte[] signature)
    {
        if (data is null || signature is null || signature.Length == 0)
        {
            return false;
        }

        try
        {
            ISigner signer;
            switch (type)
            {
                case KeyType.Ed25519:
                    if (signature.Length != 64)
                    {
                        return false;
                    }

                    signer = new Ed25519Signer();
                    break;
                case KeyType.Ecdsa:
                    signer = new DsaDigestSigner(new ECDsaSigner(), new Sha256Digest(), StandardDsaEncoding.Instance);
                    break;
                case KeyType.Rsa:
                    // securesystemslib verifies with PSS.AUTO: any salt length is fine. Find the salt length the
                    // signature claims, then let BouncyCastle's PssSigner do the real verification with it.
                    int? salt = DetectPssSaltLength((RsaKeyParameters)publicKey, signature);
                    if (salt is null)
                    {
                        return false;
                    }

                    signer = new PssSigner(new RsaEngine(), new Sha256Digest(), new Sha256Digest(), salt.Value);
                    break;
                default:
                    return false;
            }

            signer.Init(false, publicKey);
            signer.BlockUpdate(data, 0, data.Length);
            return signer.VerifySignature(signature);
        }
        catch (Exception)
        {
            // Garbage signatures (bad DER, wrong length, out-of-range values) are simply invalid.
            return false;
        }
    }

    /// <summary>EMSA-PSS decoding (RFC 8017 9.1.2) far enough to read the salt length; null if malformed.</summary>
    private static int? DetectPssSaltLength(RsaKeyParameters key, byte[] signature)
    {
        int modBits = key.Modulus.BitLength;
        int k = (modBits + 7) / 8;
        if (signature.Length != k)
        {
            return null;
        }

        var s = new BigInteger(1, signature);
        if (s.CompareTo(key.Modulus) >= 0)
        {
            return null;
        }

        int emBits = modBits - 1;
        int emLen = (emBits + 7) / 8;
        const int hLen = 32;
        if (emLen < hLen + 2)
        {
            return null;
        }

        BigInteger m = s.ModPow(key.Exponent, key.Modulus);
        if (m.BitLength > emBits)
        {
            return null;
        }

        byte[] raw = m.ToByteArrayUnsigned();
        var em = new byte[emLen];
        Buffer.BlockCopy(raw, 0, em, emLen - raw.Length, raw.Length);
        if (em[emLen - 1] != 0xBC)
        {
            return null;
        }

        int dbLen = emLen - hLen - 1;
        var h = new byte[hLen];
        Buffer.BlockCopy(em, dbLen, h, 0, hLen);
        var mask = new byte[dbLen];
        var mgf = new Mgf1BytesGenerator(new Sha256Digest());
        mgf.Init(new MgfParameters(h));
        mgf.GenerateBytes(mask, 0, dbLen);
        var db = new byte[dbLen];
        for (int i = 0; i < dbLen; i++)
        {
            db[i] = (byte)(em[i] ^ mask[i]);
        }

        db[0] &= (byte)(0xFF >> (8 * emLen - emBits));
        int idx = 0;
        while (idx < dbLen && db[idx] == 0)
        {
            idx++;
        }

        if (idx >= dbLen || db[idx] != 0x01)
        {
            return null;
        }

        return dbLen - idx - 1;
    }

    // ---- generation ----

    public static AsymmetricCipherKeyPair Generate(KeyType type)
    {
        IAsymmetricCipherKeyPairGenerator generator;
        switch (type)
        {
            case KeyType.Ed25519:
                generator = new Ed25519KeyPairGenerator();
                generator.Init(new Ed25519KeyGenerationParameters(Random));
                break;
            case KeyType.Ecdsa:
                generator = new ECKeyPairGenerator("EC");
                generator.Init(new ECKeyGenerationParameters(P256Oid, Random));
                break;
            case KeyType.Rsa:
                generator = new RsaKeyPairGenerator();
                generator.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(65537), Random, 3072, 100));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }

        return generator.GenerateKeyPair();
    }

    // ---- encodings ----

    /// <summary>ECDSA P-256 public key as the SPKI PEM pyca/cryptography writes (named curve, uncompressed point, trailing LF).</summary>
    public static string EcPublicPem(ECPublicKeyParameters key)
    {
        var named = new ECPublicKeyParameters("EC", key.Q, P256Oid);
        var spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(named);
        return Pem.Encode("PUBLIC KEY", spki.GetDerEncoded(), trailingNewline: true);
    }

    /// <summary>RSA public key as securesystemslib stores it: SPKI PEM, 64-char lines, no trailing newline.</summary>
    public static string RsaPublicPem(RsaKeyParameters key)
    {
        // The SPKI SubjectPublicKeyInfoFactory writes for an RSA public key, built from the numbers (also of a private
        // key), without constructing (and so validating) another RsaKeyParameters.
        var spki = new SubjectPublicKeyInfo(new AlgorithmIdentifier(PkcsObjectIdentifiers.RsaEncryption, DerNull.Instance),
            new RsaPublicKeyStructure(key.Modulus, key.Exponent));
        return Pem.Encode("PUBLIC KEY", spki.GetDerEncoded(), trailingNewline: false);
    }

    private const int MaxValidatedRsaKeys = 256;
    private static readonly ConcurrentDictionary<(BigInteger Modulus, BigInteger Exponent), RsaKeyParameters> ValidatedRsaKeys = new();

    /// <summary>
    /// The RSA public key with this modulus and exponent. BouncyCastle validates the modulus each time it constructs one
    /// (odd, no small factor, and a Miller-Rabin test that it is composite: three 3072-bit modular exponentiations,
    /// 50 to 250 ms on a loaded 2-core machine), and a verification parses the layout's and the links' keys again each
    /// time. So a validated key is kept for the process, as BouncyCastle for Java does: each distinct key is validated
    /// once. A modulus that fails validation throws and is never kept. Past <see cref="MaxValidatedRsaKeys"/> keys the
    /// cache starts over.
    /// </summary>
    public static RsaKeyParameters RsaPublic(BigInteger modulus, BigInteger exponent)
    {
        var id = (modulus, exponent);
        if (ValidatedRsaKeys.TryGetValue(id, out var known))
        {
            return known;
        }

        var key = new RsaKeyParameters(false, modulus, exponent);
        if (ValidatedRsaKeys.Count >= MaxValidatedRsaKeys)
        {
            ValidatedRsaKeys.Clear();
        }

        ValidatedRsaKeys[id] = key;
        return key;
    }

    /// <summary>SEC1 "EC PRIVATE KEY" (version 1, key, [0] named curve, [1] public point), like OpenSSL writes it.</summary>
    public static string EcPrivatePem(ECPrivateKeyParameters key, ECPublicKeyParameters publicKey)
    {
        var structure = new ECPrivateKeyStructure(
            256,
            key.D,
            new DerBitString(publicKey.Q.GetEncoded(false)),
            new X962Parameters(P256Oid));
        return Pem.Encode("EC PRIVATE KEY", structure.GetDerEncoded(), trailingNewline: true);
    }

    /// <summary>PKCS#1 "RSA PRIVATE KEY" as in-toto-keygen writes it (no trailing newline).</summary>
    public static string RsaPrivatePem(RsaPrivateCrtKeyParameters key)
    {
        var info = PrivateKeyInfoFactory.CreatePrivateKeyInfo(key);
        var pkcs1 = RsaPrivateKeyStructure.GetInstance(info.ParsePrivateKey());
        return Pem.Encode("RSA PRIVATE KEY", pkcs1.GetDerEncoded(), trailingNewline: false);
    }

    /// <summary>
    /// PKCS#8 "PRIVATE KEY", the form openssl genpkey, cosign and Node's crypto (sigstore-js) read: Ed25519 as RFC 8410
    /// (version 0, the 32-byte seed, no attributes; what `openssl genpkey -algorithm ed25519` writes), EC P-256 as a
    /// SEC1 key with its public point under id-ecPublicKey/prime256v1 (the curve named once, in the algorithm), RSA as
    /// rsaEncryption. Trailing newline, as openssl writes it.
    /// </summary>
    public static string Pkcs8PrivatePem(KeyType type, AsymmetricKeyParameter privateKey, AsymmetricKeyParameter publicKey)
    {
        PrivateKeyInfo info = type switch
        {
            KeyType.Ed25519 => new PrivateKeyInfo(
                new AlgorithmIdentifier(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_Ed25519),
                new DerOctetString(((Ed25519PrivateKeyParameters)privateKey).GetEncoded())),
            KeyType.Ecdsa => new PrivateKeyInfo(
                new AlgorithmIdentifier(X9ObjectIdentifiers.IdECPublicKey, P256Oid),
                new ECPrivateKeyStructure(256, ((ECPrivateKeyParameters)privateKey).D,
                    new DerBitString(((ECPublicKeyParameters)publicKey).Q.GetEncoded(false)), null)),
            _ => PrivateKeyInfoFactory.CreatePrivateKeyInfo(privateKey),
        };
        return Pem.Encode("PRIVATE KEY", info.GetDerEncoded(), trailingNewline: true);
    }

    /// <summary>SubjectPublicKeyInfo "PUBLIC KEY" of any key type (Ed25519 per RFC 8410), trailing newline.</summary>
    public static string SpkiPublicPem(AsymmetricKeyParameter publicKey) => publicKey is ECPublicKeyParameters ec
        ? EcPublicPem(ec)
        : Pem.Encode("PUBLIC KEY", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(publicKey).GetDerEncoded(), trailingNewline: true);

    public static ECPublicKeyParameters EcPublicFromPrivate(ECPrivateKeyParameters key)
    {
        var q = key.Parameters.G.Multiply(key.D).Normalize();
        return new ECPublicKeyParameters("EC", q, P256Oid);
    }

    public static ECDomainParameters P256Domain() => ECNamedDomainParameters.LookupOid(P256Oid);

    public static string CurveName(DerObjectIdentifier oid)
    {
        string? name = ECNamedCurveTable.GetName(oid);
        string? nist = Org.BouncyCastle.Asn1.Nist.NistNamedCurves.GetName(oid);
        if (name is null)
        {
            return "curve OID " + oid.Id;
        }

        return nist is null ? name : $"{name} (NIST {nist})";
    }

    public static string AlgorithmName(DerObjectIdentifier oid)
    {
        if (oid.Equals(PkcsObjectIdentifiers.RsaEncryption))
        {
            return "RSA";
        }

        if (oid.Equals(X9ObjectIdentifiers.IdECPublicKey))
        {
            return "EC";
        }

        if (oid.Equals(X9ObjectIdentifiers.IdDsa) || oid.Equals(Org.BouncyCastle.Asn1.Oiw.OiwObjectIdentifiers.DsaWithSha1))
        {
            return "DSA";
        }

        if (oid.Equals(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_Ed25519))
        {
            return "Ed25519";
        }

        if (oid.Equals(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_Ed448))
        {
            return "Ed448";
        }

        if (oid.Equals(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_X25519))
        {
            return "X25519";
        }

        if (oid.Equals(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_X448))
        {
            return "X448";
        }

        if (oid.Equals(PkcsObjectIdentifiers.IdRsassaPss))
        {
            return "RSASSA-PSS (restricted RSA key)";
        }

        return "algorithm OID " + oid.Id;
    }

    internal static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
}
