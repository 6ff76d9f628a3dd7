using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// Signature checks over large link files without BouncyCastle's managed digests (which, in a short-lived process,
/// mostly run unoptimized and hash at a few tens of MB/s):
/// <list type="bullet">
/// <item>ecdsa-sha2-nistp256: BouncyCastle's strict DER decoding (as in <see cref="PublicKey.Verify"/>), then the
/// platform's SHA-256 and P-256 verification (BouncyCastle's on the digest if the platform has none).</item>
/// <item>ed25519: libsodium's <c>crypto_sign_ed25519_verify_detached</c> when the system has libsodium (it is what the
/// reference uses, through PyNaCl), otherwise <see cref="PublicKey.Verify"/>.</item>
/// <item>rsassa-pss-sha256: <see cref="PublicKey.Verify"/> (layouts only, small).</item>
/// </list>
/// </summary>
internal static class FastSignatures
{
    // DER SubjectPublicKeyInfo prefix of every uncompressed P-256 key: SEQUENCE { SEQUENCE { id-ecPublicKey,
    // prime256v1 }, BIT STRING { 0x00, 0x04, X(32), Y(32) } }.
    private static readonly byte[] P256SpkiPrefix =
    {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    };

    // The order n of P-256, big-endian.
    private static readonly byte[] P256Order =
    {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    };

