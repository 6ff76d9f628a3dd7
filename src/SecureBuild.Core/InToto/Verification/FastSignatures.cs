using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Internal;

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
    /// <summary>Verifies <paramref name="signature"/> over <c>data[0..length)</c>.</summary>
    public static bool Verify(PublicKey key, byte[] data, int length, byte[] signature)
    {
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
