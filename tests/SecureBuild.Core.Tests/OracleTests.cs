using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using PublicKey = SecureBuild.Core.Crypto.PublicKey;

namespace SecureBuild.Core.Tests;

/// <summary>Round trips against Debian's reference in-toto 1.3.1 (installed on demand; a missing oracle fails).</summary>
[NonParallelizable]
public class OracleTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        InTotoOracle.EnsureInstalled();
        _dir = TestData.NewTempDir("sboracle");
    }

    [TearDown]
    public void TearDown()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Passed)
        {
            TestData.TryDelete(_dir);
        }
        else
        {
            TestContext.Out.WriteLine($"Scratch directory kept for inspection: {_dir}");
        }
    }

    [Test]
    public void ReferenceToolIsVersion131()
    {
        var result = InTotoOracle.RunTool("in-toto-verify", _dir, "--version");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.StdOut + result.StdErr, Does.Contain("1.3.1"));
    }

    /// <summary>(1) Our generated keys, written with ExportPrivate/ExportPublic, drive in-toto-run.</summary>
    [TestCase(KeyType.Ed25519, "ed25519")]
    [TestCase(KeyType.Ecdsa, "ecdsa")]
    [TestCase(KeyType.Rsa, "rsa")]
    public void InTotoRunAcceptsOurGeneratedKeys(KeyType type, string cliType)
    {
        var key = SigningKey.Generate(type);
        File.WriteAllText(Path.Combine(_dir, "ourkey"), key.ExportPrivate());
        File.WriteAllText(Path.Combine(_dir, "ourkey.pub"), key.ExportPublic());
        File.WriteAllText(Path.Combine(_dir, "somefile"), "hello in-toto\n");

        var run = InTotoOracle.RunTool("in-toto-run", _dir, "-k", "ourkey", "-t", cliType, "-n", "step", "-p", "somefile", "-x");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());

        string linkPath = Path.Combine(_dir, LinkFile.FileName("step", key.KeyId));
        Assert.That(File.Exists(linkPath), Is.True, $"in-toto-run should write {Path.GetFileName(linkPath)} (same keyid as ours)\n{run}\nfiles: {string.Join(", ", Directory.GetFiles(_dir).Select(Path.GetFileName))}");
        var block = Metablock.Load(linkPath);
        Assert.That(block.Signatures.Single().KeyId, Is.EqualTo(key.KeyId));
        Assert.That(block.VerifySignature(key.Public), Is.True);
        Assert.That(block.VerifySignature(PublicKey.Load(Path.Combine(_dir, "ourkey.pub"))), Is.True);

        var link = Link.FromJson(block.Signed);
        Assert.That(link.Name, Is.EqualTo("step"));
        Assert.That(link.Command, Is.Empty);
        Assert.That(link.Products["somefile"]["sha256"], Is.EqualTo(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("hello in-toto\n"))).ToLowerInvariant()));

        // And the reference verifies a signature our code made with the same key (in-toto-sign --verify).
        LinkFile.WriteSigned(link, key, Path.Combine(_dir, "ours"));
        var verify = InTotoOracle.RunTool("in-toto-sign", _dir, "-f", Path.Combine("ours", LinkFile.FileName("step", key.KeyId)), "-k", "ourkey.pub", "-t", cliType, "--verify");
        Assert.That(verify.ExitCode, Is.EqualTo(0), verify.ToString());
    }

    /// <summary>
    /// (2) Keys from in-toto-keygen load into SigningKey; links we sign with them and a layout we write and sign
    /// (our RSA owner key) pass in-toto-verify; a tampered product hash fails it.
    /// </summary>
    [Test]
    public void InTotoVerifyAcceptsOurLinksAndLayoutWithKeygenKeys()
    {
        var functionaries = new Dictionary<string, SigningKey>();
        foreach (string t in new[] { "ed25519", "ecdsa", "rsa" })
        {
            var gen = InTotoOracle.RunTool("in-toto-keygen", _dir, "-t", t, "func_" + t);
            Assert.That(gen.ExitCode, Is.EqualTo(0), gen.ToString());
            var signing = SigningKey.Load(Path.Combine(_dir, "func_" + t));
            var pub = PublicKey.Load(Path.Combine(_dir, "func_" + t + ".pub"));
            Assert.That(pub.KeyId, Is.EqualTo(signing.KeyId), t);
            functionaries[t] = signing;
        }

        // in-toto computes the same keyids (ed25519/ecdsa files carry theirs; ask Python for all three).
        string keyidScript = "import sys,json\nfrom securesystemslib import interface\n" +
            "for p,t in [('func_ed25519','ed25519'),('func_ecdsa','ecdsa'),('func_rsa','rsa')]:\n" +
            " k=interface.import_publickeys_from_file([p+'.pub'],[t]); print(t, list(k.keys())[0])\n";
        var ids = InTotoOracle.RunPython(keyidScript, _dir);
        Assert.That(ids.ExitCode, Is.EqualTo(0), ids.ToString());
        foreach (var kv in functionaries)
        {
            Assert.That(ids.StdOut, Does.Contain($"{kv.Key} {kv.Value.KeyId}"));
        }

        var owner = SigningKey.Generate(KeyType.Rsa);
        File.WriteAllText(Path.Combine(_dir, "owner.pub"), owner.ExportPublic());

        string outHash = new('1', 64);
        string pkgHash = new('2', 64);
        var layout = new Layout { Expires = DateTimeOffset.UtcNow.AddDays(30), Readme = "SecureBuild.Core oracle test \u00e9" };
        foreach (var key in functionaries.Values)
        {
            layout.AddKey(key.Public);
        }

        layout.Steps.Add(new Step("write")
        {
            PubKeys = { functionaries["ed25519"].KeyId, functionaries["ecdsa"].KeyId },
            Threshold = 2,
            ExpectedCommand = { "dotnet", "build" },
            ExpectedMaterials = { new[] { "DISALLOW", "*" } },
            ExpectedProducts = { new[] { "CREATE", "out/app.dll" }, new[] { "DISALLOW", "*" } },
        });
        layout.Steps.Add(new Step("package")
        {
            PubKeys = { functionaries["rsa"].KeyId },
            ExpectedCommand = { "dotnet", "pack" },
            ExpectedMaterials = { new[] { "MATCH", "out/app.dll", "WITH", "PRODUCTS", "FROM", "write" }, new[] { "DISALLOW", "*" } },
            ExpectedProducts = { new[] { "CREATE", "app.nupkg" }, new[] { "DISALLOW", "*" } },
        });
        var layoutBlock = new Metablock(layout.ToJson());
        layoutBlock.Sign(owner);
        File.WriteAllBytes(Path.Combine(_dir, "root.layout"), layoutBlock.ToFileBytes());

        string links = Path.Combine(_dir, "links");
        var write = new Link("write")
        {
            Command = new[] { "dotnet", "build" },
            Byproducts = new JsonMap { { "return-value", 0 }, { "stderr", "" }, { "stdout", "Build succeeded.\n  \u00fc \U0001F600\n" } },
        };
        write.Products["out/app.dll"] = new Dictionary<string, string> { ["sha256"] = outHash };
        LinkFile.WriteSigned(write, functionaries["ed25519"], links);
        LinkFile.WriteSigned(write, functionaries["ecdsa"], links);
        var package = new Link("package") { Command = new[] { "dotnet", "pack" } };
        package.Materials["out/app.dll"] = new Dictionary<string, string> { ["sha256"] = outHash };
        package.Products["app.nupkg"] = new Dictionary<string, string> { ["sha256"] = pkgHash };
        string packagePath = LinkFile.WriteSigned(package, functionaries["rsa"], links);

        string work = Path.Combine(_dir, "work");
        Directory.CreateDirectory(work);
        ProcessResult Verify() => InTotoOracle.RunTool("in-toto-verify", work, "--layout", "../root.layout", "--layout-keys", "../owner.pub", "--key-types", "rsa", "--link-dir", "../links", "-v");

        var ok = Verify();
        Assert.That(ok.ExitCode, Is.EqualTo(0), ok.ToString());

        // Tamper with one product hash after signing: the link is dropped, the threshold fails, exit 1.
        var tampered = Metablock.Load(packagePath);
        ((JsonMap)((JsonMap)tampered.Signed["products"])["app.nupkg"])["sha256"] = new string('3', 64);
        File.WriteAllBytes(packagePath, tampered.ToFileBytes());
        var bad = Verify();
        Assert.That(bad.ExitCode, Is.EqualTo(1), bad.ToString());
        Assert.That(bad.StdErr, Does.Contain("ThresholdVerificationError").And.Contain("package"));

        // A validly signed link whose material does not match the write step's product: the MATCH rule does not
        // consume it and DISALLOW * fails.
        var mismatched = new Link("package") { Command = package.Command };
        mismatched.Materials["out/app.dll"] = new Dictionary<string, string> { ["sha256"] = new string('4', 64) };
        mismatched.Products["app.nupkg"] = package.Products["app.nupkg"];
        LinkFile.WriteSigned(mismatched, functionaries["rsa"], links);
        var ruleFail = Verify();
        Assert.That(ruleFail.ExitCode, Is.EqualTo(1), ruleFail.ToString());
        Assert.That(ruleFail.StdErr, Does.Contain("RuleVerificationError").And.Contain("out/app.dll"));

        // A layout whose signed content was modified after our signature fails too.
        LinkFile.WriteSigned(package, functionaries["rsa"], links);
        Assert.That(Verify().ExitCode, Is.EqualTo(0));
        var layoutTampered = Metablock.Load(Path.Combine(_dir, "root.layout"));
        layoutTampered.Signed["readme"] = "changed";
        File.WriteAllBytes(Path.Combine(_dir, "root.layout"), layoutTampered.ToFileBytes());
        var layoutFail = Verify();
        Assert.That(layoutFail.ExitCode, Is.EqualTo(1), layoutFail.ToString());
        Assert.That(layoutFail.StdErr, Does.Contain("SignatureVerificationError"));
    }

    /// <summary>(3) Re-sign the whole baseline chain with alice's and bob's test keys; in-toto-verify accepts it.</summary>
    [Test]
    public void ResignedBaselineChainVerifies()
    {
        string caseDir = Path.Combine(_dir, "pass-baseline");
        TestData.CopyDirectory(TestData.Case("pass-baseline"), caseDir);
        var keys = new[] { SigningKey.Load(TestData.PrivateKey("alice")), SigningKey.Load(TestData.PrivateKey("bob")) }.ToDictionary(k => k.KeyId);

        string links = Path.Combine(caseDir, "links");
        foreach (string file in Directory.GetFiles(links, "*.link"))
        {
            var original = Metablock.Load(file);
            var key = keys[original.Signatures.Single().KeyId];
            File.Delete(file);
            string written = LinkFile.WriteSigned(Link.FromJson(original.Signed), key, links);
            Assert.That(written, Is.EqualTo(file), "same file name");
            var ours = Metablock.Load(written);
            Assert.That(CanonicalJson.Serialize(ours.Signed), Is.EqualTo(CanonicalJson.Serialize(original.Signed)), "same signed content");
            if (key.Type == KeyType.Ed25519)
            {
                Assert.That(ours.Signatures.Single().Sig, Is.EqualTo(original.Signatures.Single().Sig), "ed25519 is deterministic");
            }
            else
            {
                Assert.That(ours.Signatures.Single().Sig, Is.Not.EqualTo(original.Signatures.Single().Sig), "ECDSA: our RFC 6979 nonce differs from pyca's random one");
            }
        }

        var command = CaseCommand("pass-baseline");
        var result = InTotoOracle.RunTool(command[0], Path.Combine(caseDir, "final"), command.Skip(1).ToArray());
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());

        // Sanity: the oracle really checks our ECDSA signature. Break bob's pack link signature -> exit 1.
        string pack = Path.Combine(links, "pack.c0d891af.link");
        var block = Metablock.Load(pack);
        block.Signatures[0] = new Signature(block.Signatures[0].KeyId, SigningKey.Generate(KeyType.Ecdsa).Sign(block.SignedBytes()).Aggregate("", (s, b) => s + b.ToString("x2")));
        File.WriteAllBytes(pack, block.ToFileBytes());
        TestData.TryDelete(Path.Combine(caseDir, "final", "unpacked"));
        var bad = InTotoOracle.RunTool(command[0], Path.Combine(caseDir, "final"), command.Skip(1).ToArray());
        Assert.That(bad.ExitCode, Is.EqualTo(1), bad.ToString());
        Assert.That(bad.StdErr, Does.Contain("ThresholdVerificationError"));
    }

    /// <summary>CanonicalJson equals securesystemslib encode_canonical on random documents.</summary>
    [Test]
    public void CanonicalJsonMatchesSecureSystemsLibOnRandomDocuments()
    {
        var random = new Random(99);
        var docs = Enumerable.Range(0, 300).Select(_ => JsonFuzz.RandomTree(random)).ToList();
        docs.Add(new JsonMap { { "\U0001F600", 1 }, { "\uFFFD", 2 }, { "é", 3 }, { "a", 4 }, { "B", 5 } });
        docs.Add(Metablock.Parse(TestData.Bytes("cases", "pass-baseline", "root.layout")).Signed);
        string input = string.Join("\n", docs.Select(d => JsonText.Write(d, indented: false)));
        const string script =
            "import sys, json\n" +
            "from securesystemslib.formats import encode_canonical\n" +
            "for line in sys.stdin.read().split('\\n'):\n" +
            "    print(encode_canonical(json.loads(line)).encode('utf-8').hex())\n";
        var result = InTotoOracle.RunPython(script, _dir, input);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(docs.Count));
        for (int i = 0; i < docs.Count; i++)
        {
            string ours = Convert.ToHexString(CanonicalJson.Serialize(docs[i])).ToLowerInvariant();
            Assert.That(ours, Is.EqualTo(lines[i]), JsonText.Write(docs[i], indented: false));
        }
    }

    /// <summary>
    /// JsonText writes what Python's json module writes (keys sorted by code point, everything outside printable ASCII
    /// escaped): indented as json.dumps(indent=1, sort_keys=True), compact with separators=(",", ":"). The random
    /// documents hold quotes, backslashes, control characters, non-ASCII and astral characters in keys and values.
    /// </summary>
    [Test]
    public void JsonTextMatchesPythonJsonDumpsOnRandomDocuments([Values(false, true)] bool indented)
    {
        var random = new Random(7);
        var docs = Enumerable.Range(0, 300).Select(_ => JsonFuzz.RandomTree(random)).ToList();
        docs.Add(new JsonMap { { "\U0001F600", "a\"b\\c\u0001\u007f\u00e9\U0001F600\b\f\n\r\t" }, { "\uFFFD", new JsonList() }, { "", new JsonMap() } });
        string input = string.Join("\n", docs.Select(d => JsonText.Write(d, indented: false)));
        string dumps = indented ? "json.dumps(json.loads(line), indent=1, sort_keys=True)" : "json.dumps(json.loads(line), sort_keys=True, separators=(',', ':'))";
        string script =
            "import sys, json\n" +
            "for line in sys.stdin.read().split('\\n'):\n" +
            $"    print({dumps}.encode('ascii').hex())\n";
        var result = InTotoOracle.RunPython(script, _dir, input);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(docs.Count));
        for (int i = 0; i < docs.Count; i++)
        {
            string ours = Convert.ToHexString(Encoding.ASCII.GetBytes(JsonText.Write(docs[i], indented))).ToLowerInvariant();
            Assert.That(ours, Is.EqualTo(lines[i]), JsonText.Write(docs[i], indented: false));
        }
    }

    private static string[] CaseCommand(string id)
    {
        var manifest = (JsonMap)JsonParser.Parse(TestData.Bytes("cases.json"));
        var entry = ((JsonList)manifest["cases"]).Cast<JsonMap>().Single(c => ((JsonString)c["id"]).Value == id);
        Assert.That(((JsonString)entry["cwd"]).Value, Is.EqualTo("final"));
        return ((JsonList)entry["command"]).Select(n => ((JsonString)n).Value).ToArray();
    }
}
