using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tuf;

/// <summary>How long each role's metadata stays valid when (re)signed.</summary>
public sealed class TufExpiry
{
    public TimeSpan Root { get; init; } = TimeSpan.FromDays(365);

    public TimeSpan Targets { get; init; } = TimeSpan.FromDays(90);

    public TimeSpan Snapshot { get; init; } = TimeSpan.FromDays(30);

    public TimeSpan Timestamp { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>
/// An organisation's own TUF repository (consistent snapshots), kept in one directory:
/// <list type="bullet">
/// <item><c>staged/root.json</c>, <c>staged/targets.json</c>: the next root and targets metadata, signed by the offline
/// keys one by one (<see cref="Sign"/>), and <c>staged/targets/</c> the files they list;</item>
/// <item><c>metadata/</c> and <c>targets/</c>: what <see cref="Publish"/> made of them, ready for any static web server:
/// <c>N.root.json</c> for every root version, <c>N.targets.json</c>, <c>N.snapshot.json</c>, <c>timestamp.json</c>, and
/// each target as <c>targets/SHA256.NAME</c>. Publishing signs snapshot and timestamp with the online keys and checks
/// everything the way a client will, so a repository that does not verify is never published.</item>
/// </list>
/// Private keys are never stored here: every operation takes the keys that sign it.
/// </summary>
public sealed class TufRepository
{
    private static readonly string[] TopRoles = { "root", "targets", "snapshot", "timestamp" };

    public TufRepository(string directory, Func<DateTimeOffset>? clock = null, TufExpiry? expiry = null)
    {
        Location = Path.GetFullPath(directory);
        Clock = clock ?? (() => DateTimeOffset.UtcNow);
        Expiry = expiry ?? new TufExpiry();
    }

    public string Location { get; }

    public Func<DateTimeOffset> Clock { get; }

    public TufExpiry Expiry { get; }

    public string MetadataDirectory => Path.Combine(Location, "metadata");

    public string TargetsDirectory => Path.Combine(Location, "targets");

    private string Staged => Path.Combine(Location, "staged");

    /// <summary>Creates the repository: root version 1 and an empty targets version 1, signed by the given keys of each role.</summary>
    public void Init(IReadOnlyDictionary<string, (IReadOnlyList<PublicKey> Keys, int Threshold)> roles, IEnumerable<SigningKey> signers)
    {
        if (File.Exists(Path.Combine(Staged, "root.json")) || File.Exists(Path.Combine(MetadataDirectory, "timestamp.json")))
        {
            throw Error($"{Location} already holds a TUF repository.", "Use `securebuild trust rotate`/`add` to change it, or choose an empty directory.");
        }

        foreach (string role in TopRoles)
        {
            if (!roles.TryGetValue(role, out var r) || r.Keys.Count == 0)
            {
                throw Error($"the {role} role has no keys.", $"Give at least one {role} key.");
            }

            if (r.Threshold < 1 || r.Threshold > r.Keys.Select(TufKey.KeyIdOf).Distinct().Count())
            {
                throw Error($"the {role} role has threshold {r.Threshold} with {r.Keys.Count} distinct key(s).", "A threshold is between 1 and the number of distinct keys.");
            }
        }

        var keys = new JsonMap();
        var roleMap = new JsonMap();
        foreach (string role in TopRoles)
        {
            var ids = new JsonList();
            foreach (var key in roles[role].Keys)
            {
                string id = TufKey.KeyIdOf(key);
                if (!keys.ContainsKey(id))
                {
                    keys.Add(id, TufKey.ToJson(key));
                }

                if (!ids.Any(i => ((JsonString)i).Value == id))
                {
                    ids.Add(id);
                }
            }

            roleMap.Add(role, new JsonMap { { "keyids", ids }, { "threshold", roles[role].Threshold } });
        }

        var root = new JsonMap
        {
            { "_type", "root" },
            { "consistent_snapshot", true },
            { "expires", Time(Clock() + Expiry.Root) },
            { "keys", keys },
            { "roles", roleMap },
            { "spec_version", "1.0.31" },
            { "version", 1 },
        };
        var targets = NewTargets(1, new JsonMap());
        var signerList = signers.ToList();
        WriteStaged("root.json", SignEnvelope(root, new JsonList(), signerList, KeyIdsOf(root, "root")));
        WriteStaged("targets.json", SignEnvelope(targets, new JsonList(), signerList, KeyIdsOf(root, "targets")));
    }

    /// <summary>Adds (or replaces) a target and signs the new targets metadata with <paramref name="signers"/>.</summary>
    public TufTargetFile AddTarget(string name, byte[] content, IEnumerable<SigningKey> signers, JsonMap? custom = null)
    {
        TufClient.SafeRelativePath(name);
        var root = LoadStagedRoot();
        var targets = StartTargetsChange();
        var entry = new JsonMap
        {
            { "hashes", new JsonMap { { "sha256", Sha256Hex.Of(content) } } },
            { "length", content.LongLength },
        };
        if (custom is not null)
        {
            entry.Add("custom", custom);
        }

        var map = (JsonMap)targets["targets"];
        map.Remove(name);
        map.Add(name, entry);
        string path = Path.Combine(Staged, "targets", TufClient.SafeRelativePath(name));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllBytes(path, content);
        WriteStaged("targets.json", SignEnvelope(targets, new JsonList(), signers.ToList(), KeyIdsOf(root.Signed, "targets")));
        return new TufTargetFile(name, content.LongLength, new Dictionary<string, string> { { "sha256", Sha256Hex.Of(content) } }, custom);
    }

    /// <summary>Adds signatures to the staged root or targets metadata (threshold signing by several offline keys).</summary>
    public void Sign(string role, IEnumerable<SigningKey> signers)
    {
        if (role is not ("root" or "targets"))
        {
            throw Error($"'{role}' cannot be signed by hand: snapshot and timestamp are signed at publish time with the online keys.", "Sign root or targets.");
        }

        var root = LoadStagedRoot();
        var envelope = ReadEnvelope(Path.Combine(Staged, role + ".json"));
        var allowed = KeyIdsOf(root.Signed, role);
        if (role == "root" && root.Version > 1 && PublishedRoot() is { } previous && previous.Version == root.Version - 1)
        {
            // Root N+1 must also be signed by a threshold of root N's keys: those may sign it too.
            allowed = allowed.Concat(previous.Roles["root"].KeyIds).Distinct().ToList();
        }

        WriteStaged(role + ".json", SignEnvelope((JsonMap)envelope["signed"], (JsonList)envelope["signatures"], signers.ToList(), allowed));
    }

    /// <summary>
    /// Changes the keys of a role in a new root version (key rotation; revoking a key): adds and removes keys, sets the
    /// threshold, signs the new root with <paramref name="signers"/> (old root keys and new ones may both be needed).
    /// </summary>
    public TufRootMetadata Rotate(string role, IReadOnlyList<PublicKey> add, IReadOnlyList<string> removeKeyIds, int? threshold, IEnumerable<SigningKey> signers)
    {
        if (Array.IndexOf(TopRoles, role) < 0)
        {
            throw Error($"'{role}' is not a top-level role.", "Rotate one of root, targets, snapshot, timestamp.");
        }

        var current = LoadStagedRoot();
        var signed = (JsonMap)current.Signed.DeepClone();
        var published = PublishedRoot();
        if (published is not null && published.Version == current.Version)
        {
            signed["version"] = current.Version + 1;
        }

        signed["expires"] = Time(Clock() + Expiry.Root);
        var keys = (JsonMap)signed["keys"];
        var roleObj = (JsonMap)((JsonMap)signed["roles"])[role];
        var ids = ((JsonList)roleObj["keyids"]).Select(i => ((JsonString)i).Value).ToList();
        foreach (string remove in removeKeyIds)
        {
            string? match = ids.FirstOrDefault(i => i == remove || (remove.Length >= 8 && i.StartsWith(remove, StringComparison.Ordinal)));
            if (match is null)
            {
                throw new TufException(TufException.WrongKey, $"key {remove} is not a key of the {role} role.", $"Give one of: {string.Join(", ", ids)}.");
            }

            ids.Remove(match);
        }

        foreach (var key in add)
        {
            string id = TufKey.KeyIdOf(key);
            if (!keys.ContainsKey(id))
            {
                keys.Add(id, TufKey.ToJson(key));
            }

            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        int t = threshold ?? (int)((JsonNumber)roleObj["threshold"]).AsInt64();
        if (ids.Count == 0 || t < 1 || t > ids.Count)
        {
            throw Error($"after the change the {role} role would have {ids.Count} key(s) and threshold {t}.", "Keep at least one key and a threshold between 1 and the number of keys.");
        }

        roleObj["keyids"] = new JsonList(ids.Select(i => (JsonItem)i));
        roleObj["threshold"] = t;
        // Keys no role uses any more leave the root.
        var used = new HashSet<string>(TopRoles.SelectMany(r => ((JsonList)((JsonMap)((JsonMap)signed["roles"])[r])["keyids"]).Select(i => ((JsonString)i).Value)));
        foreach (string unused in keys.Keys.Where(k => !used.Contains(k)).ToList())
        {
            keys.Remove(unused);
        }

        var allowed = KeyIdsOf(signed, "root").Concat(published?.Roles["root"].KeyIds ?? Array.Empty<string>()).Distinct().ToList();
        WriteStaged("root.json", SignEnvelope(signed, new JsonList(), signers.ToList(), allowed));
        if (role == "targets")
        {
            // The targets metadata must be signed again by the new targets keys: start a new version.
            var targets = StartTargetsChange();
            WriteStaged("targets.json", SignEnvelope(targets, new JsonList(), signers.ToList(), KeyIdsOf(signed, "targets")));
        }

        return LoadStagedRoot();
    }

    /// <summary>
    /// Publishes: checks the staged root against the published one (threshold of old and new keys, next version) and the
    /// staged targets against the staged root, copies the targets, signs a new snapshot and timestamp with the online
    /// keys, and writes timestamp.json last, so a client never sees a half-published repository.
    /// </summary>
    public void Publish(IEnumerable<SigningKey> snapshotSigners, IEnumerable<SigningKey> timestampSigners)
    {
        var root = LoadStagedRoot();
        var published = PublishedRoot();
        var now = Clock();
        if (published is null || published.Version < root.Version)
        {
            if (published is not null)
            {
                root.VerifyThreshold(published.Roles["root"], published.Keys, "root", $"published root version {published.Version}");
                if (root.Version != published.Version + 1)
                {
                    throw Error($"staged root is version {root.Version}, published is {published.Version}.", "Root versions must follow each other one by one.");
                }
            }

            root.VerifyThreshold(root.Roles["root"], root.Keys, "root", "itself");
        }

        if (root.IsExpired(now))
        {
            throw Error($"the staged root expired at {Time(root.Expires)}.", "Renew it: `securebuild trust rotate --role root` with no key change writes a new root version.");
        }

        byte[] targetsBytes = InputFile.ReadAllBytes(Path.Combine(Staged, "targets.json"), InputKind.Metadata);
        var targets = (TufTargetsMetadata)TufMetadata.Parse(targetsBytes, "targets", "staged targets.json");
        targets.VerifyThreshold(root.Roles["targets"], root.Keys, "targets", $"root version {root.Version}");
        if (targets.IsExpired(now))
        {
            throw Error($"the staged targets metadata expired at {Time(targets.Expires)}.", "Sign it again: `securebuild trust add` or `trust sign --role targets` after re-adding a target renews it.");
        }

        long previousSnapshot = PublishedTimestamp()?.SnapshotMeta.Version ?? 0;
        var snapshotSigned = new JsonMap
        {
            { "_type", "snapshot" },
            { "expires", Time(now + Expiry.Snapshot) },
            { "meta", new JsonMap { { "targets.json", new JsonMap { { "version", targets.Version } } } } },
            { "spec_version", "1.0.31" },
            { "version", previousSnapshot + 1 },
        };
        byte[] snapshotBytes = SignAndCheck(snapshotSigned, snapshotSigners, root, "snapshot");
        var timestampSigned = new JsonMap
        {
            { "_type", "timestamp" },
            { "expires", Time(now + Expiry.Timestamp) },
            {
                "meta", new JsonMap
                {
                    {
                        "snapshot.json", new JsonMap
                        {
                            { "hashes", new JsonMap { { "sha256", Sha256Hex.Of(snapshotBytes) } } },
                            { "length", snapshotBytes.LongLength },
                            { "version", previousSnapshot + 1 },
                        }
                    },
                }
            },
            { "spec_version", "1.0.31" },
            { "version", (PublishedTimestamp()?.Version ?? 0) + 1 },
        };
        byte[] timestampBytes = SignAndCheck(timestampSigned, timestampSigners, root, "timestamp");

        // Everything is signed and checked: only now is anything written, and timestamp.json last.
        Directory.CreateDirectory(MetadataDirectory);
        Directory.CreateDirectory(TargetsDirectory);
        foreach (var target in targets.Targets.Values)
        {
            string relative = TufClient.SafeRelativePath(target.Path);
            byte[] content = InputFile.ReadAllBytes(Path.Combine(Staged, "targets", relative), InputKind.Artifact);
            TufClient.CheckLengthAndHashes(content, target.Length, target.Hashes, $"staged target '{target.Path}'", TufException.TargetMismatch);
            string dir = Path.GetDirectoryName(relative) ?? "";
            string outPath = Path.Combine(TargetsDirectory, dir, target.Hashes["sha256"] + "." + Path.GetFileName(relative));
            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            AtomicFile.WriteAllBytes(outPath, content);
        }

        byte[] rootBytes = InputFile.ReadAllBytes(Path.Combine(Staged, "root.json"), InputKind.Metadata);
        if (published is null || published.Version < root.Version)
        {
            AtomicFile.WriteAllBytes(Path.Combine(MetadataDirectory, $"{root.Version}.root.json"), rootBytes);
            AtomicFile.WriteAllBytes(Path.Combine(MetadataDirectory, "root.json"), rootBytes);
        }

        AtomicFile.WriteAllBytes(Path.Combine(MetadataDirectory, $"{targets.Version}.targets.json"), targetsBytes);
        AtomicFile.WriteAllBytes(Path.Combine(MetadataDirectory, $"{previousSnapshot + 1}.snapshot.json"), snapshotBytes);
        AtomicFile.WriteAllBytes(Path.Combine(MetadataDirectory, "timestamp.json"), timestampBytes);
    }

    /// <summary>The staged root (the next one to publish, or the published one when nothing changed).</summary>
    public TufRootMetadata LoadStagedRoot()
    {
        string path = Path.Combine(Staged, "root.json");
        if (!File.Exists(path))
        {
            throw Error($"{Location} is not a TUF repository made by `securebuild trust init` (no staged/root.json).", "Run `securebuild trust init` first, or give the right --repo.");
        }

        return (TufRootMetadata)TufMetadata.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata), "root", "staged root.json");
    }

    /// <summary>The newest published root, or null before the first publish.</summary>
    public TufRootMetadata? PublishedRoot()
    {
        string path = Path.Combine(MetadataDirectory, "root.json");
        return File.Exists(path) ? (TufRootMetadata)TufMetadata.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata), "root", "published root.json") : null;
    }

    private TufTimestampMetadata? PublishedTimestamp()
    {
        string path = Path.Combine(MetadataDirectory, "timestamp.json");
        return File.Exists(path) ? (TufTimestampMetadata)TufMetadata.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata), "timestamp", "published timestamp.json") : null;
    }

    /// <summary>The staged targets "signed" to change: a new version when the staged one is already published, renewed expiry.</summary>
    private JsonMap StartTargetsChange()
    {
        var envelope = ReadEnvelope(Path.Combine(Staged, "targets.json"));
        var signed = (JsonMap)((JsonMap)envelope["signed"]).DeepClone();
        long version = ((JsonNumber)signed["version"]).AsInt64();
        if (File.Exists(Path.Combine(MetadataDirectory, $"{version}.targets.json")))
        {
            signed["version"] = version + 1;
        }

        signed["expires"] = Time(Clock() + Expiry.Targets);
        return signed;
    }

    private JsonMap NewTargets(long version, JsonMap targets) => new()
    {
        { "_type", "targets" },
        { "expires", Time(Clock() + Expiry.Targets) },
        { "spec_version", "1.0.31" },
        { "targets", targets },
        { "version", version },
    };

    private static byte[] SignAndCheck(JsonMap signed, IEnumerable<SigningKey> signers, TufRootMetadata root, string role)
    {
        var envelope = SignEnvelope(signed, new JsonList(), signers.ToList(), root.Roles[role].KeyIds);
        byte[] bytes = TufMetadataWriter.Write(envelope);
        var parsed = TufMetadata.Parse(bytes, role, role + ".json");
        try
        {
            parsed.VerifyThreshold(root.Roles[role], root.Keys, role, $"root version {root.Version}");
        }
        catch (TufException e)
        {
            throw new TufException(TufException.WrongKey, $"the {role} keys given do not reach the {role} threshold: {e.Reason}", $"Give {root.Roles[role].Threshold} of the {role} role's private keys (--{role}-key).");
        }

        return bytes;
    }

    private static JsonMap SignEnvelope(JsonMap signed, JsonList existing, List<SigningKey> signers, IReadOnlyList<string> allowedKeyIds)
    {
        var usable = signers.Where(k => allowedKeyIds.Contains(TufKey.KeyIdOf(k.Public), StringComparer.Ordinal)).ToList();
        if (usable.Count == 0 && signers.Count > 0)
        {
            throw new TufException(TufException.WrongKey, $"none of the keys given ({string.Join(", ", signers.Select(s => TufKey.KeyIdOf(s.Public)))}) is a key allowed to sign this metadata.",
                $"Sign with one of: {string.Join(", ", allowedKeyIds)}.");
        }

        return TufMetadataWriter.Envelope(signed, existing.OfType<JsonMap>(), usable);
    }

    private static IReadOnlyList<string> KeyIdsOf(JsonMap rootSigned, string role) =>
        ((JsonList)((JsonMap)((JsonMap)rootSigned["roles"])[role])["keyids"]).Select(i => ((JsonString)i).Value).ToList();

    private JsonMap ReadEnvelope(string path)
    {
        byte[] bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
        return (JsonMap)JsonParser.Parse(bytes);
    }

    private void WriteStaged(string name, JsonMap envelope)
    {
        Directory.CreateDirectory(Staged);
        AtomicFile.WriteAllBytes(Path.Combine(Staged, name), TufMetadataWriter.Write(envelope));
    }

    internal static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static TufException Error(string message, string fix) => new(TufException.Repository, message, fix);
}
