using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Sigstore;

/// <summary>
/// A public key as Sigstore uses it (log keys, CT log keys, certificate keys, the caller's key): ECDSA on P-256/P-384/
/// P-521 with DER signatures, Ed25519 (pure), RSA PKCS#1 v1.5 or PSS. Verification never throws on bad input.
/// </summary>
internal sealed class SigstorePublicKey
{
    private readonly AsymmetricKeyParameter _key;
    private readonly RsaMode _rsaMode;

    private SigstorePublicKey(AsymmetricKeyParameter key, byte[] spkiDer, RsaMode rsaMode)
    {
        _key = key;
        SpkiDer = spkiDer;
        _rsaMode = rsaMode;
    }

    private enum RsaMode
    {
        Pkcs1,
        Pss,
        Either,
    }

    /// <summary>DER SubjectPublicKeyInfo.</summary>
    public byte[] SpkiDer { get; }

    public bool IsEd25519 => _key is Ed25519PublicKeyParameters;

    /// <summary>"ECDSA P-256", "Ed25519", "RSA-3072", ...</summary>
    public string Description => _key switch
    {
        Ed25519PublicKeyParameters => "Ed25519",
        ECPublicKeyParameters ec => "ECDSA " + CurveName(ec),
        RsaKeyParameters rsa => "RSA-" + rsa.Modulus.BitLength,
        _ => _key.GetType().Name,
    };

    /// <summary>A key from DER SPKI (or, for the PKCS1_RSA_* key details, a PKCS#1 RSAPublicKey).</summary>
    public static SigstorePublicKey FromDer(byte[] der, string? keyDetails)
    {
        AsymmetricKeyParameter key;
        if (keyDetails is not null && keyDetails.StartsWith("PKCS1_RSA", StringComparison.Ordinal))
        {
            var rsa = RsaPublicKeyStructure.GetInstance(Asn1Object.FromByteArray(der));
            key = KeyAlgorithms.RsaPublic(rsa.Modulus, rsa.PublicExponent);
        }
        else
        {
            key = PublicKeyFactory.CreateKey(SubjectPublicKeyInfo.GetInstance(Asn1Object.FromByteArray(der)));
        }

        var mode = keyDetails is not null && keyDetails.IndexOf("PSS", StringComparison.Ordinal) >= 0 ? RsaMode.Pss : RsaMode.Pkcs1;
        return From(key, mode);
    }

    /// <summary>The key of a certificate.</summary>
    public static SigstorePublicKey FromCertificate(X509Certificate certificate) => From(certificate.GetPublicKey(), RsaMode.Pkcs1);

    /// <summary>The caller's key: ECDSA/Ed25519 as is; RSA accepts PSS (SecureBuild's scheme) and PKCS#1 v1.5.</summary>
    public static SigstorePublicKey FromCoreKey(PublicKey key) => From(key.Parameters, RsaMode.Either);

    private static SigstorePublicKey From(AsymmetricKeyParameter key, RsaMode mode)
    {
        if (key.IsPrivate)
        {
            throw new ArgumentException("A private key is not a verification key.");
        }

        if (key is not (ECPublicKeyParameters or Ed25519PublicKeyParameters or RsaKeyParameters))
        {
            throw new NotSupportedException($"unsupported public key type {key.GetType().Name}");
        }

        byte[] spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(key).GetDerEncoded();
        return new SigstorePublicKey(key, spki, mode);
    }

