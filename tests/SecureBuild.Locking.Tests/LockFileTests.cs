using System.Text;
using SecureBuild.Core.Locking;
using SecureBuild.TestSupport;

namespace SecureBuild.Locking.Tests;

public sealed class LockFileTests
{
    internal static RepositoryLock Sample(bool reversed = false)
    {
        var l = new RepositoryLock { SdkVersion = "10.0.401", GlobalJson = new GlobalJsonPin { SdkVersion = "10.0.401", RollForward = "latestPatch" } };
        l.GlobalJson.MSBuildSdks["SecureBuild.Sdk"] = "0.1.0";
        var ids = new[] { "newtonsoft.json", "aaa.first", "zzz.last" };
        if (reversed)
        {
            Array.Reverse(ids);
        }
        var framework = new LockedFramework { References = RepositoryLock.Sorted<string>(), Packages = RepositoryLock.Sorted<string>(), Downloads = RepositoryLock.Sorted<string>(), Packs = RepositoryLock.Sorted<string>() };
        foreach (var id in ids)
        {
            framework.Packages[id] = "1.0.0";
            var p = new LockedPackage { ContentHash = Convert.ToBase64String(new byte[64]), Signature = new LockedSignature { Signed = true, Repository = "AB" } };
            p.Signature.Owners.Add("owner-" + id);
            l.Packages[RepositoryLock.PackageKey(id, "1.0.0")] = p;
        }
        framework.References["newtonsoft.json"] = "1.0.0";
        framework.Packs["microsoft.netcore.app.ref"] = "10.0.12";
        var project = new LockedProject();
        project.Frameworks["net10.0"] = framework;
        project.Files["https://example.test/tool.zip"] = new string('a', 64);
        l.Projects["App/App.csproj"] = project;
        l.Packs["microsoft.netcore.app.ref/10.0.12"] = new LockedPack { Sha256 = new string('b', 64), Files = 3 };
        l.Signers["AB"] = new LockedSigner { Kind = "repository", Subject = "CN=Repo" };
        l.Sources.Add("https://api.nuget.org/v3/index.json");
        var tool = new LockedTool { Version = "1.0.0" };
        tool.Commands.Add("example");
        l.Tools["dotnet-example"] = tool;
        l.MSBuildSdks["securebuild.sdk/0.1.0"] = new LockedPackage { ContentHash = Convert.ToBase64String(new byte[64]) };
        return l;
    }

    [Test]
    public void Same_inputs_give_the_same_bytes_whatever_the_insertion_order()
    {
        Assert.That(LockFile.Serialize(Sample()), Is.EqualTo(LockFile.Serialize(Sample(reversed: true))));
    }

    [Test]
    public void The_file_is_ascii_with_LF_and_a_final_newline_and_round_trips()
    {
        var bytes = LockFile.Serialize(Sample());
        var text = Encoding.ASCII.GetString(bytes);
        Assert.That(bytes.All(b => b < 0x80), Is.True);
        Assert.That(text, Does.Not.Contain("\r"));
        Assert.That(text, Does.EndWith("}\n"));
        var parsed = LockFile.Parse(bytes, "lock");
        Assert.That(LockFile.Serialize(parsed), Is.EqualTo(bytes));
        Assert.That(parsed.Projects["App/App.csproj"].Frameworks["net10.0"].Packages!["aaa.first"], Is.EqualTo("1.0.0"));
    }

    [Test]
    public void A_hand_edit_is_detected_by_the_digest()
    {
        var text = Encoding.ASCII.GetString(LockFile.Serialize(Sample())).Replace("\"10.0.12\"", "\"10.0.13\"");
        var e = Assert.Throws<LockFormatException>(() => LockFile.Parse(Encoding.ASCII.GetBytes(text), "securebuild.lock.json"))!;
        Assert.That(e.Problem, Is.EqualTo(LockFormatProblem.DigestMismatch));
        Assert.That(e.Message, Does.Contain("securebuild.lock.json").And.Contain("by hand"));
    }

