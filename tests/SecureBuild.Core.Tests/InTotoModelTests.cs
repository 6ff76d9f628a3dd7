using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using PublicKey = SecureBuild.Core.Crypto.PublicKey;

namespace SecureBuild.Core.Tests;

public class InTotoModelTests
{
    private static readonly string[] BaselineLinks = { "restore.8fa97c41.link", "build.8fa97c41.link", "build.c0d891af.link", "pack.c0d891af.link" };

    private static Metablock BaselineLayout() => Metablock.Load(Path.Combine(TestData.Case("pass-baseline"), "root.layout"));

    private static Metablock BaselineLink(string name) => Metablock.Load(Path.Combine(TestData.Case("pass-baseline"), "links", name));

    [Test]
    public void LayoutSignatureVerifiesWithOwnerPub()
    {
        var layout = BaselineLayout();
        var owner = PublicKey.Load(Path.Combine(TestData.Case("pass-baseline"), "owner.pub"));
        Assert.That(owner.KeyId, Is.EqualTo(TestData.ExpectedKeyId("owner")));
        Assert.That(layout.VerifySignature(owner), Is.True);
        Assert.That(layout.VerifySignature(PublicKey.Load(TestData.Keys("alice.pub"))), Is.False, "no signature by alice");

        ((JsonMap)layout.Signed)["readme"] = "tampered";
        Assert.That(layout.VerifySignature(owner), Is.False);
    }

    [TestCaseSource(nameof(BaselineLinks))]
    public void BaselineLinksVerifyWithFunctionaryKeysFromTheLayout(string linkName)
    {
        var layout = Layout.FromJson(BaselineLayout().Signed);
        var link = BaselineLink(linkName);
        Assert.That(link.Signatures, Has.Count.EqualTo(1));
        var key = layout.Keys[link.Signatures[0].KeyId];
        Assert.That(LinkFile.FileName(Link.FromJson(link.Signed).Name, key.KeyId), Is.EqualTo(linkName));
        Assert.That(link.VerifySignature(key), Is.True);

        // Any change of the signed content breaks it.
        var tampered = Metablock.Parse(link.ToFileBytes());
        Assert.That(tampered.VerifySignature(key), Is.True, "re-serialized file still verifies (signature is over canonical JSON)");
        var products = (JsonMap)tampered.Signed["products"];
        var first = products.First();
        ((JsonMap)first.Value)["sha256"] = new string('0', 64);
        Assert.That(tampered.VerifySignature(key), Is.False);

        var extra = Metablock.Parse(link.ToFileBytes());
        extra.Signed.Add("extra", 1);
        Assert.That(extra.VerifySignature(key), Is.False, "extra fields in signed break the signature");

        var badSig = Metablock.Parse(link.ToFileBytes());
        string sig = badSig.Signatures[0].Sig;
        badSig.Signatures[0] = new Signature(badSig.Signatures[0].KeyId, sig.Substring(0, sig.Length - 2) + (sig.EndsWith("00") ? "01" : "00"));
        Assert.That(badSig.VerifySignature(key), Is.False);

        var wrongKey = layout.Keys.Values.First(k => k.KeyId != key.KeyId);
        Assert.That(link.VerifySignature(wrongKey), Is.False);
    }

    [Test]
    public void ReferenceTamperedLinkFails()
    {
        var caseDir = TestData.Case("fail-link-tampered-product-hash");
        var layout = Layout.FromJson(Metablock.Load(Path.Combine(caseDir, "root.layout")).Signed);
        var pack = Metablock.Load(Path.Combine(caseDir, "links", "pack.c0d891af.link"));
        Assert.That(pack.VerifySignature(layout.Keys[pack.Signatures[0].KeyId]), Is.False);
        var restore = Metablock.Load(Path.Combine(caseDir, "links", "restore.8fa97c41.link"));
        Assert.That(restore.VerifySignature(layout.Keys[restore.Signatures[0].KeyId]), Is.True);
    }

