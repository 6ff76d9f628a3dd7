using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using PublicKey = SecureBuild.Core.Crypto.PublicKey;

namespace SecureBuild.Core.Tests;

public class KeyErrorTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestData.NewTempDir("sbkeys");

    [TearDown]
    public void TearDown() => TestData.TryDelete(_dir);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static KeyFormatException ExpectCode(string code, TestDelegate action)
    {
        var e = Assert.Throws<KeyFormatException>(action)!;
        Assert.That(e.Code, Is.EqualTo(code), e.Message);
        Assert.That(e.Message, Is.Not.Empty);
        Assert.That(e.Fix, Is.Not.Empty);
        Assert.That(e.Fix.TrimEnd().EndsWith('.'), Is.True, "Fix is one sentence");
        return e;
    }

    [Test]
    public void SB1001_MissingFile()
    {
        string path = Path.Combine(_dir, "does-not-exist.key");
        var e = ExpectCode("SB1001", () => SigningKey.Load(path));
        Assert.That(e.Message, Does.Contain(path).And.Contain("not found"));
        ExpectCode("SB1001", () => PublicKey.Load(path));
        ExpectCode("SB1001", () => SigningKey.Load(Path.Combine(_dir, "no-such-dir", "key")));
        ExpectCode("SB1001", () => SigningKey.Load(""));
    }

    [Test]
    public void SB1002_DirectoryInsteadOfFile()
    {
        var e = ExpectCode("SB1002", () => SigningKey.Load(_dir));
        Assert.That(e.Message, Does.Contain(_dir).And.Contain("directory"));
        ExpectCode("SB1002", () => PublicKey.Load(_dir));
    }

    [Test]
    public void SB1003_PublicKeyGivenWhereAPrivateKeyIsRequired()
    {
        foreach (string pub in new[] { "alice.pub", "bob.pub", "owner.pub" })
        {
            var e = ExpectCode("SB1003", () => SigningKey.Load(TestData.Keys(pub)));
            Assert.That(e.Message, Does.Contain(pub).And.Contain("private key is required"));
        }

        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        ExpectCode("SB1003", () => SigningKey.Parse(rsa.ExportRSAPublicKeyPem(), "pkcs1 public"));
        ExpectCode("SB1003", () => SigningKey.Parse(rsa.ExportSubjectPublicKeyInfoPem(), "spki public"));

        // A JSON key with an empty private value is a public key.
        string json = File.ReadAllText(TestData.Keys("alice.pub")).Replace("\"}}", "\", \"private\": \"\"}}");
        ExpectCode("SB1003", () => SigningKey.Parse(json, "empty private"));
    }

    [Test]
    public void SB1004_P384Curve()
    {
        var gen = new ECKeyPairGenerator("EC");
        gen.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP384r1, new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        string sec1 = KeyTests.ToPem(pair.Private); // BouncyCastle writes 'EC PRIVATE KEY'
        Assert.That(sec1, Does.Contain("BEGIN EC PRIVATE KEY"));
        var e = ExpectCode("SB1004", () => SigningKey.Load(Write("p384.pem", sec1)));
        Assert.That(e.Message, Does.Contain("secp384r1").And.Contain("P-384").And.Contain("P-256"));

        string pkcs8 = KeyTests.ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PRIVATE KEY", PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded()));
        ExpectCode("SB1004", () => SigningKey.Parse(pkcs8, "p384 pkcs8"));
        string spki = KeyTests.ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PUBLIC KEY", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(pair.Public).GetDerEncoded()));
        ExpectCode("SB1004", () => PublicKey.Parse(spki, "p384 spki"));

        // securesystemslib's nistp384 scheme
        string json = File.ReadAllText(TestData.Keys("bob.pub")).Replace("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384");
        ExpectCode("SB1004", () => PublicKey.Parse(json, "nistp384 json")).With(x => Assert.That(x.Message, Does.Contain("ecdsa-sha2-nistp384")));
    }

    [Test]
    public void SB1004_DsaKey()
    {
        var paramGen = new DsaParametersGenerator();
        paramGen.Init(1024, 80, new SecureRandom());
        var gen = new DsaKeyPairGenerator();
        gen.Init(new DsaKeyGenerationParameters(new SecureRandom(), paramGen.GenerateParameters()));
        var pair = gen.GenerateKeyPair();

        string traditional = KeyTests.ToPem(pair.Private);
        Assert.That(traditional, Does.Contain("BEGIN DSA PRIVATE KEY"));
        ExpectCode("SB1004", () => SigningKey.Load(Write("dsa.pem", traditional))).With(e => Assert.That(e.Message, Does.Contain("DSA")));

        string pkcs8 = KeyTests.ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PRIVATE KEY", PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded()));
        ExpectCode("SB1004", () => SigningKey.Parse(pkcs8, "dsa pkcs8")).With(e => Assert.That(e.Message, Does.Contain("DSA")));

        string spki = KeyTests.ToPem(new Org.BouncyCastle.Utilities.IO.Pem.PemObject("PUBLIC KEY", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(pair.Public).GetDerEncoded()));
        ExpectCode("SB1004", () => PublicKey.Parse(spki, "dsa spki")).With(e => Assert.That(e.Message, Does.Contain("DSA")));
    }

    [Test]
    public void SB1004_OtherUnsupportedInputs()
    {
        using var small = System.Security.Cryptography.RSA.Create(1024);
        ExpectCode("SB1004", () => SigningKey.Parse(small.ExportRSAPrivateKeyPem(), "rsa1024")).With(e => Assert.That(e.Message, Does.Contain("RSA-1024")));
        string scheme = File.ReadAllText(TestData.Keys("alice.pub")).Replace("\"scheme\": \"ed25519\"", "\"scheme\": \"ed448\"");
        ExpectCode("SB1004", () => PublicKey.Parse(scheme, "ed448 scheme"));
        ExpectCode("SB1004", () => PublicKey.Parse("{\"keytype\": \"sphincs\", \"scheme\": \"x\", \"keyval\": {\"public\": \"00\"}}", "weird keytype")).With(e => Assert.That(e.Message, Does.Contain("sphincs")));
        ExpectCode("SB1004", () => SigningKey.Parse("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "openssh"));
        ExpectCode("SB1004", () => PublicKey.Parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk user@host", "openssh pub"));
    }

    [Test]
    public void SB1005_GarbagePem()
    {
        string pem = File.ReadAllText(TestData.Keys("owner.pub"));
        ExpectCode("SB1005", () => PublicKey.Parse(pem.Replace("MIIBojAN", "MII*ojAN"), "bad char")).With(e => Assert.That(e.Message, Does.Contain("base64")));
        ExpectCode("SB1005", () => PublicKey.Parse(pem.Replace("AgMBAAE=", "AgMBAAE"), "bad padding")).With(e => Assert.That(e.Message, Does.Contain("base64")));
        ExpectCode("SB1005", () => PublicKey.Parse(pem.Replace("-----END PUBLIC KEY-----", ""), "no end")).With(e => Assert.That(e.Message, Does.Contain("END")));
        ExpectCode("SB1005", () => PublicKey.Parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "junk der")).With(e => Assert.That(e.Message, Does.Contain("DER")));

        // Truncated DER: drop the last base64 lines of a valid key but keep valid base64.
        var lines = pem.Split('\n').ToList();
        lines.RemoveRange(lines.Count - 3, 2);
        ExpectCode("SB1005", () => PublicKey.Parse(string.Join("\n", lines), "truncated der")).With(e => Assert.That(e.Message, Does.Contain("truncated")));

        ExpectCode("SB1005", () => SigningKey.Load(Write("garbage.pem", "this is not a key\n"))).With(e => Assert.That(e.Message, Does.Contain("garbage.pem")));
        ExpectCode("SB1005", () => SigningKey.Load(Write("empty", "")));
        File.WriteAllBytes(Path.Combine(_dir, "binary.der"), new byte[] { 0x30, 0x82, 0x01, 0x22, 0x00 });
        ExpectCode("SB1005", () => PublicKey.Load(Path.Combine(_dir, "binary.der"))).With(e => Assert.That(e.Message, Does.Contain("binary")));
        File.WriteAllBytes(Path.Combine(_dir, "latin1"), new byte[] { 0x41, 0xFF, 0xFE });
        ExpectCode("SB1005", () => PublicKey.Load(Path.Combine(_dir, "latin1")));
    }

    [Test]
    public void SB1005_TruncatedOrIncompleteJson()
    {
        string alice = File.ReadAllText(TestData.PrivateKey("alice"));
        var e = ExpectCode("SB1005", () => SigningKey.Load(Write("truncated.json", alice.Substring(0, alice.Length / 2))));
        Assert.That(e.Message, Does.Contain("truncated.json").And.Contain("not valid JSON").And.Contain("line 1"));
        Assert.That(e.Message, Does.Not.Contain("427975a765e5b9fd"), "private key material must never be in a message");

        ExpectCode("SB1005", () => SigningKey.Parse("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\"}", "no keyval")).With(x => Assert.That(x.Message, Does.Contain("keyval")));
        ExpectCode("SB1005", () => SigningKey.Parse("{\"keytype\": \"ed25519\", \"keyval\": {}}", "no scheme")).With(x => Assert.That(x.Message, Does.Contain("scheme")));
        ExpectCode("SB1005", () => SigningKey.Parse(alice.Replace("\"private\": \"4279", "\"private\": \"zz79"), "bad hex"));
        ExpectCode("SB1005", () => SigningKey.Parse(alice.Replace("\"private\": \"4279", "\"private\": \"4278"), "wrong private")).With(x => Assert.That(x.Message, Does.Contain("does not belong")));
        ExpectCode("SB1005", () => SigningKey.Parse(alice.Replace("\"keyid\": \"8fa9", "\"keyid\": \"0fa9"), "wrong keyid")).With(x => Assert.That(x.Message, Does.Contain("keyid")));
        ExpectCode("SB1005", () => SigningKey.Parse("[1, 2]", "array"));
        ExpectCode("SB1005", () => SigningKey.Parse("{\"keytype\": \"ed25519\", \"keytype\": \"rsa\"}", "duplicate"));
        ExpectCode("SB1005", () => PublicKey.Parse(File.ReadAllText(TestData.Keys("bob.pub")).Replace("MFkwEwYH", "MFkw!wYH"), "bad ecdsa pem"));

        string bob = File.ReadAllText(TestData.PrivateKey("bob"));
        var other = SigningKey.Generate(KeyType.Ecdsa);
        string otherPrivate = ((Core.Json.JsonString)((Core.Json.JsonMap)((Core.Json.JsonMap)Core.Json.JsonParser.Parse(other.ExportPrivate()))["keyval"])["private"]).Value;
        string bobPrivate = ((Core.Json.JsonString)((Core.Json.JsonMap)((Core.Json.JsonMap)Core.Json.JsonParser.Parse(bob))["keyval"])["private"]).Value;
        ExpectCode("SB1005", () => SigningKey.Parse(bob.Replace(bobPrivate.Replace("\n", "\\n"), otherPrivate.Replace("\n", "\\n")), "mismatched ecdsa")).With(x => Assert.That(x.Message, Does.Contain("does not belong")));
    }

    [Test]
    public void SB1006_EncryptedPem()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        string pkcs8Encrypted = rsa.ExportEncryptedPkcs8PrivateKeyPem("pw", new System.Security.Cryptography.PbeParameters(System.Security.Cryptography.PbeEncryptionAlgorithm.Aes256Cbc, System.Security.Cryptography.HashAlgorithmName.SHA256, 1000));
        Assert.That(pkcs8Encrypted, Does.Contain("BEGIN ENCRYPTED PRIVATE KEY"));
        var e = ExpectCode("SB1006", () => SigningKey.Load(Write("enc-pkcs8.pem", pkcs8Encrypted)));
        Assert.That(e.Message, Does.Contain("enc-pkcs8.pem").And.Contain("encrypted"));
        Assert.That(e.Fix, Does.Contain("securebuild keygen"));

        // Traditional OpenSSL encryption: Proc-Type: 4,ENCRYPTED (what `in-toto-keygen -p -t rsa` writes).
        var bcPair = DotNetToBouncy(rsa);
        var sw = new StringWriter();
        var writer = new PemWriter(sw);
        writer.WriteObject(new MiscPemGenerator(bcPair, "AES-256-CBC", "pw".ToCharArray(), new SecureRandom()));
        writer.Writer.Flush();
        string traditional = sw.ToString();
        Assert.That(traditional, Does.Contain("Proc-Type: 4,ENCRYPTED"));
        ExpectCode("SB1006", () => SigningKey.Load(Write("enc-rsa.pem", traditional)));
        ExpectCode("SB1006", () => PublicKey.Parse(traditional, "enc-rsa"));

        var ec = new ECKeyPairGenerator("EC");
        ec.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, new SecureRandom()));
        var ecPair = ec.GenerateKeyPair();
        sw = new StringWriter();
        writer = new PemWriter(sw);
        writer.WriteObject(new MiscPemGenerator(ecPair.Private, "AES-128-CBC", "pw".ToCharArray(), new SecureRandom()));
        writer.Writer.Flush();
        ExpectCode("SB1006", () => SigningKey.Parse(sw.ToString(), "enc-ec"));
    }

    [Test]
    public void SB1006_EncryptedSecureSystemsLibKey()
    {
        // Shape of `in-toto-keygen -p -t ed25519` output: salt@@@@iterations@@@@iv@@@@ciphertext@@@@hmac (hex).
        string encrypted = "63fe70be86b9578d8c3badbd4199d650@@@@100000@@@@ae8f506d44d1ee1d1d19e6b5ae28ad956967fb3e0b36387e80ddc5013f4bdc31@@@@acbdfeb7f7a5fdfc96bfa6b3aa4c6828@@@@fd2c2e6446a0d77d5b57b3981b8e9384";
        var e = ExpectCode("SB1006", () => SigningKey.Load(Write("enc-ed25519", encrypted)));
        Assert.That(e.Message, Does.Contain("enc-ed25519"));
    }

    /// <summary>
    /// BouncyCastle's modulus validation (a Miller-Rabin test that it is composite) costs tens of milliseconds, so a
    /// validated RSA key is kept for the process: the same key parsed again is the same parameters, not validated again.
    /// A modulus that fails validation is never kept: a prime one (2^2203 - 1, a Mersenne prime) is SB1005 every time.
    /// </summary>
    [Test]
    public void An_RSA_public_key_is_validated_once_and_a_prime_modulus_is_refused_every_time()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(3072);
        string pem = rsa.ExportSubjectPublicKeyInfoPem();
        var first = PublicKey.Parse(pem, "rsa");
        var second = PublicKey.Parse(pem, "rsa again");
        Assert.That(second.Parameters, Is.SameAs(first.Parameters));
        Assert.That(second.KeyId, Is.EqualTo(first.KeyId));

        var prime = Org.BouncyCastle.Math.BigInteger.One.ShiftLeft(2203).Subtract(Org.BouncyCastle.Math.BigInteger.One);
        var spki = new Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo(
            new Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier(Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.RsaEncryption, Org.BouncyCastle.Asn1.DerNull.Instance),
            new Org.BouncyCastle.Asn1.X509.RsaPublicKeyStructure(prime, Org.BouncyCastle.Math.BigInteger.ValueOf(65537)));
        string primePem = Pem.Encode("PUBLIC KEY", spki.GetDerEncoded(), trailingNewline: true);
        for (int i = 0; i < 2; i++)
        {
            var e = ExpectCode("SB1005", () => PublicKey.Parse(primePem, "prime"));
            Assert.That(e.InnerException?.Message, Does.Contain("not composite"));
        }
    }

    private static AsymmetricCipherKeyPair DotNetToBouncy(System.Security.Cryptography.RSA rsa)
    {
        var p = rsa.ExportParameters(true);
        Org.BouncyCastle.Math.BigInteger B(byte[]? b) => new(1, b!);
        var pub = new RsaKeyParameters(false, B(p.Modulus), B(p.Exponent));
        var priv = new RsaPrivateCrtKeyParameters(B(p.Modulus), B(p.Exponent), B(p.D), B(p.P), B(p.Q), B(p.DP), B(p.DQ), B(p.InverseQ));
        return new AsymmetricCipherKeyPair(pub, priv);
    }
}
