using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tuf;

/// <summary>Where a <see cref="TufClient"/> fetches from, where it keeps its trusted metadata, and its limits.</summary>
public sealed class TufClientOptions
{
    /// <summary>The repository's metadata URL (http, https, file://) or directory.</summary>
    public string MetadataBaseUrl { get; init; } = "";

    /// <summary>Where targets are fetched from; default: <c>MetadataBaseUrl/../targets</c> is not guessed, so a download without it fails.</summary>
    public string? TargetBaseUrl { get; init; }

    /// <summary>The local directory of trusted metadata; it must hold root.json (the trusted root) before the first refresh.</summary>
    public string MetadataDirectory { get; init; } = "";

    /// <summary>The verification time (TUF's "now"); a fixed time audits old metadata.</summary>
    public Func<DateTimeOffset> Clock { get; init; } = () => DateTimeOffset.UtcNow;

    public ITufFetcher? Fetcher { get; init; }

    /// <summary>Root versions walked in one refresh at most (python-tuf: 256).</summary>
    public int MaxRootRotations { get; init; } = 256;

    /// <summary>Delegated roles visited for one target at most (python-tuf and tuf-js: 32).</summary>
    public int MaxDelegations { get; init; } = 32;

    /// <summary>Caps for files whose length no trusted metadata gives (python-tuf's defaults).</summary>
    public long RootMaxLength { get; init; } = 512_000;

    public long TimestampMaxLength { get; init; } = 16_384;

    public long SnapshotMaxLength { get; init; } = 2_000_000;

    public long TargetsMaxLength { get; init; } = 5_000_000;
}

/// <summary>
/// A TUF 1.0 client (the specification's "detailed client workflow", section 5), one named step per section:
/// <see cref="UpdateRoot"/> (5.3), <see cref="UpdateTimestamp"/> (5.4), <see cref="UpdateSnapshot"/> (5.5),
/// <see cref="UpdateTargets"/> (5.6), then <see cref="FindTarget"/> walks delegations (5.6.7) and
/// <see cref="DownloadTarget"/> checks length and hashes (5.7). Metadata is checked before it is trusted and written
/// to <see cref="TufClientOptions.MetadataDirectory"/> only after, so the local state is always verified metadata.
/// <para>Local metadata from an earlier run is loaded through the same checks against the current root: after a key
/// rotation it no longer verifies and is dropped (recovery from a fast-forward attack, 5.3.11), and while it does
/// verify its versions are the floor new metadata must not go below (rollback).</para>
/// </summary>
public sealed class TufClient
{
    private readonly TufClientOptions _options;
    private readonly ITufFetcher _fetcher;
    private readonly Dictionary<string, TufTargetsMetadata> _targets = new(StringComparer.Ordinal);
    private TufTimestampMetadata? _timestamp;
    private TufSnapshotMetadata? _snapshot;
    private bool _refreshed;

    /// <exception cref="TufException">SB5211 when the trusted root cannot be read, SB5200 when it is not root metadata.</exception>
    public TufClient(TufClientOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _fetcher = options.Fetcher ?? new TufFetcher();
        byte[] bytes = ReadLocal("root.json", options.RootMaxLength)
            ?? throw new TufException(TufException.LocalState, $"{Path.Combine(options.MetadataDirectory, "root.json")} does not exist: there is no trusted root to start from.",
                "Put the repository's initial root there (`securebuild tuf init`), out of band, from a source you trust.");
        // The trusted root is trusted as given (TUF 5.2: it came out of band); its signatures are still checked, so a
        // damaged file is caught here rather than at the first update.
        var root = (TufRootMetadata)TufMetadata.Parse(bytes, "root", "trusted root.json");
        root.VerifyThreshold(root.Roles["root"], root.Keys, "root", "itself");
        Root = root;
    }

    /// <summary>The trusted root (after <see cref="Refresh"/>, the newest).</summary>
    public TufRootMetadata Root { get; private set; }

