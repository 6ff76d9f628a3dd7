using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Tuf;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// A TUF repository a test writes file by file (so it can also write what an attacker would), served over HTTP on
/// 127.0.0.1, with a client directory that keeps the client's trusted metadata between refreshes.
/// </summary>
public sealed class TestRepository : IDisposable
{
    /// <summary>The repository's "now"; metadata expires a year later unless a test says otherwise.</summary>
    public static readonly DateTimeOffset Now = new(2030, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public TestRepository(int rootKeys = 1, int rootThreshold = 1)
    {
        Directory = ScratchDirectory.Create("securebuild-tuf-repo");
        System.IO.Directory.CreateDirectory(MetadataDir);
        System.IO.Directory.CreateDirectory(TargetsDir);
        ClientDir = Path.Combine(Directory, "client");
        Keys["root"] = Enumerable.Range(0, rootKeys).Select(i => SigningKey.Generate(i % 2 == 0 ? KeyType.Ecdsa : KeyType.Ed25519)).ToList();
        Keys["targets"] = new() { SigningKey.Generate(KeyType.Ed25519) };
        Keys["snapshot"] = new() { SigningKey.Generate(KeyType.Ecdsa) };
        Keys["timestamp"] = new() { SigningKey.Generate(KeyType.Ed25519) };
        Thresholds["root"] = rootThreshold;
        Server = new StaticHttpServer(Directory);
    }

    public string Directory { get; }

    public string MetadataDir => Path.Combine(Directory, "metadata");

    public string TargetsDir => Path.Combine(Directory, "targets");

    public string ClientDir { get; }

    public StaticHttpServer Server { get; }

    public Dictionary<string, List<SigningKey>> Keys { get; } = new();

    public Dictionary<string, int> Thresholds { get; } = new() { ["targets"] = 1, ["snapshot"] = 1, ["timestamp"] = 1 };

    /// <summary>Root "signed" for the current keys and thresholds.</summary>
    public JsonMap RootSigned(long version, DateTimeOffset? expires = null)
    {
        var keys = new JsonMap();
        var roles = new JsonMap();
        foreach (string role in new[] { "root", "targets", "snapshot", "timestamp" })
        {
            var ids = new JsonList();
            foreach (var key in Keys[role])
            {
                string id = TufKey.KeyIdOf(key.Public);
                if (!keys.ContainsKey(id))
                {
                    keys.Add(id, TufKey.ToJson(key.Public));
                }

                ids.Add(id);
            }

            roles.Add(role, new JsonMap { { "keyids", ids }, { "threshold", Thresholds[role] } });
        }

        return new JsonMap
        {
            { "_type", "root" }, { "consistent_snapshot", true }, { "expires", Time(expires ?? Now.AddYears(1)) },
            { "keys", keys }, { "roles", roles }, { "spec_version", "1.0.31" }, { "version", version },
        };
    }

    public byte[] WriteRoot(JsonMap signed, IEnumerable<SigningKey> signers, string? fileName = null)
    {
        byte[] bytes = TufMetadataWriter.Sign(signed, signers.ToArray());
        File.WriteAllBytes(Path.Combine(MetadataDir, fileName ?? $"{((JsonNumber)signed["version"]).AsInt64()}.root.json"), bytes);
        return bytes;
    }

    public JsonMap TargetsSigned(long version, JsonMap? targets = null, JsonMap? delegations = null, DateTimeOffset? expires = null)
    {
        var signed = new JsonMap
        {
            { "_type", "targets" }, { "expires", Time(expires ?? Now.AddYears(1)) }, { "spec_version", "1.0.31" },
            { "targets", targets ?? new JsonMap() }, { "version", version },
        };
        if (delegations is not null)
        {
            signed.Add("delegations", delegations);
        }

        return signed;
    }

    public byte[] WriteTargets(JsonMap signed, string role = "targets", IEnumerable<SigningKey>? signers = null)
    {
        byte[] bytes = TufMetadataWriter.Sign(signed, (signers ?? Keys["targets"]).ToArray());
        File.WriteAllBytes(Path.Combine(MetadataDir, $"{((JsonNumber)signed["version"]).AsInt64()}.{role}.json"), bytes);
        return bytes;
    }

    public byte[] WriteSnapshot(long version, IDictionary<string, long> meta, DateTimeOffset? expires = null, IEnumerable<SigningKey>? signers = null)
    {
        var map = new JsonMap();
        foreach (var kv in meta)
        {
            map.Add(kv.Key, new JsonMap { { "version", kv.Value } });
        }

        var signed = new JsonMap
        {
            { "_type", "snapshot" }, { "expires", Time(expires ?? Now.AddDays(30)) }, { "meta", map },
            { "spec_version", "1.0.31" }, { "version", version },
        };
        byte[] bytes = TufMetadataWriter.Sign(signed, (signers ?? Keys["snapshot"]).ToArray());
        File.WriteAllBytes(Path.Combine(MetadataDir, $"{version}.snapshot.json"), bytes);
        return bytes;
    }

    public byte[] WriteTimestamp(long version, long snapshotVersion, byte[]? snapshotBytes = null, DateTimeOffset? expires = null, IEnumerable<SigningKey>? signers = null)
    {
        var meta = new JsonMap { { "version", snapshotVersion } };
        if (snapshotBytes is not null)
        {
            meta.Add("length", snapshotBytes.LongLength);
            meta.Add("hashes", new JsonMap { { "sha256", Sha256Hex.Of(snapshotBytes) } });
        }

        var signed = new JsonMap
        {
            { "_type", "timestamp" }, { "expires", Time(expires ?? Now.AddDays(1)) },
            { "meta", new JsonMap { { "snapshot.json", meta } } }, { "spec_version", "1.0.31" }, { "version", version },
        };
        byte[] bytes = TufMetadataWriter.Sign(signed, (signers ?? Keys["timestamp"]).ToArray());
        File.WriteAllBytes(Path.Combine(MetadataDir, "timestamp.json"), bytes);
        return bytes;
    }

    /// <summary>A target entry for targets metadata, its file written as targets/SHA256.NAME.</summary>
    public JsonMap AddTargetFile(string name, byte[] content)
    {
        string sha = Sha256Hex.Of(content);
        int slash = name.LastIndexOf('/');
        string file = slash < 0 ? $"{sha}.{name}" : $"{name.Substring(0, slash)}/{sha}.{name.Substring(slash + 1)}";
        string path = Path.Combine(TargetsDir, file);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return new JsonMap { { "hashes", new JsonMap { { "sha256", sha } } }, { "length", content.LongLength } };
    }

    /// <summary>Root 1, targets 1 (with the given targets), snapshot 1, timestamp 1.</summary>
    public void PublishInitial(JsonMap? targets = null)
    {
        WriteRoot(RootSigned(1), Keys["root"]);
        WriteTargets(TargetsSigned(1, targets));
        byte[] snapshot = WriteSnapshot(1, new Dictionary<string, long> { ["targets.json"] = 1 });
        WriteTimestamp(1, 1, snapshot);
    }

    /// <summary>A client trusting 1.root.json (copied into the client directory on first use).</summary>
    public TufClient Client(DateTimeOffset? now = null, ITufFetcher? fetcher = null)
    {
        if (!File.Exists(Path.Combine(ClientDir, "root.json")))
        {
            System.IO.Directory.CreateDirectory(ClientDir);
            File.Copy(Path.Combine(MetadataDir, "1.root.json"), Path.Combine(ClientDir, "root.json"));
        }

        var at = now ?? Now.AddHours(1);
        return new TufClient(new TufClientOptions
        {
            MetadataBaseUrl = Server.Url + "/metadata",
            TargetBaseUrl = Server.Url + "/targets",
            MetadataDirectory = ClientDir,
            Clock = () => at,
            Fetcher = fetcher ?? SharedFetcher,
        });
    }

    /// <summary>Refreshes a new client and returns the refusal's code, or null when it accepted everything.</summary>
    public string? RefreshCode(DateTimeOffset? now = null, ITufFetcher? fetcher = null)
    {
        try
        {
            Client(now, fetcher).Refresh();
            return null;
        }
        catch (TufException e)
        {
            LastError = e.Message;
            return e.Code;
        }
    }

    public string? LastError { get; private set; }

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Server.Dispose();
        ScratchDirectory.TryDelete(Directory);
    }

    private static readonly TufFetcher SharedFetcher = new(TimeSpan.FromSeconds(60));
}