    [Test]
    public void LinkToJsonEmitsAllSevenFieldsEvenWhenEmpty()
    {
        var json = new Link("step").ToJson();
        Assert.That(json.Keys, Is.EquivalentTo(new[] { "_type", "byproducts", "command", "environment", "materials", "name", "products" }));
        Assert.That(Encoding.UTF8.GetString(CanonicalJson.Serialize(json)),
            Is.EqualTo("{\"_type\":\"link\",\"byproducts\":{},\"command\":[],\"environment\":{},\"materials\":{},\"name\":\"step\",\"products\":{}}"));
    }

    [Test]
    public void LinkRoundTrip()
    {
        var link = new Link("build")
        {
            Command = new[] { "dotnet", "build" },
            Byproducts = new JsonMap { { "return-value", 0 }, { "stderr", "" }, { "stdout", "ok\n" } },
        };
        link.Materials["src/Grüße.txt"] = new Dictionary<string, string> { ["sha256"] = new string('a', 64) };
        link.Products["bin/x.dll"] = new Dictionary<string, string> { ["sha256"] = new string('b', 64), ["sha512"] = new string('c', 128) };
        var back = Link.FromJson((JsonMap)JsonParser.Parse(JsonText.WriteUtf8(link.ToJson())));
        Assert.That(back.Name, Is.EqualTo("build"));
        Assert.That(back.Command, Is.EqualTo(new[] { "dotnet", "build" }));
        Assert.That(back.Materials["src/Grüße.txt"]["sha256"], Is.EqualTo(new string('a', 64)));
        Assert.That(back.Products["bin/x.dll"]["sha512"], Is.EqualTo(new string('c', 128)));
        Assert.That(JsonItem.DeepEquals(back.ToJson(), link.ToJson()), Is.True);
    }

    [TestCase("_type", "\"layout\"", "\"_type\" is \"layout\"")]
    [TestCase("_type", null, "\"_type\" is missing")]
    [TestCase("environment", null, "\"environment\" is missing")]
    [TestCase("byproducts", null, "\"byproducts\" is missing")]
    [TestCase("extra", "1", "unexpected field \"extra\"")]
    [TestCase("name", "5", "link.name: expected a string")]
    [TestCase("command", "\"bash\"", "link.command: expected an array")]
    [TestCase("command", "[1]", "link.command[0]: expected a string")]
    [TestCase("materials", "[]", "link.materials: expected an object")]
    [TestCase("materials", "{\"a\": \"abc\"}", "expected a hash object")]
    [TestCase("products", "{\"a\": {\"sha256\": 5}}", "hex string")]
    [TestCase("products", "{\"a\": {\"sha256\": \"xyz\"}}", "hex string")]
    [TestCase("byproducts", "null", "link.byproducts: expected an object")]
    public void LinkFromJsonIsStrict(string field, string? json, string expectedMessage)
    {
        var signed = (JsonMap)BaselineLink("restore.8fa97c41.link").Signed.DeepClone();
        if (json is null)
        {
            signed.Remove(field);
        }
        else
        {
            signed[field] = JsonParser.Parse(json);
        }

        var e = Assert.Throws<InTotoFormatException>(() => Link.FromJson(signed))!;
        Assert.That(e.Message, Does.Contain(expectedMessage));
    }

