using System.Numerics;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The two Ed25519 verifiers agree: libsodium (what the verifier uses when the system has it, as the reference does
/// through PyNaCl) and BouncyCastle (<see cref="PublicKey.Verify"/>, used everywhere else and by the verifier without
/// libsodium). Both run here explicitly, on valid signatures, on every single-bit change, and on the encodings where
/// Ed25519 implementations are known to differ: a non-canonical S, small-order public keys and R points.
/// </summary>
public class Ed25519BackendTests
{
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");

    private static void RequireLibsodium() =>
        Assert.That(FastSignatures.Sodium.IsAvailable, Is.True,
            "libsodium is not loadable (and SECUREBUILD_NO_LIBSODIUM must not be 1 here): install libsodium23 (Debian's in-toto pulls it in) so both backends are tested");

    private static PublicKey? Key(byte[] raw)
    {
        try
        {
            var hex = Convert.ToHexString(raw).ToLowerInvariant();
            return PublicKey.Parse("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": {\"public\": \"" + hex + "\"}}", "test key");
        }
        catch (KeyFormatException)
        {
            return null; // BouncyCastle refuses the encoding: a verification with it fails
        }
    }

    private static (bool Sodium, bool BouncyCastle) Both(byte[] publicKey, byte[] message, byte[] signature) =>
        (FastSignatures.Sodium.VerifyEd25519(signature, message, message.Length, publicKey),
         Key(publicKey)?.Verify(message, signature) ?? false);

    private static byte[] Raw(PublicKey key) => Convert.FromHexString(key.PublicValue);

    [Test]
    public void Both_accept_valid_signatures_and_reject_every_single_bit_change()
    {
        RequireLibsodium();
        var random = new Random(25519);
        var disagreements = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var key = SigningKey.Generate(KeyType.Ed25519);
            var message = new byte[random.Next(0, 300)];
            random.NextBytes(message);
            var signature = key.Sign(message);
            var publicKey = Raw(key.Public);
            void Check(string what, byte[] pk, byte[] m, byte[] sig, bool expected)
            {
                var (sodium, bouncy) = Both(pk, m, sig);
                if (sodium != expected || bouncy != expected)
                {
                    disagreements.Add($"key {i} {what}: libsodium {sodium}, BouncyCastle {bouncy}, expected {expected}");
                }
            }
            Check("valid", publicKey, message, signature, true);
            var bit = random.Next(64 * 8);
            Check($"signature bit {bit}", publicKey, message, Flip(signature, bit), false);
            if (message.Length > 0)
            {
                var messageBit = random.Next(message.Length * 8);
                Check($"message bit {messageBit}", publicKey, Flip(message, messageBit), signature, false);
            }
            var keyBit = random.Next(32 * 8);
            Check($"public key bit {keyBit}", Flip(publicKey, keyBit), message, signature, false);
        }
        Assert.That(disagreements, Is.Empty);
    }

    [Test]
    public void Both_reject_a_signature_whose_S_is_not_reduced_mod_L()
    {
        RequireLibsodium();
        var key = SigningKey.Generate(KeyType.Ed25519);
        var message = "malleable?"u8.ToArray();
        var signature = key.Sign(message);
        var s = new BigInteger(signature.AsSpan(32, 32), isUnsigned: true, isBigEndian: false) + L;
        var malleated = signature[..32].Concat(s.ToByteArray(isUnsigned: true, isBigEndian: false).Concat(new byte[32]).Take(32)).ToArray();
        Assert.That(Both(Raw(key.Public), message, malleated), Is.EqualTo((false, false)), "S + L is the same signature mathematically; both must refuse it");
    }

    /// <summary>Encodings of points of order 1, 2, 4 and 8 (the curve's torsion), as listed with libsodium's blocklist.</summary>
    private static readonly string[] SmallOrderPoints =
    {
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    };

    [TestCaseSource(nameof(SmallOrderPoints))]
    public void Both_reject_a_small_order_public_key_with_the_trivial_signature(string point)
    {
        // With A and R of small order and S = 0, the verification equation [S]B = R + [k]A holds for many messages
        // (always, for the identity): a key that "signs" everything. in-toto's reference (libsodium) refuses it.
        RequireLibsodium();
        var publicKey = Convert.FromHexString(point);
        var signature = publicKey.Concat(new byte[32]).ToArray();
        var message = "any message at all"u8.ToArray();
        Assert.That(Both(publicKey, message, signature), Is.EqualTo((false, false)));
    }

    private static byte[] Flip(byte[] bytes, int bit)
    {
        var copy = (byte[])bytes.Clone();
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
