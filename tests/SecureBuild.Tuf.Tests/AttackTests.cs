using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// The attacks the TUF specification names (section 1.5.2), each against a repository served over HTTP on 127.0.0.1,
/// each refused with its own code; and the behaviour that must keep working around them.
/// </summary>
public class AttackTests
{
    private TestRepository _repo = null!;

    [SetUp]
    public void SetUp() => _repo = new TestRepository();

    [TearDown]
    public void TearDown() => _repo.Dispose();

    private Dictionary<string, long> Meta(long targets) => new() { ["targets.json"] = targets };

    [Test]
    public void A_valid_repository_updates_and_its_target_downloads_with_length_and_hash_checked()
    {
        var targets = new JsonMap { { "policies/layout.json", _repo.AddTargetFile("policies/layout.json", Encoding.UTF8.GetBytes("{\"layout\":1}")) } };
        _repo.PublishInitial(targets);
        var client = _repo.Client();
        client.Refresh();
        var info = client.FindTarget("policies/layout.json");
        Assert.That(info, Is.Not.Null);
        Assert.That(Encoding.UTF8.GetString(client.DownloadTarget(info!)), Is.EqualTo("{\"layout\":1}"));
        Assert.That(client.FindTarget("policies/other.json"), Is.Null);
        Assert.That(File.Exists(Path.Combine(_repo.ClientDir, "timestamp.json")) && File.Exists(Path.Combine(_repo.ClientDir, "targets.json")), Is.True, "verified metadata is kept for the next update");
    }