    [Test]
    public void LayoutRoundTripAndHelpers()
    {
        var signed = BaselineLayout().Signed;
        var layout = Layout.FromJson(signed);
        Assert.That(layout.Expires, Is.EqualTo(new DateTimeOffset(2036, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.That(layout.Steps.Select(s => s.Name), Is.EqualTo(new[] { "restore", "build", "pack" }));
        Assert.That(layout.Steps[1].Threshold, Is.EqualTo(2));
        Assert.That(layout.Steps[1].PubKeys, Has.Count.EqualTo(2));
        Assert.That(layout.Inspect.Single().Run[0], Is.EqualTo("python3"));
        Assert.That(layout.Inspect.Single().ExpectedProducts[1], Is.EqualTo(new[] { "MATCH", "Hello.dll", "IN", "unpacked/lib/net8.0", "WITH", "PRODUCTS", "IN", "bin", "FROM", "build" }));
        Assert.That(layout.Keys.Keys, Is.EquivalentTo(new[] { TestData.ExpectedKeyId("alice"), TestData.ExpectedKeyId("bob") }));
        Assert.That(JsonItem.DeepEquals(layout.ToJson(), signed), Is.True);

        Assert.That(Layout.FormatExpires(new DateTimeOffset(2030, 2, 3, 4, 5, 6, 789, TimeSpan.FromHours(2))), Is.EqualTo("2030-02-03T02:05:06Z"));
        Assert.That(Layout.ParseExpires("2030-02-03T02:05:06Z"), Is.EqualTo(new DateTimeOffset(2030, 2, 3, 2, 5, 6, TimeSpan.Zero)));
    }

    [TestCase("2030-01-01T00:00:00.5Z")]
    [TestCase("2030-01-01T00:00:00+00:00")]
    [TestCase("2030-01-01 00:00:00Z")]
    [TestCase("2030-1-01T00:00:00Z")]
    [TestCase("2030-13-01T00:00:00Z")]
    [TestCase("2030-01-01T00:00:00z")]
    public void LayoutRejectsOtherExpiresFormats(string expires)
    {
        var signed = (JsonMap)BaselineLayout().Signed.DeepClone();
        signed["expires"] = expires;
        Assert.That(Assert.Throws<InTotoFormatException>(() => Layout.FromJson(signed))!.Message, Does.Contain("expires"));
    }

    [Test]
    public void LayoutFromJsonIsStrict()
    {
        JsonMap Mutate(Action<JsonMap> change)
        {
            var signed = (JsonMap)BaselineLayout().Signed.DeepClone();
            change(signed);
            return signed;
        }

        void Rejects(JsonMap signed, string expected) =>
            Assert.That(Assert.Throws<InTotoFormatException>(() => Layout.FromJson(signed))!.Message, Does.Contain(expected));

        Rejects(Mutate(s => s["_type"] = "link"), "\"_type\" is \"link\"");
        Rejects(Mutate(s => s.Remove("readme")), "\"readme\" is missing");
        Rejects(Mutate(s => s.Add("signatures", new JsonList())), "unexpected field \"signatures\"");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[0]).Remove("threshold")), "layout.steps[0]: required field \"threshold\"");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[0])["threshold"] = 0), "positive");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[0])["threshold"] = new JsonNumber("1.0")), "expected an integer");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[1])["name"] = "restore"), "used twice");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["inspect"])[0])["name"] = "pack"), "used twice");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["inspect"])[0])["_type"] = "step"), "\"_type\" is \"step\"");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[0])["expected_materials"] = new JsonList("ALLOW *")), "must be a list of strings");
        Rejects(Mutate(s => ((JsonMap)((JsonList)s["steps"])[0])["expected_materials"] = new JsonList(new JsonItem[] { new JsonList() })), "must not be empty");
        Rejects(Mutate(s =>
        {
            var keys = (JsonMap)s["keys"];
            var first = keys.First();
            keys.Remove(first.Key);
            keys.Add(new string('a', 64), first.Value);
        }), "map key must equal");
        Rejects(Mutate(s => ((JsonMap)((JsonMap)s["keys"]).First().Value)["keyid"] = new string('b', 64)), "does not match");
        Rejects(Mutate(s => ((JsonMap)((JsonMap)s["keys"]).First().Value).Remove("keyid")), "\"keyid\" is missing");
        Rejects(Mutate(s => ((JsonMap)((JsonMap)s["keys"]).First().Value).Remove("keyid_hash_algorithms")), "\"keyid_hash_algorithms\" is missing");
        Rejects(Mutate(s => ((JsonMap)((JsonMap)s["keys"]).First().Value)["keytype"] = "rsa"), "layout.keys");
    }

    [Test]
    public void MetablockSignReplacesSameKeyAndAppendsOthers()
    {
        var a = SigningKey.Generate(KeyType.Ed25519);
        var b = SigningKey.Generate(KeyType.Ecdsa);
        var block = new Metablock(new Link("x").ToJson());
        block.Sign(a);
        block.Sign(b);
        block.Signed["name"] = "y";
        block.Sign(a);
        Assert.That(block.Signatures.Select(s => s.KeyId), Is.EqualTo(new[] { a.KeyId, b.KeyId }));
        Assert.That(block.VerifySignature(a.Public), Is.True);
        Assert.That(block.VerifySignature(b.Public), Is.False, "b signed the old content");
        Assert.That(block.Signatures.All(s => s.Sig == s.Sig.ToLowerInvariant()), Is.True);

        // VerifySignature uses the first signature with the keyid (as in-toto does).
        block.Signatures.Insert(0, new Signature(a.KeyId, "00"));
        Assert.That(block.VerifySignature(a.Public), Is.False);
    }

    [Test]
    public void MetablockFileBytes()
    {
        var key = SigningKey.Generate(KeyType.Ed25519);
        var block = new Metablock(new Link("grüße") { Command = new[] { "echo", "\U0001F600" } }.ToJson());
        block.Sign(key);
        byte[] bytes = block.ToFileBytes();
        Assert.That(bytes.All(b => b < 0x80), Is.True, "ASCII only");
        Assert.That(Encoding.ASCII.GetString(bytes), Does.StartWith("{\n \"signatures\": [\n  {\n   \"keyid\": \"" + key.KeyId + "\",\n   \"sig\": \""));
        var back = Metablock.Parse(bytes);
        Assert.That(back.VerifySignature(key.Public), Is.True);
        Assert.That(Link.FromJson(back.Signed).Name, Is.EqualTo("grüße"));
    }

    [TestCase(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' }, "not valid JSON")]
    [TestCase(new byte[] { (byte)'[', (byte)']' }, "expected an object")]
    public void MetablockParseRejectsNonMetablocks(byte[] bytes, string expected)
    {
        var e = Assert.Throws<InTotoFormatException>(() => Metablock.Parse(bytes))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [TestCase("{\"signed\": {}}", "\"signatures\" is missing")]
    [TestCase("{\"signatures\": []}", "\"signed\" is missing")]
    [TestCase("{\"signatures\": [], \"signed\": {}, \"x\": 1}", "unexpected field \"x\"")]
    [TestCase("{\"signatures\": {}, \"signed\": {}}", "expected an array")]
    [TestCase("{\"signatures\": [], \"signed\": []}", "expected an object")]
    [TestCase("{\"signatures\": [1], \"signed\": {}}", "signatures[0]")]
    [TestCase("{\"signatures\": [{\"keyid\": \"ab\"}], \"signed\": {}}", "\"sig\" is missing")]
    [TestCase("{\"signatures\": [{\"keyid\": \"ab\", \"sig\": \"xyz\"}], \"signed\": {}}", "hex")]
    [TestCase("{\"signatures\": [{\"keyid\": \"ab\", \"sig\": \"00\", \"other_headers\": \"x\"}], \"signed\": {}}", "unexpected field")]
    [TestCase("{\"signatures\": [], \"signed\": {}", "not valid JSON")]
    [TestCase("{\"signatures\": [], \"signed\": {\"a\": 1, \"a\": 2}}", "duplicate object key")]
    public void MetablockParseIsStrict(string json, string expected)
    {
        var e = Assert.Throws<InTotoFormatException>(() => Metablock.Parse(Encoding.UTF8.GetBytes(json)))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void VerifyReturnsFalseForUncanonicalizableContent()
    {
        var key = SigningKey.Generate(KeyType.Ed25519);
        var block = new Metablock(new Link("x").ToJson());
        block.Sign(key);
        block.Signed["byproducts"] = new JsonMap { { "f", new JsonNumber("1.5") } };
        Assert.That(block.VerifySignature(key.Public), Is.False);
        Assert.Throws<JsonFormatException>(() => block.Sign(key));
    }

    [Test]
    public void LinkFileNames()
    {
        Assert.That(LinkFile.FileName("build", "8FA97C418e6c6b2a850ee77cd368c1fbd125ba1d73e7bed011a3dee187647cf9"), Is.EqualTo("build.8fa97c41.link"));
        Assert.Throws<ArgumentException>(() => LinkFile.FileName("", "8fa97c41"));
        Assert.Throws<ArgumentException>(() => LinkFile.FileName("a/b", "8fa97c41"));
        Assert.Throws<ArgumentException>(() => LinkFile.FileName("..", "8fa97c41"));
        Assert.Throws<ArgumentException>(() => LinkFile.FileName("build", "8fa9"));
        Assert.Throws<ArgumentException>(() => LinkFile.FileName("build", "zzzzzzzz"));
    }

    [Test]
    public void WriteSignedCreatesTheDirectoryAndWritesAVerifiableLink()
    {
        string dir = TestData.NewTempDir();
        try
        {
            var key = SigningKey.Generate(KeyType.Ecdsa);
            var link = new Link("compile") { Command = new[] { "csc" } };
            link.Products["a.dll"] = new Dictionary<string, string> { ["sha256"] = new string('1', 64) };
            string target = Path.Combine(dir, "nested", "links");
            string path = LinkFile.WriteSigned(link, key, target);
            Assert.That(path, Is.EqualTo(Path.Combine(target, $"compile.{key.KeyId.Substring(0, 8)}.link")));
            byte[] bytes = File.ReadAllBytes(path);
            Assert.That(bytes.Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }));
            var block = Metablock.Parse(bytes);
            Assert.That(block.VerifySignature(key.Public), Is.True);
            Assert.That(JsonItem.DeepEquals(block.Signed, link.ToJson()), Is.True);

            // Overwrite in place.
            link.Products["a.dll"] = new Dictionary<string, string> { ["sha256"] = new string('2', 64) };
            Assert.That(LinkFile.WriteSigned(link, key, target), Is.EqualTo(path));
            Assert.That(Link.FromJson(Metablock.Load(path).Signed).Products["a.dll"]["sha256"], Is.EqualTo(new string('2', 64)));
            Assert.That(Directory.GetFiles(target), Is.EqualTo(new[] { path }), "no temp files left behind");
        }
        finally
        {
            TestData.TryDelete(dir);
        }
    }

    [Test]
    public void AtomicWriteLeavesNoPartialFileOnFailure()
    {
        string dir = TestData.NewTempDir();
        try
        {
            // Target is a directory: the write must fail and leave nothing behind.
            string blocked = Path.Combine(dir, "step.12345678.link");
            Directory.CreateDirectory(blocked);
            Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(blocked, new byte[] { 1, 2, 3 }));
            Assert.That(Directory.GetFiles(dir), Is.Empty);

            // Serialization failure (lone surrogate) happens before anything is written; the old file stays intact.
            var key = SigningKey.Generate(KeyType.Ed25519);
            var link = new Link("step");
            string path = LinkFile.WriteSigned(link, key, dir);
            byte[] before = File.ReadAllBytes(path);
            link.Command = new[] { "bad\ud800" };
            Assert.Throws<JsonFormatException>(() => LinkFile.WriteSigned(link, key, dir));
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
            Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));

            // Replace path: existing content fully replaced, even with shorter content.
            string plain = Path.Combine(dir, "plain.bin");
            AtomicFile.WriteAllBytes(plain, new byte[1000]);
            AtomicFile.WriteAllBytes(plain, new byte[] { 42 });
            Assert.That(File.ReadAllBytes(plain), Is.EqualTo(new byte[] { 42 }));
        }
        finally
        {
            TestData.TryDelete(dir);
        }
    }

    [Test]
    public void ConcurrentAtomicWritersNeverExposeAPartialFile()
    {
        string dir = TestData.NewTempDir();
        try
        {
            string path = Path.Combine(dir, "shared.bin");
            var contents = Enumerable.Range(0, 4).Select(i => Enumerable.Repeat((byte)('a' + i), 200_000).ToArray()).ToArray();
            AtomicFile.WriteAllBytes(path, contents[0]);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var writers = Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            {
                while (!cts.IsCancellationRequested)
                {
                    AtomicFile.WriteAllBytes(path, contents[i]);
                }
            })).ToArray();
            int reads = 0;
            while (!cts.IsCancellationRequested)
            {
                byte[] seen;
                try
                {
                    seen = File.ReadAllBytes(path);
                }
                catch (IOException)
                {
                    continue;
                }

                reads++;
                Assert.That(seen.Length, Is.EqualTo(200_000));
                Assert.That(seen.All(b => b == seen[0]), Is.True);
            }

            Task.WaitAll(writers);
            Assert.That(reads, Is.GreaterThan(0));
            Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));
        }
        finally
        {
            TestData.TryDelete(dir);
        }
    }
}