    [TestCase("")]
    [TestCase("{")]
    [TestCase("[]")]
    [TestCase("{\"version\": 1}")]
    [TestCase("{\"version\": \"1\", \"digest\": \"x\"}")]
    public void Garbage_is_malformed(string text)
    {
        var e = Assert.Throws<LockFormatException>(() => LockFile.Parse(Encoding.UTF8.GetBytes(text), "lock"))!;
        Assert.That(e.Problem, Is.EqualTo(LockFormatProblem.Malformed));
    }

    [Test]
    public void A_newer_schema_version_is_named()
    {
        var e = Assert.Throws<LockFormatException>(() => LockFile.Parse(Encoding.UTF8.GetBytes("{\"version\": 2, \"digest\": \"x\"}"), "lock"))!;
        Assert.That(e.Problem, Is.EqualTo(LockFormatProblem.UnsupportedVersion));
        Assert.That(e.Message, Does.Contain("version 2"));
    }

    [Test]
    public void Unknown_members_with_a_valid_digest_are_rejected()
    {
        var json = LockFile.ToJson(Sample());
        json["extra"] = "x";
        var lockBytes = Resign(json);
        var e = Assert.Throws<LockFormatException>(() => LockFile.Parse(lockBytes, "lock"))!;
        Assert.That(e.Problem, Is.EqualTo(LockFormatProblem.Malformed));
    }

    [Test]
    public void Machine_paths_are_refused_when_writing_and_reading()
    {
        var l = Sample();
        l.Sources.Add("/home/me/feed");
        Assert.Throws<InvalidOperationException>(() => LockFile.Serialize(l));
        var json = LockFile.ToJson(Sample());
        ((Core.Json.JsonList)json["sources"]).Add("C:\\feeds\\local");
        Assert.That(Assert.Throws<LockFormatException>(() => LockFile.Parse(Resign(json), "lock"))!.Message, Does.Contain("machine paths"));
    }

    [Test]
    public void A_content_hash_starting_with_a_slash_is_not_mistaken_for_a_path()
    {
        var l = Sample();
        var hash = "/" + Convert.ToBase64String(new byte[64]).Substring(1);
        l.Packages["newtonsoft.json/1.0.0"].ContentHash = hash;
        Assert.That(LockFile.Parse(LockFile.Serialize(l), "lock").Packages["newtonsoft.json/1.0.0"].ContentHash, Is.EqualTo(hash));
    }

    [Test]
    public void Random_corruption_never_parses_into_a_different_lock()
    {
        var good = LockFile.Serialize(Sample());
        var random = new Random(5);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = (byte[])good.Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            try
            {
                var parsed = LockFile.Parse(bytes, "lock");
                Assert.That(LockFile.Serialize(parsed), Is.EqualTo(good), "a mutation that parses must mean the same lock (whitespace only)");
            }
            catch (LockFormatException)
            {
            }
        }
    }

    [Test]
    public void Update_creates_merges_and_leaves_an_unparsable_lock_alone()
    {
        var dir = ScratchDirectory.Create("sb-lock");
        try
        {
            var path = Path.Combine(dir, RepositoryLock.DefaultFileName);
            LockFile.Update(path, l => LockComparer.Merge(l, new LockObservation { SdkVersion = "10.0.401" }));
            Assert.That(LockFile.Load(path).SdkVersion, Is.EqualTo("10.0.401"));
            File.WriteAllText(path, "garbage");
            Assert.Throws<LockFormatException>(() => LockFile.Update(path, l => l.SdkVersion = "x"));
            Assert.That(File.ReadAllText(path), Is.EqualTo("garbage"));
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    internal static byte[] Resign(Core.Json.JsonMap content)
    {
        var canonical = Core.Json.CanonicalJson.Serialize(content);
        content["digest"] = "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(canonical)).ToLowerInvariant();
        return Core.Json.JsonText.WriteUtf8(content);
    }
}
