using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Security;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using PublicKey = SecureBuild.Core.Crypto.PublicKey;

namespace SecureBuild.Core.Tests;

public class KeyTests
{
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("SecureBuild canonical bytes \U0001F600");

    [TestCase("owner", "owner.pub")]
    [TestCase("alice", "alice.pub")]
    [TestCase("bob", "bob.pub")]
    [TestCase("mallory", "mallory.pub")]
    public void KeyIdsOfPublicKeyFilesMatchReference(string name, string file)
    {
        var entry = (JsonMap)TestData.KeyIds()[name];
        var key = PublicKey.Load(TestData.Keys(file));
        Assert.That(key.KeyId, Is.EqualTo(((JsonString)entry["keyid"]).Value));

        // The preimage itself, byte for byte.
        var preimage = new JsonMap
        {
            { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
            { "keytype", key.KeyTypeName },
            { "keyval", new JsonMap { { "public", key.PublicValue } } },
            { "scheme", key.Scheme },
        };
        Assert.That(Encoding.UTF8.GetString(CanonicalJson.Serialize(preimage)), Is.EqualTo(((JsonString)entry["keyid_preimage_canonical_json"]).Value));
    }

    [TestCase("alice")]
    [TestCase("bob")]
    public void KeyIdsOfPrivateKeyFilesMatchReference(string name)
    {
        string expected = TestData.ExpectedKeyId(name);
        var signing = SigningKey.Load(TestData.PrivateKey(name));
        Assert.That(signing.KeyId, Is.EqualTo(expected));
        Assert.That(signing.Public.KeyId, Is.EqualTo(expected));
    }

    [TestCase("alice")]
    [TestCase("bob")]
    public void A_private_key_file_is_refused_where_a_public_key_is_expected_as_in_toto_verify_does(string name)
    {
        var e = Assert.Throws<KeyFormatException>(() => PublicKey.Load(TestData.PrivateKey(name)))!;
        Assert.That(e.Code, Is.EqualTo("SB1703"));
        Assert.That(e.Message, Does.Contain("private key").And.Not.Contain("PRIVATE KEY-----"), "the message never quotes key material");
        Assert.That(e.Fix, Does.Contain(".pub"));
    }

    [Test]
    public void PublicValueForms()
    {
        var alice = PublicKey.Load(TestData.Keys("alice.pub"));
        Assert.That(alice.Type, Is.EqualTo(KeyType.Ed25519));
        Assert.That(alice.Scheme, Is.EqualTo("ed25519"));
        Assert.That(alice.PublicValue, Does.Match("^[0-9a-f]{64}$"));

        var bob = PublicKey.Load(TestData.Keys("bob.pub"));
        Assert.That(bob.Type, Is.EqualTo(KeyType.Ecdsa));
        Assert.That(bob.KeyTypeName, Is.EqualTo("ecdsa"));
        Assert.That(bob.Scheme, Is.EqualTo("ecdsa-sha2-nistp256"));
        Assert.That(bob.PublicValue, Does.StartWith("-----BEGIN PUBLIC KEY-----\n").And.EndWith("-----END PUBLIC KEY-----\n"));

        var owner = PublicKey.Load(TestData.Keys("owner.pub"));
        Assert.That(owner.Type, Is.EqualTo(KeyType.Rsa));
        Assert.That(owner.Scheme, Is.EqualTo("rsassa-pss-sha256"));
        Assert.That(owner.PublicValue, Is.EqualTo(File.ReadAllText(TestData.Keys("owner.pub"))));
        Assert.That(owner.PublicValue, Does.EndWith("-----END PUBLIC KEY-----"));
    }

    [Test]
    public void RsaPemVariantsKeepTheKeyId()
    {
        string pem = File.ReadAllText(TestData.Keys("owner.pub"));
        string expected = TestData.ExpectedKeyId("owner");
        Assert.That(PublicKey.Parse(pem.Replace("\n", "\r\n"), "crlf").KeyId, Is.EqualTo(expected));
        Assert.That(PublicKey.Parse(pem + "\n", "trailing newline").KeyId, Is.EqualTo(expected));
        Assert.That(PublicKey.Parse("some junk\n" + pem + "\nmore junk\n", "junk").KeyId, Is.EqualTo(expected));
        Assert.That(PublicKey.Parse("\uFEFF" + pem, "bom").KeyId, Is.EqualTo(expected));
    }

    [Test]
    public void EcdsaSpkiEncodingMatchesPycaCryptography()
    {
        // bob.pub's PEM was written by pyca/cryptography; re-encoding it from a PEM input must give the same text.
        var bob = PublicKey.Load(TestData.Keys("bob.pub"));
        var fromPem = PublicKey.Parse(bob.PublicValue, "bob pem");
        Assert.That(fromPem.PublicValue, Is.EqualTo(bob.PublicValue));
        Assert.That(fromPem.KeyId, Is.EqualTo(TestData.ExpectedKeyId("bob")));
    }

    [Test]
    public void EcdsaPrivateExportMatchesOpenSslSec1()
    {
        var bobFile = (JsonMap)JsonParser.Parse(File.ReadAllBytes(TestData.PrivateKey("bob")));
        string referencePrivatePem = ((JsonString)((JsonMap)bobFile["keyval"])["private"]).Value;
        var bob = SigningKey.Load(TestData.PrivateKey("bob"));
        var exported = (JsonMap)JsonParser.Parse(bob.ExportPrivate());
        Assert.That(((JsonString)((JsonMap)exported["keyval"])["private"]).Value, Is.EqualTo(referencePrivatePem));
        Assert.That(JsonItem.DeepEquals(exported, bobFile), Is.True, "the whole securesystemslib private key dict is reproduced");
    }

    [Test]
    public void Ed25519ExportReproducesTheReferenceFile()
    {
        var alice = SigningKey.Load(TestData.PrivateKey("alice"));
        Assert.That(alice.ExportPrivate(), Is.EqualTo(File.ReadAllText(TestData.PrivateKey("alice"))), "in-toto-keygen writes json.dumps defaults");
        Assert.That(alice.ExportPublic(), Is.EqualTo(File.ReadAllText(TestData.Keys("alice.pub"))));
        var bob = SigningKey.Load(TestData.PrivateKey("bob"));
        Assert.That(bob.ExportPublic(), Is.EqualTo(File.ReadAllText(TestData.Keys("bob.pub"))));
    }

    [Test]
    public void Ed25519SignatureIsReproducedByteForByte()
    {
        var alice = SigningKey.Load(TestData.PrivateKey("alice"));
        foreach (string link in new[] { "restore.8fa97c41.link", "build.8fa97c41.link" })
        {
            byte[] canonical = TestData.Bytes("vectors", link + ".signed.canonical");
            var reference = Metablock.Parse(TestData.Bytes("cases", "pass-baseline", "links", link));
            string sig = Convert.ToHexString(alice.Sign(canonical)).ToLowerInvariant();
            Assert.That(sig, Is.EqualTo(reference.Signatures.Single().Sig), link);

            var block = new Metablock(reference.Signed);
            block.Sign(alice);
            Assert.That(block.Signatures.Single().Sig, Is.EqualTo(reference.Signatures.Single().Sig), link + " via Metablock.Sign");
        }
    }

    [TestCase(KeyType.Ed25519)]
    [TestCase(KeyType.Ecdsa)]
    [TestCase(KeyType.Rsa)]
    public void GeneratedKeysSignVerifyAndRoundTripThroughExport(KeyType type)
    {
        var key = SigningKey.Generate(type);
        byte[] sig = key.Sign(Message);
        Assert.That(key.Public.Verify(Message, sig), Is.True);
        Assert.That(key.Public.Verify(Encoding.UTF8.GetBytes("other"), sig), Is.False);

        var reloaded = SigningKey.Parse(key.ExportPrivate(), "exported private");
        var publicReloaded = PublicKey.Parse(key.ExportPublic(), "exported public");
        Assert.That(reloaded.KeyId, Is.EqualTo(key.KeyId));
        Assert.That(publicReloaded.KeyId, Is.EqualTo(key.KeyId));
        Assert.That(publicReloaded.PublicValue, Is.EqualTo(key.Public.PublicValue));
        Assert.That(publicReloaded.Verify(Message, reloaded.Sign(Message)), Is.True);
        Assert.That(reloaded.ExportPrivate(), Is.EqualTo(key.ExportPrivate()));

        switch (type)
        {
            case KeyType.Ed25519:
                Assert.That(sig, Has.Length.EqualTo(64));
                Assert.That(key.ExportPrivate(), Does.StartWith("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyid\": \"" + key.KeyId));
                break;
            case KeyType.Ecdsa:
                Assert.That(sig[0], Is.EqualTo(0x30), "DER SEQUENCE");
                Assert.That(sig.Length, Is.InRange(8, 72));
                Assert.That(key.Sign(Message), Is.EqualTo(sig), "RFC 6979 deterministic nonce");
                Assert.That(key.Public.PublicValue, Does.EndWith("-----END PUBLIC KEY-----\n"));
                Assert.That(key.ExportPrivate(), Does.Contain("-----BEGIN EC PRIVATE KEY-----"));
                break;
            case KeyType.Rsa:
                Assert.That(sig, Has.Length.EqualTo(384), "RSA-3072");
                Assert.That(key.ExportPrivate(), Does.StartWith("-----BEGIN RSA PRIVATE KEY-----\n").And.EndWith("-----END RSA PRIVATE KEY-----"));
                Assert.That(key.ExportPublic(), Does.StartWith("-----BEGIN PUBLIC KEY-----\n").And.EndWith("-----END PUBLIC KEY-----"));
                Assert.That(key.ExportPublic().Split('\n').Skip(1).SkipLast(1).SkipLast(1), Has.All.Length.EqualTo(64));
                break;
        }
    }

    [Test]
    public void EcdsaCrossCheckWithSystemSecurityCryptography()
    {
        var ours = SigningKey.Generate(KeyType.Ecdsa);
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(ours.Public.PublicValue);
        byte[] sig = ours.Sign(Message);
        Assert.That(ecdsa.VerifyData(Message, sig, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence), Is.True);

        // .NET signs with our private key (exported as SEC1 inside the JSON) and we verify.
        var keyval = (JsonMap)((JsonMap)JsonParser.Parse(ours.ExportPrivate()))["keyval"];
        using var ecdsaPrivate = ECDsa.Create();
        ecdsaPrivate.ImportFromPem(((JsonString)keyval["private"]).Value);
        byte[] dotnetSig = ecdsaPrivate.SignData(Message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Assert.That(ours.Public.Verify(Message, dotnetSig), Is.True);
        byte[] p1363 = ecdsaPrivate.SignData(Message, HashAlgorithmName.SHA256);
        Assert.That(ours.Public.Verify(Message, p1363), Is.False, "IEEE P1363 (r||s) is not the in-toto format");

        // .NET-generated key, exported as PKCS#8 and SPKI PEM, loads into our types.
        using var dotnetKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var loaded = SigningKey.Parse(dotnetKey.ExportPkcs8PrivateKeyPem(), "dotnet pkcs8");
        var loadedSec1 = SigningKey.Parse(dotnetKey.ExportECPrivateKeyPem(), "dotnet sec1");
        var loadedPublic = PublicKey.Parse(dotnetKey.ExportSubjectPublicKeyInfoPem(), "dotnet spki");
        Assert.That(loaded.KeyId, Is.EqualTo(loadedPublic.KeyId));
        Assert.That(loadedSec1.KeyId, Is.EqualTo(loadedPublic.KeyId));
        Assert.That(dotnetKey.VerifyData(Message, loaded.Sign(Message), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence), Is.True);
    }

    [Test]
    public void RsaCrossCheckWithSystemSecurityCryptography()
    {
        var ours = SigningKey.Generate(KeyType.Rsa);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(ours.ExportPublic());
        Assert.That(rsa.VerifyData(Message, ours.Sign(Message), HashAlgorithmName.SHA256, RSASignaturePadding.Pss), Is.True);

        using var rsaPrivate = RSA.Create();
        rsaPrivate.ImportFromPem(ours.ExportPrivate());
        byte[] dotnetSig = rsaPrivate.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        Assert.That(ours.Public.Verify(Message, dotnetSig), Is.True);
        byte[] pkcs1Sig = rsaPrivate.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.That(ours.Public.Verify(Message, pkcs1Sig), Is.False, "PKCS#1 v1.5 is not rsassa-pss");

        using var dotnetKey = RSA.Create(2048);
        var loaded = SigningKey.Parse(dotnetKey.ExportPkcs8PrivateKeyPem(), "dotnet pkcs8");
        var loadedPkcs1 = SigningKey.Parse(dotnetKey.ExportRSAPrivateKeyPem(), "dotnet pkcs1");
        var loadedPublic = PublicKey.Parse(dotnetKey.ExportSubjectPublicKeyInfoPem(), "dotnet spki");
        Assert.That(loaded.KeyId, Is.EqualTo(loadedPublic.KeyId));
        Assert.That(loadedPkcs1.KeyId, Is.EqualTo(loadedPublic.KeyId));
        Assert.That(dotnetKey.VerifyData(Message, loaded.Sign(Message), HashAlgorithmName.SHA256, RSASignaturePadding.Pss), Is.True);
    }

    [TestCase(0)]
    [TestCase(20)]
    [TestCase(32)]
    [TestCase(64)]
    [TestCase(350)] // maximum for RSA-3072 with SHA-256 (PSS.MAX_LENGTH, what older securesystemslib used)
    public void RsaPssVerificationAcceptsAnySaltLengthLikeSecureSystemsLib(int saltLength)
    {
        var ours = SigningKey.Generate(KeyType.Rsa);
        var privateParams = (RsaPrivateCrtKeyParameters)((Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair)new PemReader(new StringReader(ours.ExportPrivate())).ReadObject()).Private;
        var signer = new PssSigner(new RsaEngine(), new Sha256Digest(), saltLength);
        signer.Init(true, new Org.BouncyCastle.Crypto.Parameters.ParametersWithRandom(privateParams, new SecureRandom()));
        signer.BlockUpdate(Message, 0, Message.Length);
        byte[] sig = signer.GenerateSignature();
        Assert.That(ours.Public.Verify(Message, sig), Is.True);
        Assert.That(ours.Public.Verify(Encoding.UTF8.GetBytes("x"), sig), Is.False);
    }

    [TestCase(KeyType.Ed25519)]
    [TestCase(KeyType.Ecdsa)]
    [TestCase(KeyType.Rsa)]
    public void GarbageSignaturesReturnFalseAndNeverThrow(KeyType type)
    {
        var key = SigningKey.Generate(type);
        byte[] good = key.Sign(Message);
        var random = new Random(7);
        var candidates = new List<byte[]>
        {
            Array.Empty<byte>(),
            new byte[1],
            new byte[64],
            new byte[384],
            Enumerable.Repeat((byte)0xFF, 384).ToArray(),
            good.Take(good.Length - 1).ToArray(),
            good.Concat(new byte[] { 0 }).ToArray(),
            new byte[] { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00 },
            new byte[] { 0x30, 0x80 },
        };
        for (int i = 0; i < 200; i++)
        {
            byte[] mutated = (byte[])good.Clone();
            mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
            candidates.Add(mutated);
            var junk = new byte[random.Next(1, 500)];
            random.NextBytes(junk);
            candidates.Add(junk);
        }

        foreach (byte[] sig in candidates)
        {
            Assert.That(key.Public.Verify(Message, sig), Is.False);
        }

        Assert.That(key.Public.Verify(Message, null!), Is.False);
        Assert.That(key.Public.Verify(Message, good), Is.True);
    }

    [Test]
    public void KeyObjectsMatchTheLayoutsKeysMap()
    {
        var layout = Metablock.Parse(TestData.Bytes("cases", "pass-baseline", "root.layout"));
        var keys = (JsonMap)layout.Signed["keys"];
        foreach (string name in new[] { "alice", "bob" })
        {
            var key = PublicKey.Load(TestData.Keys(name + ".pub"));
            Assert.That(JsonItem.DeepEquals(key.ToKeyObject(), keys[key.KeyId]), Is.True, name);
            var back = PublicKey.FromKeyObject((JsonMap)keys[key.KeyId]);
            Assert.That(back.KeyId, Is.EqualTo(key.KeyId));
            Assert.That(back.PublicValue, Is.EqualTo(key.PublicValue));
        }

        var owner = PublicKey.Load(TestData.Keys("owner.pub"));
        Assert.That(PublicKey.FromKeyObject(owner.ToKeyObject()).KeyId, Is.EqualTo(owner.KeyId));
    }

    [Test]
    public void FromKeyObjectIsStrict()
    {
        var alice = PublicKey.Load(TestData.Keys("alice.pub"));
        JsonMap Mutate(Action<JsonMap> change)
        {
            var obj = (JsonMap)alice.ToKeyObject().DeepClone();
            change(obj);
            return obj;
        }

        KeyFormatException Rejects(JsonMap obj, string code) =>
            Assert.Throws<KeyFormatException>(() => PublicKey.FromKeyObject(obj), obj.ToString())!.With(e => Assert.That(e.Code, Is.EqualTo(code), e.Message));

        Rejects(Mutate(o => o["keyid"] = new string('0', 64)), "SB1005").With(e => Assert.That(e.Message, Does.Contain("does not match")));
        Rejects(Mutate(o => o.Add("extra", 1)), "SB1005");
        Rejects(Mutate(o => o.Remove("keyval")), "SB1005");
        Rejects(Mutate(o => o.Remove("scheme")), "SB1005");
        Rejects(Mutate(o => ((JsonMap)o["keyval"]).Add("private", "00")), "SB1005");
        Rejects(Mutate(o => ((JsonMap)o["keyval"])["public"] = "abc"), "SB1005");
        Rejects(Mutate(o => o["keyid_hash_algorithms"] = new JsonList("sha512")), "SB1005");
        Rejects(Mutate(o => o["scheme"] = "ed448"), "SB1004");
        Rejects(Mutate(o => o["keytype"] = "dsa"), "SB1004");

        // keyid is optional.
        Assert.That(PublicKey.FromKeyObject(Mutate(o => o.Remove("keyid"))).KeyId, Is.EqualTo(alice.KeyId));
    }

    [Test]
    public void Ed25519PemKeysAreAccepted()
    {
        // Generated with BouncyCastle in PKCS#8 / SPKI form, as `openssl genpkey -algorithm ed25519` writes them.
        var gen = new Org.BouncyCastle.Crypto.Generators.Ed25519KeyPairGenerator();
        gen.Init(new Org.BouncyCastle.Crypto.Parameters.Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        string privatePem = ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PRIVATE KEY", Org.BouncyCastle.Pkcs.PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded()));
        string publicPem = ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PUBLIC KEY", Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(pair.Public).GetDerEncoded()));
        var signing = SigningKey.Parse(privatePem, "ed pkcs8");
        var pub = PublicKey.Parse(publicPem, "ed spki");
        Assert.That(signing.KeyId, Is.EqualTo(pub.KeyId));
        Assert.That(pub.PublicValue, Is.EqualTo(Convert.ToHexString(((Ed25519PublicKeyParameters)pair.Public).GetEncoded()).ToLowerInvariant()));
        Assert.That(pub.Verify(Message, signing.Sign(Message)), Is.True);
    }

    [Test]
    public void SecureSystemsLibJsonRsaKeysAreAccepted()
    {
        var rsa = SigningKey.Generate(KeyType.Rsa);
        var dict = new JsonMap
        {
            { "keytype", "rsa" },
            { "scheme", "rsassa-pss-sha256" },
            { "keyid", rsa.KeyId },
            { "keyid_hash_algorithms", new JsonList("sha256", "sha512") },
            { "keyval", new JsonMap { { "public", rsa.ExportPublic() }, { "private", rsa.ExportPrivate() } } },
        };
        var loaded = SigningKey.Parse(JsonText.Write(dict), "rsa json");
        Assert.That(loaded.KeyId, Is.EqualTo(rsa.KeyId));
        Assert.That(rsa.Public.Verify(Message, loaded.Sign(Message)), Is.True);
        ((JsonMap)dict["keyval"]).Remove("private");
        Assert.That(PublicKey.Parse(JsonText.Write(dict), "rsa json public").KeyId, Is.EqualTo(rsa.KeyId));
        Assert.That(Assert.Throws<KeyFormatException>(() => SigningKey.Parse(JsonText.Write(dict), "rsa json public"))!.Code, Is.EqualTo("SB1003"));
    }

    internal static string ToPem(object obj)
    {
        var sw = new StringWriter();
        var writer = new PemWriter(sw);
        writer.WriteObject(obj);
        writer.Writer.Flush();
        return sw.ToString();
    }
}

internal static class TestExtensions
{
    public static T With<T>(this T value, Action<T> check)
    {
        check(value);
        return value;
    }
}