    public TufTimestampMetadata? Timestamp => _timestamp;

    public TufSnapshotMetadata? Snapshot => _snapshot;

    public TufTargetsMetadata? TopLevelTargets => _targets.TryGetValue("targets", out var t) ? t : null;

    private DateTimeOffset Now => _options.Clock();

    /// <summary>Updates root, timestamp, snapshot and top-level targets (TUF 5.3 to 5.6).</summary>
    /// <exception cref="TufException">The refusal, with its code.</exception>
    public void Refresh()
    {
        LoadRoot();
        LoadTimestamp();
        LoadSnapshot();
        LoadTargets("targets", "root");
        _refreshed = true;
    }

    /// <summary>
    /// The target info for <paramref name="targetPath"/>: a preorder depth-first search from the top-level targets
    /// through the roles delegated for the path, where a terminating role ends the search (TUF 5.6.7). Null when no
    /// trusted role lists it.
    /// </summary>
    public TufTargetFile? FindTarget(string targetPath)
    {
        if (!_refreshed)
        {
            Refresh();
        }

        var visited = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<(string Role, string Parent)>();
        stack.Push(("targets", "root"));
        while (stack.Count > 0)
        {
            if (visited.Count >= _options.MaxDelegations)
            {
                throw new TufException(TufException.LimitReached, $"searching for target '{targetPath}' visited {visited.Count} roles, the most allowed.",
                    "The repository's delegations are too deep or cyclic for this client; ask its maintainers to flatten them.");
            }

            var (role, parent) = stack.Pop();
            if (!visited.Add(role))
            {
                continue;
            }

            var targets = LoadTargets(role, parent);
            if (targets.Targets.TryGetValue(targetPath, out var found))
            {
                return found;
            }

            var children = new List<(string, string)>();
            foreach (var child in targets.DelegatedRoles)
            {
                if (!child.IsTrustedFor(targetPath))
                {
                    continue;
                }

                children.Add((child.Name, role));
                if (child.Terminating)
                {
                    stack.Clear();
                    break;
                }
            }

            for (int i = children.Count - 1; i >= 0; i--)
            {
                stack.Push(children[i]);
            }
        }

        return null;
    }

    /// <summary>Fetches a target and checks its length and every hash (TUF 5.7); returns its bytes.</summary>
    /// <exception cref="TufException">SB5206 when the server sends more, SB5209 on a mismatch, SB5207 when it is missing.</exception>
    public byte[] DownloadTarget(TufTargetFile target)
    {
        if (_options.TargetBaseUrl is null)
        {
            throw new TufException(TufException.FetchFailed, $"no target base URL is set, so target '{target.Path}' cannot be fetched.", "Give the targets URL (--target-base-url).");
        }

        string name = target.Path;
        if (Root.ConsistentSnapshot)
        {
            int slash = name.LastIndexOf('/');
            string hash = target.Hashes.TryGetValue("sha256", out var h) ? h : target.Hashes.First().Value;
            name = slash < 0 ? $"{hash}.{name}" : $"{name.Substring(0, slash)}/{hash}.{name.Substring(slash + 1)}";
        }

        string url = Join(_options.TargetBaseUrl, name);
        byte[] bytes = _fetcher.Fetch(url, target.Length)
            ?? throw new TufException(TufException.FetchFailed, $"target '{target.Path}' is not at {url}.", "The repository is incomplete or the target URL is wrong.");
        CheckLengthAndHashes(bytes, target.Length, target.Hashes, $"target '{target.Path}'", TufException.TargetMismatch);
        return bytes;
    }

    /// <summary>
    /// The bytes of <paramref name="path"/> when it is already a correct copy of <paramref name="target"/> (its length
    /// and every hash match, TUF 5.7), so it need not be downloaded again; null when it is missing or differs.
    /// </summary>
    public static byte[]? ReadCachedTarget(TufTargetFile target, string path)
    {
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }

