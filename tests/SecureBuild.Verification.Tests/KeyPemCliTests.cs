using SecureBuild.Core.Crypto;
using SecureBuild.TestSupport;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// `securebuild keygen --format pem` and `securebuild key export --pem`: PKCS#8 private and SPKI public PEM that openssl
/// and Node's crypto (what sigstore-js and cosign's Go parser read) accept, with the same key id as the JSON form, and
/// signatures each side verifies.
/// </summary>
[TestFixture]
public class KeyPemCliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestData.NewTempDir("keypem");

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private (int Code, string Stdout, string Stderr) Securebuild(params string[] args) => Cli.Run(_dir, args);

    private ProcessResult Tool(string file, params string[] args)
    {
        var result = Run.Process(file, args, _dir, timeout: TimeSpan.FromMinutes(1));
        Assert.That(result.ExitCode, Is.EqualTo(0), $"{file} {string.Join(" ", args)}: {result}");
        return result;
    }

    private string P(string name) => Path.Combine(_dir, name);

    [TestCase("ed25519")]
    [TestCase("ecdsa")]
    public void Keygen_pem_writes_PKCS8_and_SPKI_that_openssl_and_node_read_and_whose_signatures_verify_everywhere(string type)
    {
        var (code, stdout, stderr) = Securebuild("keygen", "-t", type, "--format", "pem", "-o", P("k"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(File.ReadAllText(P("k")), Does.StartWith("-----BEGIN PRIVATE KEY-----\n").And.EndWith("-----END PRIVATE KEY-----\n"));
        Assert.That(File.ReadAllText(P("k.pub")), Does.StartWith("-----BEGIN PUBLIC KEY-----\n").And.EndWith("-----END PUBLIC KEY-----\n"));
        Assert.That(Tool("openssl", "pkey", "-in", P("k"), "-pubout").Output, Is.EqualTo(File.ReadAllText(P("k.pub"))),
            "openssl derives the public key we wrote from the private key we wrote");

        // Our signature, verified by openssl and by Node's crypto (sigstore-js' verifier); and the other way round.
        var key = SigningKey.Load(P("k"));
        Assert.That(stdout, Does.Contain(key.KeyId));
        Assert.That(PublicKey.Load(P("k.pub")).KeyId, Is.EqualTo(key.KeyId));
        File.WriteAllText(P("data"), "payload signed by securebuild\n");
        File.WriteAllBytes(P("data.sig"), key.Sign(File.ReadAllBytes(P("data"))));
        if (type == "ed25519")
        {
            Tool("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", P("k.pub"), "-rawin", "-in", P("data"), "-sigfile", P("data.sig"));
        }
        else
        {
            Tool("openssl", "dgst", "-sha256", "-verify", P("k.pub"), "-signature", P("data.sig"), P("data"));
        }
        var algorithm = type == "ed25519" ? "null" : "'sha256'";
        var node = Tool("node", "-e", $$"""
            const crypto = require('crypto'), fs = require('fs');
            const priv = crypto.createPrivateKey(fs.readFileSync('{{P("k")}}'));
            const pub = crypto.createPublicKey(fs.readFileSync('{{P("k.pub")}}'));
            const data = fs.readFileSync('{{P("data")}}');
            if (!crypto.verify({{algorithm}}, data, pub, fs.readFileSync('{{P("data.sig")}}'))) { throw new Error('our signature does not verify'); }
            fs.writeFileSync('{{P("node.sig")}}', crypto.sign({{algorithm}}, data, priv));
            console.log(priv.asymmetricKeyType);
            """);
        Assert.That(node.Output.Trim(), Is.EqualTo(type == "ed25519" ? "ed25519" : "ec"));
        Assert.That(key.Public.Verify(File.ReadAllBytes(P("data")), File.ReadAllBytes(P("node.sig"))), Is.True, "Node's signature verifies with our key");
    }

    [TestCase("ed25519")]
    [TestCase("ecdsa")]
    public void Key_export_turns_an_in_toto_JSON_key_into_PEM_with_the_same_key_id(string type)
    {
        Assert.That(Securebuild("keygen", "-t", type, "-o", P("json")).Code, Is.EqualTo(0));
        var original = SigningKey.Load(P("json"));
        Assert.That(File.ReadAllText(P("json")), Does.StartWith("{"), "keygen's default is still in-toto's JSON");

        var (code, stdout, stderr) = Securebuild("key", "export", "--pem", P("json"), "-o", P("private.pem"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain(original.KeyId));
        var publicPem = Securebuild("key", "export", "--pem", "--public", P("json"));
        var fromPublicFile = Securebuild("key", "export", "--pem", P("json.pub"));
        Assert.That(publicPem.Code, Is.EqualTo(0), publicPem.Stderr);
        Assert.That(fromPublicFile.Stdout, Is.EqualTo(publicPem.Stdout), "the public half, from the private or the public file");
        File.WriteAllText(P("public.pem"), publicPem.Stdout);

        Assert.That(SigningKey.Load(P("private.pem")).KeyId, Is.EqualTo(original.KeyId));
        Assert.That(PublicKey.Load(P("public.pem")).KeyId, Is.EqualTo(original.KeyId));
        Assert.That(Tool("openssl", "pkey", "-in", P("private.pem"), "-pubout").Output, Is.EqualTo(publicPem.Stdout));
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(P("private.pem")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "an exported private key is its owner's only");
        }
    }

    [Test]
    public void Key_export_refuses_without_a_format_a_missing_key_an_existing_output_and_an_unwritable_one()
    {
        Assert.That(Securebuild("keygen", "-o", P("k")).Code, Is.EqualTo(0));
        File.WriteAllText(P("taken.pem"), "keep me");

        var noFormat = Securebuild("key", "export", P("k"));
        Assert.That(noFormat.Code, Is.EqualTo(2));
        Assert.That(noFormat.Stderr, Does.Contain("SB3500"));
        var missing = Securebuild("key", "export", "--pem", P("absent"));
        Assert.That(missing.Code, Is.EqualTo(1));
        Assert.That(missing.Stderr, Does.Contain("SB3501").And.Contain("SB1001"));
        var notAKey = Securebuild("key", "export", "--pem", P("taken.pem"));
        Assert.That(notAKey.Code, Is.EqualTo(1));
        Assert.That(notAKey.Stderr, Does.Contain("SB3501"));
        var taken = Securebuild("key", "export", "--pem", P("k"), "-o", P("taken.pem"));
        Assert.That(taken.Code, Is.EqualTo(1));
        Assert.That(taken.Stderr, Does.Contain("SB3502"));
        Assert.That(File.ReadAllText(P("taken.pem")), Is.EqualTo("keep me"));
        var unwritable = Securebuild("key", "export", "--pem", P("k"), "-o", Path.Combine(P("taken.pem"), "k.pem")); // under a file
        Assert.That(unwritable.Code, Is.EqualTo(1));
        Assert.That(unwritable.Stderr, Does.Contain("SB3503"));
        Assert.That(Securebuild("key", "export", "--pem", P("k"), "-o", P("taken.pem"), "--force").Code, Is.EqualTo(0));
        Assert.That(SigningKey.Load(P("taken.pem")).KeyId, Is.EqualTo(SigningKey.Load(P("k")).KeyId));
    }
}