    /// <summary>
    /// Verifies without building a <see cref="PublicKey"/> (and so without BouncyCastle) when the key is ed25519 and
    /// libsodium is there, or a plainly encoded P-256 key. Null when that is not possible: use
    /// <see cref="Verify(PublicKey, byte[], int, byte[])"/>.
    /// </summary>
    public static bool? TryVerifyRaw(string keytype, string scheme, string publicValue, byte[] data, int length, byte[] signature)
    {
        if (keytype == "ed25519" && scheme == "ed25519")
        {
            if (signature.Length != 64 || !Sodium.IsAvailable || publicValue.Length != 64 || !Hex.TryDecode(publicValue, out byte[] pk))
            {
                return null;
            }

            return Sodium.VerifyEd25519(signature, data, length, pk);
        }

        if ((keytype == "ecdsa" || keytype == "ecdsa-sha2-nistp256") && scheme == "ecdsa-sha2-nistp256" && P256Point(publicValue) is { } point)
        {
            if (!DerToP1363(signature, out byte[] p1363))
            {
                return false; // malformed DER, or r/s out of range: invalid, as in the BouncyCastle path
            }

            try
            {
                using var ecdsa = ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = point.Take(32).ToArray(), Y = point.Skip(32).ToArray() },
                });
                return ecdsa.VerifyHash(Sha256(data, length), p1363);
            }
            catch (Exception e) when (e is CryptographicException || e is PlatformNotSupportedException || e is NotSupportedException)
            {
                return null; // not on the curve, or no platform ECDSA: the BouncyCastle path decides (and explains)
            }
        }

        return null;
    }

    // X||Y of a PEM "PUBLIC KEY" that holds an uncompressed P-256 point in the standard encoding, else null.
    private static byte[]? P256Point(string pem)
    {
        const string begin = "-----BEGIN PUBLIC KEY-----";
        const string end = "-----END PUBLIC KEY-----";
        int b = pem.IndexOf(begin, StringComparison.Ordinal);
        int e = pem.IndexOf(end, StringComparison.Ordinal);
        if (b < 0 || e < b || pem.IndexOf(begin, b + 1, StringComparison.Ordinal) >= 0)
        {
            return null;
        }

        byte[] der;
        try
        {
            der = Convert.FromBase64String(pem.Substring(b + begin.Length, e - b - begin.Length).Replace("\r", "").Replace("\n", ""));
        }
        catch (FormatException)
        {
            return null;
        }

        if (der.Length != P256SpkiPrefix.Length + 64)
        {
            return null;
        }

        for (int i = 0; i < P256SpkiPrefix.Length; i++)
        {
            if (der[i] != P256SpkiPrefix[i])
            {
                return null;
            }
        }

        var point = new byte[64];
        Buffer.BlockCopy(der, P256SpkiPrefix.Length, point, 0, 64);
        return point;
    }

    // Strict DER ECDSA-Sig-Value { r INTEGER, s INTEGER } with 0 < r, s < n, as fixed 32-byte r||s.
    private static bool DerToP1363(byte[] der, out byte[] p1363)
    {
        p1363 = new byte[64];
        int pos = 0;
        if (der.Length < 8 || der[pos++] != 0x30)
        {
            return false;
        }

        int seqLength = der[pos++];
        if (seqLength >= 0x80 || pos + seqLength != der.Length)
        {
            return false; // P-256 signatures are shorter than 128 bytes: the short form only
        }

        for (int k = 0; k < 2; k++)
        {
            if (pos + 2 > der.Length || der[pos++] != 0x02)
            {
                return false;
            }

            int len = der[pos++];
            if (len == 0 || len >= 0x80 || pos + len > der.Length)
            {
                return false;
            }

            if ((der[pos] & 0x80) != 0)
            {
                return false; // negative
            }

            if (len > 1 && der[pos] == 0 && (der[pos + 1] & 0x80) == 0)
            {
                return false; // not minimal
            }

            int start = pos, count = len;
            while (count > 0 && der[start] == 0)
            {
                start++;
                count--;
            }

            if (count == 0 || count > 32)
            {
                return false; // zero, or too large
            }

            Buffer.BlockCopy(der, start, p1363, (k * 32) + (32 - count), count);
            if (!LessThanOrder(p1363, k * 32))
            {
                return false;
            }

            pos += len;
        }

        return pos == der.Length;
    }

    private static bool LessThanOrder(byte[] value, int offset)
    {
        for (int i = 0; i < 32; i++)
        {
            if (value[offset + i] != P256Order[i])
            {
                return value[offset + i] < P256Order[i];
            }
        }

        return false;
    }

    private static byte[] Sha256(byte[] data, int length)
    {
        using var sha = SHA256.Create();
        return sha.ComputeHash(data, 0, length);
    }

    /// <summary>Verifies <paramref name="signature"/> over <c>data[0..length)</c>.</summary>
    public static bool Verify(PublicKey key, byte[] data, int length, byte[] signature)
    {
        if (TryVerifyRaw(key.KeyTypeName, key.Scheme, key.PublicValue, data, length, signature) is { } fast)
        {
            return fast;
        }

        switch (key.Type)
        {
            case KeyType.Ecdsa when key.Parameters is ECPublicKeyParameters ec:
                return VerifyEcdsa(ec, data, length, signature);
            case KeyType.Ed25519 when signature.Length == 64 && Sodium.IsAvailable && Hex.TryDecode(key.PublicValue, out byte[] pk) && pk.Length == 32:
                return Sodium.VerifyEd25519(signature, data, length, pk);
            default:
                return key.Verify(Exact(data, length), signature);
        }
    }

    private static byte[] Exact(byte[] data, int length)
    {
        if (data.Length == length)
        {
            return data;
        }

        var copy = new byte[length];
        Buffer.BlockCopy(data, 0, copy, 0, length);
        return copy;
    }

    private static bool VerifyEcdsa(ECPublicKeyParameters key, byte[] data, int length, byte[] signature)
    {
        Org.BouncyCastle.Math.BigInteger[] rs;
        try
        {
            // Strict DER, r and s in [1, n-1]: exactly what PublicKey.Verify accepts.
            rs = StandardDsaEncoding.Instance.Decode(key.Parameters.N, signature);
        }
        catch (Exception)
        {
            return false;
        }

        byte[] digest;
        using (var sha = SHA256.Create())
        {
            digest = sha.ComputeHash(data, 0, length);
        }

        try
        {
            // The platform's P-256 (OpenSSL on Linux) on the digest, with the signature as r||s.
            var q = key.Q.Normalize();
            using var ecdsa = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = Fixed32(q.AffineXCoord.ToBigInteger()), Y = Fixed32(q.AffineYCoord.ToBigInteger()) },
            });
            var p1363 = new byte[64];
            Buffer.BlockCopy(Fixed32(rs[0]), 0, p1363, 0, 32);
            Buffer.BlockCopy(Fixed32(rs[1]), 0, p1363, 32, 32);
            return ecdsa.VerifyHash(digest, p1363);
        }
        catch (Exception e) when (e is CryptographicException || e is PlatformNotSupportedException || e is NotSupportedException)
        {
            // No usable platform ECDSA: BouncyCastle on the same digest.
            var signer = new ECDsaSigner();
            signer.Init(false, key);
            return signer.VerifySignature(digest, rs[0], rs[1]);
        }
    }

    private static byte[] Fixed32(Org.BouncyCastle.Math.BigInteger value)
    {
        byte[] raw = value.ToByteArrayUnsigned();
        if (raw.Length == 32)
        {
            return raw;
        }

        var result = new byte[32];
        Buffer.BlockCopy(raw, 0, result, 32 - raw.Length, raw.Length);
        return result;
    }

    /// <summary>libsodium, if the system has it (Debian: libsodium23, a dependency of the reference's PyNaCl).</summary>
    internal static class Sodium
    {
        private static readonly Lazy<int> Library = new(Load);

        public static bool IsAvailable => Library.Value != 0;

        public static bool VerifyEd25519(byte[] signature, byte[] message, int length, byte[] publicKey) => Library.Value switch
        {
            1 => VerifySo23(signature, message, (ulong)length, publicKey) == 0,
            _ => VerifyPlain(signature, message, (ulong)length, publicKey) == 0,
        };

        // 0: none, 1: libsodium.so.23, 2: libsodium (by its plain name).
        private static int Load()
        {
            if (Environment.GetEnvironmentVariable("SECUREBUILD_NO_LIBSODIUM") == "1")
            {
                return 0;
            }

            try
            {
                if (InitSo23() >= 0)
                {
                    return 1;
                }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException)
            {
            }

            try
            {
                if (InitPlain() >= 0)
                {
                    return 2;
                }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException)
            {
            }

            return 0;
        }

        [DllImport("libsodium.so.23", EntryPoint = "sodium_init", CallingConvention = CallingConvention.Cdecl)]
        private static extern int InitSo23();

        [DllImport("libsodium.so.23", EntryPoint = "crypto_sign_ed25519_verify_detached", CallingConvention = CallingConvention.Cdecl)]
        private static extern int VerifySo23(byte[] sig, byte[] m, ulong mlen, byte[] pk);

        [DllImport("libsodium", EntryPoint = "sodium_init", CallingConvention = CallingConvention.Cdecl)]
        private static extern int InitPlain();

        [DllImport("libsodium", EntryPoint = "crypto_sign_ed25519_verify_detached", CallingConvention = CallingConvention.Cdecl)]
        private static extern int VerifyPlain(byte[] sig, byte[] m, ulong mlen, byte[] pk);
    }
}
