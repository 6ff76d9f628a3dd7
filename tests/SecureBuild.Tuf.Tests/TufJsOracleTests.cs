using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Tuf;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// tuf-js as the oracle: it updates from repositories `securebuild trust init/add/rotate/publish` made, and both
/// clients give the same verdict on the same (attacked) repositories. Evaluated at the real clock, as tuf-js is.
/// </summary>
[NonParallelizable]
public class TufJsOracleTests
{
    [Test]
    public void Tuf_js_updates_from_a_repository_made_by_trust_init_add_publish_and_follows_its_rotations()
    {
        string dir = ScratchDirectory.Create("securebuild-trust-oracle");
        try
        {
            string Key(string name, string type)
            {
                var key = SigningKey.Generate(type == "ecdsa" ? KeyType.Ecdsa : KeyType.Ed25519);
                File.WriteAllText(Path.Combine(dir, name), key.ExportPrivate());
                File.WriteAllText(Path.Combine(dir, name + ".pub"), key.ExportPublic());
                return Path.Combine(dir, name);
            }

            string root1 = Key("root1", "ecdsa"), root2 = Key("root2", "ed25519"), root3 = Key("root3", "ecdsa");
            string targets = Key("targets", "ed25519"), targets2 = Key("targets2", "ecdsa");
            string snapshot = Key("snapshot", "ecdsa"), timestamp = Key("timestamp", "ed25519");
            string repo = Path.Combine(dir, "repo");
            string layout = Path.Combine(dir, "layout.json");
            File.WriteAllText(layout, "{\"_type\":\"layout\"}\n");
            Expect(0, "trust", "init", "--repo", repo, "--root-key", root1, "--root-key", root2 + ".pub", "--root-threshold", "2",
                "--targets-key", targets, "--snapshot-key", snapshot + ".pub", "--timestamp-key", timestamp + ".pub");
            Expect(0, "trust", "add", "--repo", repo, layout, "--name", "policies/app.layout.json", "--key", targets);
            Expect(1, "trust", "publish", "--repo", repo, "--snapshot-key", snapshot, "--timestamp-key", timestamp);
            Expect(0, "trust", "sign", "--repo", repo, "--role", "root", "--key", root2);
            Expect(0, "trust", "publish", "--repo", repo, "--snapshot-key", snapshot, "--timestamp-key", timestamp);

            using var server = new StaticHttpServer(repo);
            string js = Path.Combine(dir, "tuf-js");
            string ours = Path.Combine(dir, "ours");
            Directory.CreateDirectory(js);
            File.Copy(Path.Combine(repo, "metadata", "1.root.json"), Path.Combine(js, "root.json"));
            var result = TufJs.Refresh(js, server.Url + "/metadata", server.Url + "/targets", "policies/app.layout.json", Path.Combine(dir, "js-targets"));
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Expect(0, "trust", "get", "--trust-repo", server.Url + "/metadata", "--root", Path.Combine(repo, "metadata", "1.root.json"), "--cache-dir", ours,
                "--target", "policies/app.layout.json", "-o", Path.Combine(dir, "got.json"));
            Assert.That(File.ReadAllText(Path.Combine(dir, "got.json")), Is.EqualTo(File.ReadAllText(layout)));

            // Rotate: root1 leaves the root role for root3; the targets functionary key is revoked for targets2.
            string root1Id = TufKey.KeyIdOf(PublicKey.Load(root1 + ".pub"));
            Expect(0, "trust", "rotate", "--repo", repo, "--role", "root", "--remove-key", root1Id, "--add-key", root3, "--key", root1, "--key", root2);
            string targetsId = TufKey.KeyIdOf(PublicKey.Load(targets + ".pub"));
            Expect(0, "trust", "rotate", "--repo", repo, "--role", "targets", "--remove-key", targetsId.Substring(0, 12), "--add-key", targets2, "--key", root1, "--key", root2, "--key", root3);
            File.WriteAllText(layout, "{\"_type\":\"layout\",\"v\":2}\n");
            Expect(2, "trust", "add", "--repo", repo, layout, "--name", "policies/app.layout.json", "--key", targets);
            Expect(0, "trust", "add", "--repo", repo, layout, "--name", "policies/app.layout.json", "--key", targets2);
            Expect(0, "trust", "publish", "--repo", repo, "--snapshot-key", snapshot, "--timestamp-key", timestamp);
            Assert.That(File.Exists(Path.Combine(repo, "metadata", "2.root.json")), Is.True);

            result = TufJs.Refresh(js, server.Url + "/metadata", server.Url + "/targets", "policies/app.layout.json", Path.Combine(dir, "js-targets-2"));
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(File.ReadAllText(Directory.GetFiles(Path.Combine(dir, "js-targets-2")).Single()), Is.EqualTo(File.ReadAllText(layout)));
            Expect(0, "trust", "get", "--trust-repo", server.Url + "/metadata", "--cache-dir", ours, "--target", "policies/app.layout.json", "-o", Path.Combine(dir, "got2.json"));
            Assert.That(File.ReadAllText(Path.Combine(dir, "got2.json")), Is.EqualTo(File.ReadAllText(layout)));
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    public sealed record OracleCase(string Name, Action<TestRepository>? Before, Action<TestRepository> Attack, bool Accepted, string? Code, string? Target = null)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<OracleCase> Cases()
    {
        var past = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        yield return new("valid repository", null, r => r.PublishInitial(), true, null);
        yield return new("timestamp signed by a key outside the role", null, r =>
        {
            r.PublishInitial();
            var snapshot = File.ReadAllBytes(Path.Combine(r.MetadataDir, "1.snapshot.json"));
            r.WriteTimestamp(1, 1, snapshot, signers: new[] { SigningKey.Generate(KeyType.Ed25519) });
        }, false, TufException.ThresholdNotMet);
        yield return new("expired timestamp", null, r =>
        {
            r.PublishInitial();
            r.WriteTimestamp(1, 1, File.ReadAllBytes(Path.Combine(r.MetadataDir, "1.snapshot.json")), expires: past);
        }, false, TufException.Expired);
        yield return new("expired root", null, r =>
        {
            r.PublishInitial();
            r.WriteRoot(r.RootSigned(2, past), r.Keys["root"]);
        }, false, TufException.Expired);
        yield return new("snapshot version other than the timestamp lists", null, r =>
        {
            r.PublishInitial();
            File.Copy(Path.Combine(r.MetadataDir, "1.snapshot.json"), Path.Combine(r.MetadataDir, "2.snapshot.json"));
            r.WriteTimestamp(2, 2);
        }, false, TufException.MixAndMatch);
        yield return new("root 2 holding version 3", null, r =>
        {
            r.PublishInitial();
            r.WriteRoot(r.RootSigned(3), r.Keys["root"], "2.root.json");
        }, false, TufException.RootVersionNotConsecutive);
        yield return new("root 2 signed by the new keys only", null, r =>
        {
            r.PublishInitial();
            r.Keys["root"] = new() { SigningKey.Generate(KeyType.Ecdsa) };
            r.WriteRoot(r.RootSigned(2), r.Keys["root"]);
        }, false, TufException.ThresholdNotMet);
        yield return new("root 2 signed by both old and new keys", null, r =>
        {
            r.PublishInitial();
            var old = r.Keys["root"];
            r.Keys["root"] = new() { SigningKey.Generate(KeyType.Ecdsa) };
            r.WriteRoot(r.RootSigned(2), old.Concat(r.Keys["root"]));
        }, true, null);
        yield return new("one key signing twice for a threshold of 2", null, r =>
        {
            r.Thresholds["targets"] = 2;
            r.Keys["targets"].Add(SigningKey.Generate(KeyType.Ed25519));
            r.PublishInitial();
            var envelope = TufMetadataWriter.Envelope(r.TargetsSigned(1), Array.Empty<JsonMap>(), r.Keys["targets"].Take(1));
            ((JsonList)envelope["signatures"]).Add(((JsonList)envelope["signatures"])[0].DeepClone());
            File.WriteAllBytes(Path.Combine(r.MetadataDir, "1.targets.json"), TufMetadataWriter.Write(envelope));
        }, false, TufException.ThresholdNotMet);
        yield return new("rolled back timestamp", r => r.PublishInitial(), r =>
        {
            byte[] old = File.ReadAllBytes(Path.Combine(r.MetadataDir, "timestamp.json"));
            r.WriteTimestamp(2, 1);
            r.Refresh_BothClients_Before();
            File.WriteAllBytes(Path.Combine(r.MetadataDir, "timestamp.json"), old);
        }, false, TufException.Rollback);
        yield return new("tampered target", null, r =>
        {
            var entry = r.AddTargetFile("t.txt", Encoding.UTF8.GetBytes("good content"));
            r.PublishInitial(new JsonMap { { "t.txt", entry } });
            File.WriteAllText(Directory.GetFiles(r.TargetsDir, "*.t.txt").Single(), "evil content");
        }, false, TufException.TargetMismatch, "t.txt");
        yield return new("target served intact", null, r =>
        {
            var entry = r.AddTargetFile("dir/t.txt", Encoding.UTF8.GetBytes("good content"));
            r.PublishInitial(new JsonMap { { "dir/t.txt", entry } });
        }, true, null, "dir/t.txt");
    }

    [TestCaseSource(nameof(Cases))]
    public void Tuf_js_and_our_client_give_the_same_verdict(OracleCase c)
    {
        using var repo = new TestRepository();
        c.Before?.Invoke(repo);
        c.Attack(repo);
        string jsDir = Path.Combine(repo.Directory, "js-client");
        if (!Directory.Exists(jsDir))
        {
            Directory.CreateDirectory(jsDir);
            File.Copy(Path.Combine(repo.MetadataDir, "1.root.json"), Path.Combine(jsDir, "root.json"));
        }

        var js = TufJs.Refresh(jsDir, repo.Server.Url + "/metadata", repo.Server.Url + "/targets", c.Target, Path.Combine(repo.Directory, "js-targets"));
        string? ours;
        try
        {
            var client = repo.Client(DateTimeOffset.UtcNow);
            client.Refresh();
            if (c.Target is not null)
            {
                client.DownloadTarget(client.FindTarget(c.Target) ?? throw new TufException(TufException.TargetNotFound, "not found", ""));
            }

            ours = null;
        }
        catch (TufException e)
        {
            ours = e.Code + " " + e.Message;
        }

        Assert.That(js.ExitCode == 0, Is.EqualTo(c.Accepted), "tuf-js: " + js);
        Assert.That(ours is null, Is.EqualTo(c.Accepted), "ours: " + ours);
        if (!c.Accepted)
        {
            Assert.That(ours, Does.StartWith(c.Code!), "tuf-js said: " + js.Output);
        }
    }

    private static void Expect(int code, params string[] args)
    {
        var (actual, output) = SigstoreTufTests.Cli(args);
        Assert.That(actual, Is.EqualTo(code), $"securebuild {string.Join(" ", args)}\n{output}");
    }
}

/// <summary>Two-step oracle cases: both clients first accept the repository as it was.</summary>
internal static class TestRepositoryOracleSteps
{
    public static void Refresh_BothClients_Before(this TestRepository repo)
    {
        string jsDir = Path.Combine(repo.Directory, "js-client");
        Directory.CreateDirectory(jsDir);
        if (!File.Exists(Path.Combine(jsDir, "root.json")))
        {
            File.Copy(Path.Combine(repo.MetadataDir, "1.root.json"), Path.Combine(jsDir, "root.json"));
        }

        var js = TufJs.Refresh(jsDir, repo.Server.Url + "/metadata");
        Assert.That(js.ExitCode, Is.EqualTo(0), "tuf-js before the attack: " + js);
        repo.Client(DateTimeOffset.UtcNow).Refresh();
    }
}
