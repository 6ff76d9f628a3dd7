using SecureBuild.Cli;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Tuf;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// Sigstore's real TUF metadata (TestData/sigstore-tuf, a copy of the interop set) served as its CDN lays it out:
/// roots 1 to 15 (ECDSA keys as hex points, then PEM), timestamp, snapshot, targets, a delegated role and the
/// trusted_root.json target, all evaluated at the set's reference time.
/// </summary>
[NonParallelizable]
public class SigstoreTufTests
{
    public static readonly DateTimeOffset ReferenceTime = new(2026, 8, 27, 0, 0, 0, TimeSpan.Zero);

    private static string Data => Path.Combine(AppContext.BaseDirectory, "TestData", "sigstore-tuf");

    private string _dir = null!;
    private StaticHttpServer _server = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = ScratchDirectory.Create("securebuild-sigstore-tuf");
        LayOut(Path.Combine(_dir, "cdn"));
        _server = new StaticHttpServer(Path.Combine(_dir, "cdn"));
    }

    [TearDown]
    public void TearDown()
    {
        _server.Dispose();
        ScratchDirectory.TryDelete(_dir);
    }

    /// <summary>The files as the CDN serves them: N.root.json, VERSION.ROLE.json, targets/SHA256.NAME.</summary>
    public static void LayOut(string cdn)
    {
        Directory.CreateDirectory(Path.Combine(cdn, "targets"));
        foreach (string root in Directory.GetFiles(Path.Combine(Data, "metadata", "root_history")))
        {
            File.Copy(root, Path.Combine(cdn, Path.GetFileName(root)));
        }

        File.Copy(Path.Combine(Data, "metadata", "timestamp.json"), Path.Combine(cdn, "timestamp.json"));
        File.Copy(Path.Combine(Data, "metadata", "snapshot.json"), Path.Combine(cdn, "165.snapshot.json"));
        File.Copy(Path.Combine(Data, "metadata", "targets.json"), Path.Combine(cdn, "14.targets.json"));
        File.Copy(Path.Combine(Data, "metadata", "registry.npmjs.org.json"), Path.Combine(cdn, "8.registry.npmjs.org.json"));
        foreach (string target in Directory.GetFiles(Path.Combine(Data, "targets")))
        {
            File.Copy(target, Path.Combine(cdn, "targets", Sha256Hex.OfFile(target) + "." + Path.GetFileName(target)));
        }

        foreach (string file in Directory.GetFiles(cdn, "*", SearchOption.AllDirectories))
        {
            File.SetAttributes(file, FileAttributes.Normal);
        }
    }

    private TufClient Client(string cache, DateTimeOffset at)
    {
        if (!File.Exists(Path.Combine(cache, "root.json")))
        {
            Directory.CreateDirectory(cache);
            File.Copy(Path.Combine(Data, "metadata", "root_history", "1.root.json"), Path.Combine(cache, "root.json"));
        }

        return new TufClient(new TufClientOptions
        {
            MetadataBaseUrl = _server.Url,
            TargetBaseUrl = _server.Url + "/targets",
            MetadataDirectory = cache,
            Clock = () => at,
        });
    }

    [Test]
    public void The_client_walks_roots_1_to_15_and_downloads_trusted_root_json_at_the_reference_time()
    {
        var client = Client(Path.Combine(_dir, "cache"), ReferenceTime);
        client.Refresh();
        Assert.That(client.Root.Version, Is.EqualTo(15));
        Assert.That(client.Timestamp!.Version, Is.EqualTo(762));
        Assert.That(client.Snapshot!.Version, Is.EqualTo(165));
        Assert.That(client.TopLevelTargets!.Version, Is.EqualTo(14));
        var info = client.FindTarget("trusted_root.json")!;
        Assert.That(info.Length, Is.EqualTo(6787));
        Assert.That(client.DownloadTarget(info), Is.EqualTo(File.ReadAllBytes(Path.Combine(Data, "targets", "trusted_root.json"))));
    }

    [Test]
    public void The_delegated_registry_npmjs_org_role_is_verified_and_searched_for_its_paths()
    {
        var client = Client(Path.Combine(_dir, "cache"), ReferenceTime);
        var info = client.FindTarget("registry.npmjs.org/keys.json");
        Assert.That(info, Is.Not.Null);
        Assert.That(info!.Length, Is.EqualTo(2121));
        Assert.That(info.Hashes["sha256"], Does.StartWith("160677eb"));
        Assert.That(client.FindTarget("registry.npmjs.org/other.json"), Is.Null);
    }

    [Test]
    public void Today_the_copied_metadata_is_expired_and_refused_as_a_freeze()
    {
        var error = Assert.Throws<TufException>(() => Client(Path.Combine(_dir, "cache"), new DateTimeOffset(2026, 9, 15, 0, 0, 0, TimeSpan.Zero)).Refresh())!;
        Assert.That(error.Code, Is.EqualTo(TufException.Expired));
        Assert.That(error.Message, Does.Contain("timestamp metadata version 762 expired at 2026-08-28T19:25:56Z"));
    }

    [Test]
    public void A_tampered_trusted_root_target_is_refused()
    {
        string served = Directory.GetFiles(Path.Combine(_dir, "cdn", "targets"), "*.trusted_root.json").Single();
        byte[] bytes = File.ReadAllBytes(served);
        bytes[100] ^= 1;
        File.WriteAllBytes(served, bytes);
        var client = Client(Path.Combine(_dir, "cache"), ReferenceTime);
        var error = Assert.Throws<TufException>(() => client.DownloadTarget(client.FindTarget("trusted_root.json")!))!;
        Assert.That(error.Code, Is.EqualTo(TufException.TargetMismatch));
    }

    [Test]
    public void The_embedded_public_good_root_is_root_15_and_updates_from_the_same_repository()
    {
        byte[] embedded = SigstoreTrustedRootSource.EmbeddedPublicGoodRoot();
        Assert.That(embedded, Is.EqualTo(File.ReadAllBytes(Path.Combine(Data, "metadata", "root_history", "15.root.json"))));
        string cache = Path.Combine(_dir, "sigstore-cache");
        var result = SigstoreTrustedRootSource.Update(_server.Url, null, cache, embedded, () => ReferenceTime);
        Assert.That(result.RootVersion, Is.EqualTo(15));
        Assert.That(result.SigningConfigPath, Does.EndWith("signing_config.v0.2.json"));
        Assert.That(SigstoreTrustedRootSource.LoadCachedTrustedRoot(cache, ReferenceTime), Is.EqualTo(File.ReadAllBytes(Path.Combine(Data, "targets", "trusted_root.json"))));
        Assert.That(Assert.Throws<TufException>(() => SigstoreTrustedRootSource.LoadCachedTrustedRoot(cache, ReferenceTime.AddDays(30)))!.Code, Is.EqualTo(TufException.Expired));

        // A cached trusted root edited after the update is refused.
        string cached = Path.Combine(cache, "targets", "trusted_root.json");
        File.WriteAllText(cached, File.ReadAllText(cached).Replace("rekor", "r3kor"));
        Assert.That(Assert.Throws<TufException>(() => SigstoreTrustedRootSource.LoadCachedTrustedRoot(cache, ReferenceTime))!.Code, Is.EqualTo(TufException.TargetMismatch));
    }

    [Test]
    public void Trust_update_with_a_configured_url_writes_the_cache_and_a_warm_update_fetches_no_root()
    {
        string cache = Path.Combine(_dir, "cli-cache");
        string root1 = Path.Combine(Data, "metadata", "root_history", "1.root.json");
        var (code, output) = Cli("trust", "update", "--metadata-url", _server.Url, "--root", root1, "--cache-dir", cache, "--reference-time", "2026-08-27T00:00:00Z");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("root version 15, timestamp version 762"));
        Assert.That(File.Exists(Path.Combine(cache, "targets", "trusted_root.json")), Is.True);
        int before = _server.Requests.Count;
        (code, output) = Cli("trust", "update", "--metadata-url", _server.Url, "--cache-dir", cache, "--reference-time", "2026-08-27T00:00:00Z");
        Assert.That(code, Is.EqualTo(0), output);
        var warm = _server.Requests.Skip(before).ToList();
        Assert.That(warm, Is.EqualTo(new[] { "/16.root.json", "/timestamp.json" }),
            "a warm cache with nothing new fetches the next root probe and the timestamp: no snapshot or targets metadata, and the cached targets match their hashes");

        // A cached target that no longer matches its hashes is downloaded again, and only that one.
        string cachedRoot = Path.Combine(cache, "targets", "trusted_root.json");
        File.WriteAllText(cachedRoot, File.ReadAllText(cachedRoot).Replace("rekor", "r3kor"));
        before = _server.Requests.Count;
        (code, output) = Cli("trust", "update", "--metadata-url", _server.Url, "--cache-dir", cache, "--reference-time", "2026-08-27T00:00:00Z");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(_server.Requests.Skip(before), Is.EqualTo(new[] { "/16.root.json", "/timestamp.json", $"/targets/{Sha256Hex.OfFile(Path.Combine(Data, "targets", "trusted_root.json"))}.trusted_root.json" }));
        Assert.That(File.ReadAllBytes(cachedRoot), Is.EqualTo(File.ReadAllBytes(Path.Combine(Data, "targets", "trusted_root.json"))));

        (code, output) = Cli("trust", "update", "--metadata-url", _server.Url, "--cache-dir", cache);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5204"));
    }

    [Test]
    public void Trust_verify_root_checks_the_chain_offline_and_names_the_broken_link()
    {
        string history = Path.Combine(Data, "metadata", "root_history");
        var chain = Enumerable.Range(2, 14).Select(v => Path.Combine(history, $"{v}.root.json")).ToArray();
        var (code, output) = Cli(new[] { "trust", "verify-root", Path.Combine(history, "1.root.json") }.Concat(chain).Concat(new[] { "--reference-time", "2026-08-27T00:00:00Z" }).ToArray());
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("valid up to version 15"));

        (code, output) = Cli(new[] { "trust", "verify-root", Path.Combine(history, "1.root.json") }.Concat(chain.Skip(1)).Concat(new[] { "--reference-time", "2026-08-27T00:00:00Z" }).ToArray());
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5202").And.Contain("root version 3").And.Contain("only version 2"));

        (code, output) = Cli(new[] { "trust", "verify-root", Path.Combine(history, "1.root.json") }.Concat(chain).ToArray());
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5204"));

        (code, output) = Cli("trust", "verify-root", Path.Combine(history, "1.root.json"), Path.Combine(_dir, "missing.json"));
        Assert.That(code, Is.EqualTo(2), output);
    }

    [Test]
    public void The_conformance_client_command_line_refreshes_and_downloads()
    {
        string meta = Path.Combine(_dir, "conformance");
        var (code, output) = Cli("tuf", "--metadata-dir", meta, "init", Path.Combine(Data, "metadata", "root_history", "1.root.json"));
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = Cli("tuf", "--metadata-url", _server.Url, "--metadata-dir", meta, "refresh", "--reference-time", "2026-08-27T00:00:00Z");
        Assert.That(code, Is.EqualTo(0), output);
        string targets = Path.Combine(_dir, "downloads");
        (code, output) = Cli("tuf", "--metadata-url", _server.Url, "--metadata-dir", meta, "download", "--target-name", "trusted_root.json",
            "--target-base-url", _server.Url + "/targets", "--target-dir", targets, "--reference-time", "2026-08-27T00:00:00Z");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(File.ReadAllBytes(Path.Combine(targets, "trusted_root.json")), Is.EqualTo(File.ReadAllBytes(Path.Combine(Data, "targets", "trusted_root.json"))));
        (code, output) = Cli("tuf", "--metadata-url", _server.Url, "--metadata-dir", meta, "refresh");
        Assert.That(code, Is.EqualTo(1), output);
    }

    internal static (int Code, string Output) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApplication.Run(args, stdout, stderr);
        return (code, stdout + stderr.ToString());
    }
}