    [Test]
    public void Rollback_of_the_timestamp_is_refused()
    {
        _repo.PublishInitial();
        byte[] oldTimestamp = File.ReadAllBytes(Path.Combine(_repo.MetadataDir, "timestamp.json"));
        var snapshot = _repo.WriteSnapshot(2, Meta(1));
        _repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        File.WriteAllBytes(Path.Combine(_repo.MetadataDir, "timestamp.json"), oldTimestamp);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.Rollback), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("timestamp version 1 is older than the trusted version 2"));
    }

    [Test]
    public void Rollback_of_the_snapshot_version_listed_by_a_new_timestamp_is_refused()
    {
        _repo.PublishInitial();
        var snapshot2 = _repo.WriteSnapshot(2, Meta(1));
        _repo.WriteTimestamp(2, 2, snapshot2);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        _repo.WriteTimestamp(3, 1);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.Rollback), _repo.LastError);
    }

    [Test]
    public void Rollback_of_a_targets_version_in_a_new_snapshot_is_refused()
    {
        _repo.PublishInitial();
        _repo.WriteTargets(_repo.TargetsSigned(2));
        var snapshot2 = _repo.WriteSnapshot(2, Meta(2));
        _repo.WriteTimestamp(2, 2, snapshot2);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        var snapshot3 = _repo.WriteSnapshot(3, Meta(1));
        _repo.WriteTimestamp(3, 3, snapshot3);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.Rollback), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("targets.json version 1 is older than the trusted version 2"));
    }

    [Test]
    public void A_root_signed_by_the_right_keys_but_with_a_lower_version_is_refused()
    {
        _repo.PublishInitial();
        _repo.WriteRoot(_repo.RootSigned(2), _repo.Keys["root"]);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        // 3.root.json holds version 1 again, properly signed.
        _repo.WriteRoot(_repo.RootSigned(1), _repo.Keys["root"], "3.root.json");
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.RootVersionNotConsecutive), _repo.LastError);
    }

    [Test]
    public void Freeze_expired_timestamp_snapshot_targets_and_root_are_each_refused()
    {
        _repo.PublishInitial();
        Assert.That(_repo.RefreshCode(TestRepository.Now.AddDays(2)), Is.EqualTo(TufException.Expired), "timestamp expires after a day");
        Assert.That(_repo.LastError, Does.Contain("timestamp metadata version 1 expired"));

        _repo.WriteTimestamp(2, 1, expires: TestRepository.Now.AddDays(100));
        Assert.That(_repo.RefreshCode(TestRepository.Now.AddDays(40)), Is.EqualTo(TufException.Expired), "snapshot expires after 30 days");
        Assert.That(_repo.LastError, Does.Contain("snapshot metadata version 1 expired"));

        _repo.WriteTargets(_repo.TargetsSigned(2, expires: TestRepository.Now.AddDays(3)));
        var snapshot = _repo.WriteSnapshot(2, Meta(2), expires: TestRepository.Now.AddDays(100));
        _repo.WriteTimestamp(3, 2, snapshot, expires: TestRepository.Now.AddDays(100));
        Assert.That(_repo.RefreshCode(TestRepository.Now.AddDays(5)), Is.EqualTo(TufException.Expired));
        Assert.That(_repo.LastError, Does.Contain("targets metadata version 2 expired"));

        Assert.That(_repo.RefreshCode(TestRepository.Now.AddYears(2)), Is.EqualTo(TufException.Expired));
        Assert.That(_repo.LastError, Does.Contain("root metadata version 1 expired"));
    }

    [Test]
    public void Mix_and_match_a_snapshot_other_than_the_timestamp_lists_is_refused()
    {
        _repo.PublishInitial();
        // The timestamp names snapshot 2 without hashes; the file served under that name is snapshot 1 (renamed).
        File.Copy(Path.Combine(_repo.MetadataDir, "1.snapshot.json"), Path.Combine(_repo.MetadataDir, "2.snapshot.json"));
        _repo.WriteTimestamp(2, 2);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.MixAndMatch), _repo.LastError);
    }

    [Test]
    public void Mix_and_match_a_snapshot_whose_hash_differs_from_the_timestamp_is_refused()
    {
        _repo.PublishInitial();
        var good = _repo.WriteSnapshot(2, Meta(1));
        _repo.WriteTimestamp(2, 2, good);
        // Same version, same signature, same length, one byte of whitespace changed: the timestamp's hash pins the file.
        byte[] altered = (byte[])good.Clone();
        altered[^1] = (byte)' ';
        File.WriteAllBytes(Path.Combine(_repo.MetadataDir, "2.snapshot.json"), altered);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.MixAndMatch), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("snapshot.json"));
    }

    [Test]
    public void Mix_and_match_targets_of_another_version_than_the_snapshot_lists_is_refused()
    {
        _repo.PublishInitial();
        File.Copy(Path.Combine(_repo.MetadataDir, "1.targets.json"), Path.Combine(_repo.MetadataDir, "2.targets.json"));
        var snapshot = _repo.WriteSnapshot(2, Meta(2));
        _repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.Rollback), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("targets metadata is version 1, but snapshot version 2 lists version 2"));
    }

    [Test]
    public void Endless_data_a_timestamp_without_end_is_cut_off_at_its_cap()
    {
        _repo.PublishInitial();
        _repo.Server.Override = async (path, stream, token) =>
        {
            if (path != "/metadata/timestamp.json")
            {
                return false;
            }

            await StaticHttpServer.WriteHead(stream, 200, null, token);
            var chunk = new byte[8192];
            Array.Fill(chunk, (byte)' ');
            for (int i = 0; i < 100_000 && !token.IsCancellationRequested; i++)
            {
                await stream.WriteAsync(chunk, token);
            }

            return true;
        };
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.TooLarge), _repo.LastError);
    }

    [Test]
    public void Endless_data_a_server_that_drips_is_cut_off_by_the_timeout_not_waited_for()
    {
        _repo.PublishInitial();
        _repo.Server.Override = async (path, stream, token) =>
        {
            if (path != "/metadata/timestamp.json")
            {
                return false;
            }

            await StaticHttpServer.WriteHead(stream, 200, 400, token);
            for (int i = 0; i < 400 && !token.IsCancellationRequested; i++)
            {
                await stream.WriteAsync(new[] { (byte)' ' }, token);
                await Task.Delay(500, token);
            }

            return true;
        };
        using var fetcher = new TufFetcher(TimeSpan.FromSeconds(2));
        Assert.That(_repo.RefreshCode(fetcher: fetcher), Is.EqualTo(TufException.FetchFailed), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("did not complete within 2 s"));
    }

    [Test]
    public void Endless_data_a_target_longer_than_listed_is_refused_and_a_changed_one_too()
    {
        var entry = _repo.AddTargetFile("a.txt", Encoding.UTF8.GetBytes("original"));
        _repo.PublishInitial(new JsonMap { { "a.txt", entry } });
        var client = _repo.Client();
        var info = client.FindTarget("a.txt")!;
        string served = Path.Combine(_repo.TargetsDir, $"{info.Hashes["sha256"]}.a.txt");
        File.WriteAllText(served, "original plus more");
        Assert.That(Assert.Throws<TufException>(() => client.DownloadTarget(info))!.Code, Is.EqualTo(TufException.TooLarge));
        File.WriteAllText(served, "Original");
        Assert.That(Assert.Throws<TufException>(() => client.DownloadTarget(info))!.Code, Is.EqualTo(TufException.TargetMismatch));
        File.WriteAllText(served, "short");
        Assert.That(Assert.Throws<TufException>(() => client.DownloadTarget(info))!.Code, Is.EqualTo(TufException.TargetMismatch));
    }

    [Test]
    public void Wrong_threshold_a_new_root_needs_a_threshold_of_the_old_root_keys_and_of_its_own()
    {
        using var repo = new TestRepository(rootKeys: 3, rootThreshold: 2);
        repo.PublishInitial();
        var old = repo.Keys["root"].ToList();
        repo.WriteRoot(repo.RootSigned(2), old.Take(1));
        Assert.That(repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), repo.LastError);
        Assert.That(repo.LastError, Does.Contain("1 valid signature(s)").And.Contain("threshold of 2"));

        // New root keys: signed by two old keys but by only one of its own.
        var fresh = new List<SigningKey> { SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ecdsa) };
        repo.Keys["root"] = fresh;
        repo.WriteRoot(repo.RootSigned(2), old.Take(2).Concat(fresh.Take(1)));
        Assert.That(repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), repo.LastError);
        Assert.That(repo.LastError, Does.Contain("root version 2 itself"));

        repo.WriteRoot(repo.RootSigned(2), old.Take(2).Concat(fresh));
        Assert.That(repo.RefreshCode(), Is.Null, repo.LastError);
    }

    [Test]
    public void Duplicate_signatures_by_one_key_count_once()
    {
        using var repo = new TestRepository(rootKeys: 2, rootThreshold: 2);
        repo.PublishInitial();
        var signed = repo.RootSigned(2);
        var envelope = TufMetadataWriter.Envelope(signed, Array.Empty<JsonMap>(), repo.Keys["root"].Take(1));
        var sigs = (JsonList)envelope["signatures"];
        sigs.Add(sigs[0].DeepClone());
        File.WriteAllBytes(Path.Combine(repo.MetadataDir, "2.root.json"), TufMetadataWriter.Write(envelope));
        Assert.That(repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), repo.LastError);
    }

    [Test]
    public void One_key_listed_under_two_keyids_counts_once()
    {
        using var repo = new TestRepository(rootKeys: 1, rootThreshold: 1);
        repo.PublishInitial();
        // Root 2 lists the targets key twice (the second time under another keyid) with targets threshold 2.
        var signed = repo.RootSigned(2);
        var targetsKey = repo.Keys["targets"][0];
        string realId = TufKey.KeyIdOf(targetsKey.Public);
        string otherId = new string('a', 64);
        var keyJson = TufKey.ToJson(targetsKey.Public);
        keyJson.Add("x-alias", "same key");
        ((JsonMap)signed["keys"]).Add(otherId, keyJson);
        var targetsRole = (JsonMap)((JsonMap)signed["roles"])["targets"];
        ((JsonList)targetsRole["keyids"]).Add(otherId);
        targetsRole["threshold"] = 2;
        repo.WriteRoot(signed, repo.Keys["root"]);
        var targetsSigned = repo.TargetsSigned(2);
        byte[] canonical = CanonicalJson.Serialize(targetsSigned);
        byte[] sig = targetsKey.Sign(canonical);
        var envelope = new JsonMap
        {
            { "signatures", new JsonList(new JsonMap { { "keyid", realId }, { "sig", Hex.Encode(sig) } }, new JsonMap { { "keyid", otherId }, { "sig", Hex.Encode(sig) } }) },
            { "signed", targetsSigned },
        };
        File.WriteAllBytes(Path.Combine(repo.MetadataDir, "2.targets.json"), TufMetadataWriter.Write(envelope));
        var snapshot = repo.WriteSnapshot(2, Meta(2));
        repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), repo.LastError);
        Assert.That(repo.LastError, Does.Contain("targets metadata version 2 has 1 valid signature(s)"));
    }

    [Test]
    public void Unknown_and_invalid_signatures_are_ignored_when_the_threshold_is_met_without_them()
    {
        _repo.PublishInitial();
        var stranger = SigningKey.Generate(KeyType.Ed25519);
        var signed = _repo.TargetsSigned(2);
        var envelope = TufMetadataWriter.Envelope(signed, new[]
        {
            new JsonMap { { "keyid", "00" }, { "sig", "zz-not-hex" } },
            new JsonMap { { "keyid", TufKey.KeyIdOf(_repo.Keys["targets"][0].Public) + "ff" }, { "sig", "abcd" } },
        }, new[] { stranger, _repo.Keys["targets"][0] });
        File.WriteAllBytes(Path.Combine(_repo.MetadataDir, "2.targets.json"), TufMetadataWriter.Write(envelope));
        var snapshot = _repo.WriteSnapshot(2, Meta(2));
        _repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
    }

    [Test]
    public void Signatures_of_the_wrong_key_or_a_key_of_unknown_type_do_not_reach_a_threshold()
    {
        _repo.PublishInitial();
        var stranger = SigningKey.Generate(KeyType.Ed25519);
        _repo.WriteTargets(_repo.TargetsSigned(2), signers: new[] { stranger });
        var snapshot = _repo.WriteSnapshot(2, Meta(2));
        _repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), _repo.LastError);

        // A root whose targets key has an unknown keytype: parsed, never used.
        var signed = _repo.RootSigned(2);
        string id = TufKey.KeyIdOf(_repo.Keys["targets"][0].Public);
        ((JsonMap)((JsonMap)signed["keys"])[id])["keytype"] = "quantum-proof-2040";
        _repo.WriteRoot(signed, _repo.Keys["root"]);
        _repo.WriteTargets(_repo.TargetsSigned(3));
        snapshot = _repo.WriteSnapshot(3, Meta(3));
        _repo.WriteTimestamp(3, 3, snapshot);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.ThresholdNotMet), _repo.LastError);
        Assert.That(_repo.LastError, Does.Contain("keytype 'quantum-proof-2040' with scheme"));
    }

    [Test]
    public void Fast_forward_recovery_after_the_timestamp_key_is_rotated()
    {
        _repo.PublishInitial();
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        // An attacker with the timestamp key pushes the client to timestamp version 1000.
        _repo.WriteTimestamp(1000, 1);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        // The repository answers with its next real timestamp: refused while the stolen key is trusted.
        var snapshot2 = _repo.WriteSnapshot(2, Meta(1));
        _repo.WriteTimestamp(2, 2, snapshot2);
        Assert.That(_repo.RefreshCode(), Is.EqualTo(TufException.Rollback), _repo.LastError);
        // It rotates the timestamp key in root 2: the client drops the fast-forwarded timestamp and recovers.
        _repo.Keys["timestamp"] = new() { SigningKey.Generate(KeyType.Ecdsa) };
        _repo.WriteRoot(_repo.RootSigned(2), _repo.Keys["root"]);
        _repo.WriteTimestamp(2, 2, snapshot2);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        var client = _repo.Client();
        client.Refresh();
        Assert.That(client.Timestamp!.Version, Is.EqualTo(2));
        Assert.That(client.Root.Version, Is.EqualTo(2));
    }

    [Test]
    public void Fast_forward_recovery_after_the_snapshot_key_is_rotated()
    {
        _repo.PublishInitial();
        _repo.WriteTargets(_repo.TargetsSigned(50));
        var forged = _repo.WriteSnapshot(2, Meta(50));
        _repo.WriteTimestamp(2, 2, forged);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
        _repo.Keys["snapshot"] = new() { SigningKey.Generate(KeyType.Ed25519) };
        _repo.WriteRoot(_repo.RootSigned(2), _repo.Keys["root"]);
        _repo.WriteTargets(_repo.TargetsSigned(2));
        var snapshot = _repo.WriteSnapshot(3, Meta(2));
        _repo.WriteTimestamp(3, 3, snapshot);
        Assert.That(_repo.RefreshCode(), Is.Null, _repo.LastError);
    }

    [Test]
    public void Root_updates_walk_every_version_and_the_walk_is_bounded()
    {
        _repo.PublishInitial();
        for (int v = 2; v <= 6; v++)
        {
            _repo.WriteRoot(_repo.RootSigned(v), _repo.Keys["root"]);
        }

        var client = _repo.Client();
        client.Refresh();
        Assert.That(client.Root.Version, Is.EqualTo(6));
        var paths = _repo.Server.Requests.Where(r => r.EndsWith(".root.json", StringComparison.Ordinal)).ToList();
        Assert.That(paths, Is.EqualTo(new[] { "/metadata/2.root.json", "/metadata/3.root.json", "/metadata/4.root.json", "/metadata/5.root.json", "/metadata/6.root.json", "/metadata/7.root.json" }));
    }

    [Test]
    public void Delegations_are_searched_in_order_and_a_terminating_role_ends_the_search()
    {
        var teamA = SigningKey.Generate(KeyType.Ed25519);
        var teamB = SigningKey.Generate(KeyType.Ecdsa);
        JsonMap Delegations(bool terminating) => new()
        {
            { "keys", new JsonMap { { TufKey.KeyIdOf(teamA.Public), TufKey.ToJson(teamA.Public) }, { TufKey.KeyIdOf(teamB.Public), TufKey.ToJson(teamB.Public) } } },
            {
                "roles", new JsonList(
                    new JsonMap { { "keyids", new JsonList(TufKey.KeyIdOf(teamA.Public)) }, { "name", "team-a" }, { "paths", new JsonList("policies/*.json") }, { "terminating", terminating }, { "threshold", 1 } },
                    new JsonMap { { "keyids", new JsonList(TufKey.KeyIdOf(teamB.Public)) }, { "name", "team-b" }, { "paths", new JsonList("policies/*") }, { "terminating", false }, { "threshold", 1 } })
            },
        };
        var layout = _repo.AddTargetFile("policies/layout.json", Encoding.UTF8.GetBytes("layout from b"));
        _repo.WriteRoot(_repo.RootSigned(1), _repo.Keys["root"]);
        _repo.WriteTargets(_repo.TargetsSigned(1, delegations: Delegations(false)));
        _repo.WriteTargets(_repo.TargetsSigned(1), "team-a", new[] { teamA });
        _repo.WriteTargets(_repo.TargetsSigned(1, new JsonMap { { "policies/layout.json", layout } }), "team-b", new[] { teamB });
        var snapshot = _repo.WriteSnapshot(1, new Dictionary<string, long> { ["targets.json"] = 1, ["team-a.json"] = 1, ["team-b.json"] = 1 });
        _repo.WriteTimestamp(1, 1, snapshot);
        var client = _repo.Client();
        var info = client.FindTarget("policies/layout.json");
        Assert.That(info, Is.Not.Null);
        Assert.That(Encoding.UTF8.GetString(client.DownloadTarget(info!)), Is.EqualTo("layout from b"));
        Assert.That(client.FindTarget("policies/sub/layout.json"), Is.Null, "'*' does not cross '/'");

        // team-a terminating: team-b is never asked.
        _repo.WriteTargets(_repo.TargetsSigned(2, delegations: Delegations(true)));
        snapshot = _repo.WriteSnapshot(2, new Dictionary<string, long> { ["targets.json"] = 2, ["team-a.json"] = 1, ["team-b.json"] = 1 });
        _repo.WriteTimestamp(2, 2, snapshot);
        Assert.That(_repo.Client().FindTarget("policies/layout.json"), Is.Null);

        // A delegated role signed by the wrong key is refused.
        _repo.WriteTargets(_repo.TargetsSigned(2, new JsonMap { { "policies/layout.json", layout } }), "team-a", new[] { teamB });
        _repo.WriteTargets(_repo.TargetsSigned(3, delegations: Delegations(true)));
        snapshot = _repo.WriteSnapshot(3, new Dictionary<string, long> { ["targets.json"] = 3, ["team-a.json"] = 2, ["team-b.json"] = 1 });
        _repo.WriteTimestamp(3, 3, snapshot);
        Assert.That(Assert.Throws<TufException>(() => _repo.Client().FindTarget("policies/layout.json"))!.Code, Is.EqualTo(TufException.ThresholdNotMet));
    }

    [Test]
    public void Target_paths_that_escape_a_directory_are_refused()
    {
        Assert.That(Assert.Throws<TufException>(() => TufClient.SafeRelativePath("../etc/passwd"))!.Code, Is.EqualTo(TufException.TargetMismatch));
        Assert.That(Assert.Throws<TufException>(() => TufClient.SafeRelativePath("a//b"))!.Code, Is.EqualTo(TufException.TargetMismatch));
        Assert.That(TufClient.SafeRelativePath("a/b.json"), Is.EqualTo(Path.Combine("a", "b.json")));
    }
}