    /// <summary>The hash ECDSA keys use by default: SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521; RSA SHA-256.</summary>
    public string DefaultHash => _key is ECPublicKeyParameters ec
        ? ec.Parameters.Curve.FieldSize switch { > 384 => "SHA-512", > 256 => "SHA-384", _ => "SHA-256" }
        : "SHA-256";

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="data"/> (hash chosen by the key unless given).</summary>
    public bool Verify(byte[] data, byte[] signature, string? hash = null)
    {
        if (data is null || signature is null || signature.Length == 0)
        {
            return false;
        }

        try
        {
            switch (_key)
            {
                case Ed25519PublicKeyParameters:
                {
                    if (signature.Length != 64)
                    {
                        return false;
                    }

                    var signer = new Ed25519Signer();
                    signer.Init(false, _key);
                    signer.BlockUpdate(data, 0, data.Length);
                    return signer.VerifySignature(signature);
                }

                default:
                {
                    string h = hash ?? DefaultHash;
                    return VerifyDigest(h, Digest(h, data), signature);
                }
            }
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// Verifies a signature given only the message digest (ECDSA and RSA; Ed25519 signs the whole message, so this
    /// returns false for it).
    /// </summary>
    public bool VerifyDigest(string hash, byte[] digest, byte[] signature)
    {
        if (digest is null || signature is null || signature.Length == 0)
        {
            return false;
        }

        try
        {
            switch (_key)
            {
                case ECPublicKeyParameters ec:
                {
                    var rs = StandardDsaEncoding.Instance.Decode(ec.Parameters.N, signature);
                    var ecdsa = new ECDsaSigner();
                    ecdsa.Init(false, ec);
                    return ecdsa.VerifySignature(digest, rs[0], rs[1]);
                }

                case RsaKeyParameters rsa:
                {
                    if (_rsaMode != RsaMode.Pss && VerifyPkcs1(rsa, hash, digest, signature))
                    {
                        return true;
                    }

                    return _rsaMode != RsaMode.Pkcs1 && VerifyPss(rsa, hash, digest, signature);
                }

                default:
                    return false;
            }
        }
        catch (Exception)
        {
            return false;
        }
    }

    public static byte[] Digest(string hash, byte[] data)
    {
        IDigest d = NewDigest(hash);
        d.BlockUpdate(data, 0, data.Length);
        var result = new byte[d.GetDigestSize()];
        d.DoFinal(result, 0);
        return result;
    }

    public static IDigest NewDigest(string hash) => hash switch
    {
        "SHA-256" => new Sha256Digest(),
        "SHA-384" => new Sha384Digest(),
        "SHA-512" => new Sha512Digest(),
        "SHA3-256" => new Sha3Digest(256),
        "SHA3-384" => new Sha3Digest(384),
        _ => throw new NotSupportedException($"unsupported hash algorithm {hash}"),
    };

    private static DerObjectIdentifier HashOid(string hash) => hash switch
    {
        "SHA-256" => NistObjectIdentifiers.IdSha256,
        "SHA-384" => NistObjectIdentifiers.IdSha384,
        "SHA-512" => NistObjectIdentifiers.IdSha512,
        "SHA3-256" => NistObjectIdentifiers.IdSha3_256,
        "SHA3-384" => NistObjectIdentifiers.IdSha3_384,
        _ => throw new NotSupportedException($"unsupported hash algorithm {hash}"),
    };

    private static bool VerifyPkcs1(RsaKeyParameters rsa, string hash, byte[] digest, byte[] signature)
    {
        var signer = new RsaDigestSigner(new NullDigest(), HashOid(hash));
        signer.Init(false, rsa);
        signer.BlockUpdate(digest, 0, digest.Length);
        return signer.VerifySignature(signature);
    }

    private static bool VerifyPss(RsaKeyParameters rsa, string hash, byte[] digest, byte[] signature)
    {
        // PSS over a precomputed digest: the raw variant takes the message hash as its input.
        foreach (int salt in new[] { NewDigest(hash).GetDigestSize(), 0, 32, 48, 64 }.Distinct())
        {
            var pss = PssSigner.CreateRawSigner(new RsaEngine(), NewDigest(hash), NewDigest(hash), salt, PssSigner.TrailerImplicit);
            pss.Init(false, rsa);
            pss.BlockUpdate(digest, 0, digest.Length);
            if (pss.VerifySignature(signature))
            {
                return true;
            }
        }

        return false;
    }

    private static string CurveName(ECPublicKeyParameters ec) => ec.Parameters.Curve.FieldSize switch
    {
        256 => "P-256",
        384 => "P-384",
        521 => "P-521",
        int n => $"{n}-bit curve",
    };
}