        if (!File.Exists(path) || new FileInfo(path).Length != target.Length)
        {
            return null;
        }

        try
        {
            byte[] bytes = InputFile.ReadAllBytes(path, InputKind.Metadata, limit: target.Length);
            CheckLengthAndHashes(bytes, target.Length, target.Hashes, $"target '{target.Path}'", TufException.TargetMismatch);
            return bytes;
        }
        catch (Exception e) when (e is TufException || e is IOException || e is UnauthorizedAccessException)
        {
            // A damaged or replaced cached copy is not used: the caller downloads the target again.
            return null;
        }
    }

    /// <summary>A target's path as a safe relative file path (no empty, '.' or '..' parts, no backslash).</summary>
    public static string SafeRelativePath(string targetPath)
    {
        var parts = targetPath.Split('/');
        if (targetPath.Length == 0 || targetPath.IndexOf('\\') >= 0 || targetPath.IndexOf('\0') >= 0 || parts.Any(p => p.Length == 0 || p == "." || p == ".."))
        {
            throw new TufException(TufException.TargetMismatch, $"target path '{targetPath}' is not a safe relative path.",
                "Target names must be relative paths without '.', '..' or empty parts; the repository must rename it.");
        }

        return Path.Combine(parts);
    }

    // ---- 5.3: root ----------------------------------------------------------------------------------------------

    private void LoadRoot()
    {
        var initial = Root;
        long upper = Root.Version + _options.MaxRootRotations;
        for (long next = Root.Version + 1; next <= upper; next++)
        {
            byte[]? bytes = _fetcher.Fetch(Join(_options.MetadataBaseUrl, $"{next}.root.json"), _options.RootMaxLength);
            if (bytes is null)
            {
                break;
            }

            UpdateRoot(bytes);
            WriteLocal("root.json", bytes);
        }

        if (Root.IsExpired(Now))
        {
            throw Expired(Root);
        }

        // 5.3.11: new timestamp or snapshot keys make the old timestamp and snapshot worthless as a floor: delete them,
        // which is how a client recovers from a fast-forward attack once the repository has rotated those keys.
        if (!SameRole(initial, Root, "timestamp") || !SameRole(initial, Root, "snapshot"))
        {
            DeleteLocal("timestamp.json");
            DeleteLocal("snapshot.json");
        }
    }

    /// <summary>Accepts root N+1: signed by a threshold of root N's root keys and of its own, version exactly N+1.</summary>
    internal void UpdateRoot(byte[] bytes) => Root = TufRootChain.Next(Root, bytes, $"{Root.Version + 1}.root.json");

    // ---- 5.4: timestamp -----------------------------------------------------------------------------------------

    private void LoadTimestamp()
    {
        byte[]? local = ReadLocal("timestamp.json", _options.TimestampMaxLength);
        bool localTrusted = local is not null && TryLocal(() => UpdateTimestamp(local));
        byte[] bytes = _fetcher.Fetch(Join(_options.MetadataBaseUrl, "timestamp.json"), _options.TimestampMaxLength)
            ?? throw Missing("timestamp.json");
        // Nothing new (the common case): the fetched file is byte for byte the local one, which was just parsed and
        // its signatures and expiry checked against the current root, so checking it again could only repeat the same
        // verdict; it is the same version, which UpdateTimestamp keeps as it is.
        if (localTrusted && bytes.AsSpan().SequenceEqual(local))
        {
            return;
        }

        if (UpdateTimestamp(bytes))
        {
            WriteLocal("timestamp.json", bytes);
        }
    }

    /// <summary>False when it is the version already trusted (kept as it is).</summary>
    internal bool UpdateTimestamp(byte[] bytes)
    {
        var next = (TufTimestampMetadata)TufMetadata.Parse(bytes, "timestamp", "timestamp.json");
        next.VerifyThreshold(Root.Roles["timestamp"], Root.Keys, "timestamp", $"root version {Root.Version}");
        if (_timestamp is not null)
        {
            if (next.Version < _timestamp.Version)
            {
                throw Rollback("timestamp", next.Version, _timestamp.Version);
            }

            if (next.Version == _timestamp.Version)
            {
                return false;
            }

            if (next.SnapshotMeta.Version < _timestamp.SnapshotMeta.Version)
            {
                throw Rollback("snapshot (as the new timestamp lists it)", next.SnapshotMeta.Version, _timestamp.SnapshotMeta.Version);
            }
        }

        // Kept even when expired: its versions still guard against rollback; the expiry stops the update below.
        _timestamp = next;
        _snapshot = null;
        _targets.Clear();
        if (next.IsExpired(Now))
        {
            throw Expired(next);
        }

        return true;
    }

    // ---- 5.5: snapshot ------------------------------------------------------------------------------------------

    private void LoadSnapshot()
    {
        if (ReadLocal("snapshot.json", _options.SnapshotMaxLength) is { } local && TryLocal(() => UpdateSnapshot(local, fromCache: true)))
        {
            return;
        }

        var meta = _timestamp!.SnapshotMeta;
        string name = Root.ConsistentSnapshot ? $"{meta.Version}.snapshot.json" : "snapshot.json";
        byte[] bytes = _fetcher.Fetch(Join(_options.MetadataBaseUrl, name), meta.Length ?? _options.SnapshotMaxLength)
            ?? throw Missing(name);
        UpdateSnapshot(bytes, fromCache: false);
        WriteLocal("snapshot.json", bytes);
    }

    internal void UpdateSnapshot(byte[] bytes, bool fromCache)
    {
        var timestamp = _timestamp ?? throw new InvalidOperationException("snapshot before timestamp");
        if (timestamp.IsExpired(Now))
        {
            throw Expired(timestamp);
        }

        var meta = timestamp.SnapshotMeta;
        if (!fromCache)
        {
            CheckLengthAndHashes(bytes, meta.Length, meta.Hashes, "snapshot.json", TufException.MixAndMatch);
        }

        var next = (TufSnapshotMetadata)TufMetadata.Parse(bytes, "snapshot", "snapshot.json");
        next.VerifyThreshold(Root.Roles["snapshot"], Root.Keys, "snapshot", $"root version {Root.Version}");
        if (_snapshot is not null)
        {
            foreach (var entry in _snapshot.Meta)
            {
                string file = entry.Key;
                var old = entry.Value;
                if (!next.Meta.TryGetValue(file, out var now))
                {
                    throw new TufException(TufException.Rollback, $"snapshot version {next.Version} no longer lists {file}, which trusted snapshot version {_snapshot.Version} lists at version {old.Version}.",
                        "Metadata may not disappear from a repository (a rollback attack, or a broken repository); nothing from this update was used.");
                }

                if (now.Version < old.Version)
                {
                    throw Rollback(file, now.Version, old.Version);
                }
            }
        }

        // Kept before the final checks: an old snapshot from the cache is the floor the new one must not go below.
        _snapshot = next;
        _targets.Clear();
        CheckFinalSnapshot();
    }

    private void CheckFinalSnapshot()
    {
        var snapshot = _snapshot!;
        if (snapshot.IsExpired(Now))
        {
            throw Expired(snapshot);
        }

        if (snapshot.Version != _timestamp!.SnapshotMeta.Version)
        {
            throw new TufException(TufException.MixAndMatch, $"snapshot metadata is version {snapshot.Version}, but timestamp version {_timestamp.Version} lists snapshot version {_timestamp.SnapshotMeta.Version}.",
                "The repository serves metadata from different moments (a mix-and-match attack, or a mirror caught mid-update): try again later.");
        }
    }

    // ---- 5.6: targets and delegated targets ---------------------------------------------------------------------

    private TufTargetsMetadata LoadTargets(string role, string parent)
    {
        if (_targets.TryGetValue(role, out var loaded))
        {
            return loaded;
        }

        string file = LocalName(role);
        if (ReadLocal(file, _options.TargetsMaxLength) is { } local && TryLocal(() => UpdateTargets(local, role, parent)))
        {
            return _targets[role];
        }

        var meta = MetaOf(role)
            ?? throw NotInSnapshot(role);
        string name = Root.ConsistentSnapshot ? $"{meta.Version}.{Uri.EscapeDataString(role)}.json" : $"{Uri.EscapeDataString(role)}.json";
        byte[] bytes = _fetcher.Fetch(Join(_options.MetadataBaseUrl, name), meta.Length ?? _options.TargetsMaxLength)
            ?? throw Missing(name);
        UpdateTargets(bytes, role, parent);
        WriteLocal(file, bytes);
        return _targets[role];
    }

    internal void UpdateTargets(byte[] bytes, string role, string parent)
    {
        if (_snapshot is null)
        {
            throw new InvalidOperationException("targets before snapshot");
        }

        CheckFinalSnapshot();
        TufRole keys;
        IReadOnlyDictionary<string, TufKey> keyMap;
        string signer;
        if (parent == "root")
        {
            keys = Root.Roles["targets"];
            keyMap = Root.Keys;
            signer = $"root version {Root.Version}";
        }
        else
        {
            var delegator = _targets[parent];
            keys = delegator.DelegatedRoles.First(r => r.Name == role);
            keyMap = delegator.DelegationKeys;
            signer = $"the delegation in '{parent}'";
        }

        var meta = MetaOf(role) ?? throw NotInSnapshot(role);
        CheckLengthAndHashes(bytes, meta.Length, meta.Hashes, role + ".json", TufException.MixAndMatch);
        var next = (TufTargetsMetadata)TufMetadata.Parse(bytes, "targets", role + ".json");
        next.VerifyThreshold(keys, keyMap, role, signer);
        if (next.Version != meta.Version)
        {
            throw new TufException(next.Version < meta.Version ? TufException.Rollback : TufException.MixAndMatch,
                $"{role} metadata is version {next.Version}, but snapshot version {_snapshot.Version} lists version {meta.Version}.",
                "The repository serves metadata from different moments (a rollback or mix-and-match attack, or a mirror caught mid-update): try again later.");
        }

        if (next.IsExpired(Now))
        {
            throw Expired(next, role);
        }

        _targets[role] = next;
    }

    // ---- shared checks ------------------------------------------------------------------------------------------

    internal static void CheckLengthAndHashes(byte[] bytes, long? length, IReadOnlyDictionary<string, string> hashes, string what, string code)
    {
        if (length is long expected && bytes.Length != expected)
        {
            throw new TufException(code, $"{what} is {bytes.Length} bytes long where the trusted metadata says {expected}.",
                code == TufException.TargetMismatch
                    ? "The file was altered or replaced (an arbitrary-software attack, or a broken mirror); do not use it."
                    : "The repository serves metadata other than the one its signed metadata lists (mix-and-match): try again later.");
        }

        foreach (var kv in hashes)
        {
            string algorithm = kv.Key;
            string hex = kv.Value;
            byte[] digest = algorithm switch
            {
                "sha256" => Digest(SHA256.Create(), bytes),
                "sha384" => Digest(SHA384.Create(), bytes),
                "sha512" => Digest(SHA512.Create(), bytes),
                _ => throw new TufException(code, $"{what} is listed with hash algorithm '{algorithm}', which this client does not support (sha256, sha384, sha512).",
                    "Ask the repository to list a sha256 or sha512 hash."),
            };
            if (!string.Equals(Hex.Encode(digest), hex, StringComparison.Ordinal))
            {
                throw new TufException(code, $"the {algorithm} of {what} is {Hex.Encode(digest)} where the trusted metadata says {hex}.",
                    code == TufException.TargetMismatch
                        ? "The file was altered or replaced (an arbitrary-software attack, or a broken mirror); do not use it."
                        : "The repository serves metadata other than the one its signed metadata lists (mix-and-match): try again later.");
            }
        }
    }

    private static byte[] Digest(HashAlgorithm algorithm, byte[] bytes)
    {
        using (algorithm)
        {
            return algorithm.ComputeHash(bytes);
        }
    }

    private static bool SameRole(TufRootMetadata a, TufRootMetadata b, string role)
    {
        var ra = a.Roles[role];
        var rb = b.Roles[role];
        return ra.Threshold == rb.Threshold && ra.KeyIds.OrderBy(k => k, StringComparer.Ordinal).SequenceEqual(rb.KeyIds.OrderBy(k => k, StringComparer.Ordinal));
    }

    private TufMetaFile? MetaOf(string role) => _snapshot!.Meta.TryGetValue(role + ".json", out var meta) ? meta : null;

    private static bool TryLocal(Action load)
    {
        try
        {
            load();
            return true;
        }
        catch (TufException)
        {
            // Local metadata that no longer verifies (new keys after a rotation), or has expired, is not trusted.
            return false;
        }
    }

    private static string LocalName(string role) => role == "targets" ? "targets.json" : Uri.EscapeDataString(role) + ".json";

    private byte[]? ReadLocal(string name, long limit)
    {
        string path = Path.Combine(_options.MetadataDirectory, name);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return InputFile.ReadAllBytes(path, InputKind.Metadata, limit: limit);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new TufException(TufException.LocalState, $"the trusted metadata {path} cannot be read: {e.Message}", "Check the metadata directory; delete a damaged file other than root.json and update again.");
        }
    }

    private void WriteLocal(string name, byte[] bytes)
    {
        try
        {
            Directory.CreateDirectory(_options.MetadataDirectory);
            AtomicFile.WriteAllBytes(Path.Combine(_options.MetadataDirectory, name), bytes);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new TufException(TufException.LocalState, $"the trusted metadata cannot be written to {_options.MetadataDirectory}: {e.Message}", "Make the metadata directory writable.");
        }
    }

    private void DeleteLocal(string name)
    {
        try
        {
            File.Delete(Path.Combine(_options.MetadataDirectory, name));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new TufException(TufException.LocalState, $"{name} in {_options.MetadataDirectory} cannot be deleted after a key rotation: {e.Message}", "Make the metadata directory writable.");
        }
    }

    internal static string Join(string baseUrl, string name) => baseUrl.TrimEnd('/') + "/" + name;

    private TufException Expired(TufMetadata metadata, string? role = null) =>
        new(TufException.Expired, $"{role ?? metadata.Type} metadata version {metadata.Version} expired at {metadata.Expires:yyyy-MM-dd'T'HH:mm:ss'Z'} (verification time {Now:yyyy-MM-dd'T'HH:mm:ss'Z'}).",
            "Expired metadata is refused (a freeze attack, or a repository nobody re-signed): the repository must publish fresh metadata; to audit old metadata, give the time it was valid at (--reference-time).");

    private static TufException Rollback(string what, long version, long trusted) =>
        new(TufException.Rollback, $"{what} version {version} is older than the trusted version {trusted}.",
            "A repository never goes back to an older version (a rollback attack, or a stale mirror); nothing from this update was used.");

    private static TufException Missing(string name) =>
        new(TufException.FetchFailed, $"the repository has no {name}.", "Check the metadata URL: it must point at the directory that holds timestamp.json.");

    private TufException NotInSnapshot(string role) =>
        new(TufException.MixAndMatch, $"snapshot version {_snapshot!.Version} does not list {role}.json.", "The repository's snapshot is incomplete: ask its maintainers to publish again.");
}
