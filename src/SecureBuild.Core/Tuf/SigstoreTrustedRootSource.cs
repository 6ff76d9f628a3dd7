using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tuf;

/// <summary>What <see cref="SigstoreTrustedRootSource.Update"/> did.</summary>
public sealed record SigstoreTrustUpdate(long RootVersion, long TimestampVersion, string TrustedRootPath, string? SigningConfigPath, DateTimeOffset TimestampExpires);

/// <summary>
/// Sigstore's trusted root (trusted_root.json: Fulcio CAs, Rekor and CT logs, timestamp authorities) and signing
/// config, fetched through TUF from the public-good repository (or any repository laid out like it) into a local
/// cache: <c>CACHE/metadata/</c> holds the trusted TUF metadata, <c>CACHE/targets/</c> the verified targets.
/// <see cref="LoadCachedTrustedRoot"/> gives verifiers the cached file after checking it again against the cached,
/// signed targets metadata, so a file edited in the cache is refused.
/// </summary>
public static class SigstoreTrustedRootSource
{
    public const string PublicGoodMetadataUrl = "https://tuf-repo-cdn.sigstore.dev";

    public const string TrustedRootTarget = "trusted_root.json";

    /// <summary>The signing config versions looked for, newest first (sigstore-go and sigstore-js use v0.2).</summary>
    public static readonly IReadOnlyList<string> SigningConfigTargets = new[] { "signing_config.v0.2.json", "signing_config.json" };

    /// <summary>The embedded initial root of the public-good instance (root version 15).</summary>
    public static byte[] EmbeddedPublicGoodRoot()
    {
        using var stream = typeof(SigstoreTrustedRootSource).Assembly.GetManifestResourceStream("SecureBuild.Core.Tuf.sigstore-public-good-root.json")
            ?? throw new InvalidOperationException("the embedded Sigstore root is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// The default cache for a repository URL: <c>$SECUREBUILD_TUF_CACHE</c>, else <c>securebuild/tuf</c> in the user cache (<see cref="UserCache.Root"/>:
    /// <c>$XDG_CACHE_HOME</c>, else <c>~/.cache</c>), then one folder per repository host and path.
    /// </summary>
    public static string DefaultCacheDirectory(string metadataUrl)
    {
        string? baseDir = Environment.GetEnvironmentVariable("SECUREBUILD_TUF_CACHE");
        if (string.IsNullOrEmpty(baseDir))
        {
            string cache = UserCache.Root(Environment.GetEnvironmentVariable) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            baseDir = Path.Combine(cache, "securebuild", "tuf");
        }

        string name = metadataUrl.Replace("https://", "").Replace("http://", "").Replace("file://", "").TrimEnd('/');
        var safe = new string(name.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' ? c : '_').ToArray()).Trim('_');
        return Path.Combine(baseDir!, safe.Length == 0 ? "repository" : safe);
    }

    /// <summary>
    /// Refreshes the TUF metadata in <paramref name="cacheDirectory"/> (starting from <paramref name="initialRoot"/> when
    /// the cache has no root yet; a cached root is never replaced by it, as that would roll the root back) and downloads trusted_root.json and the signing config.
    /// </summary>
    /// <exception cref="TufException">Any refusal.</exception>
    public static SigstoreTrustUpdate Update(string metadataUrl, string? targetBaseUrl, string cacheDirectory, byte[]? initialRoot, Func<DateTimeOffset>? clock = null, ITufFetcher? fetcher = null)
    {
        string metadataDir = Path.Combine(cacheDirectory, "metadata");
        string targetsDir = Path.Combine(cacheDirectory, "targets");
        if (!File.Exists(Path.Combine(metadataDir, "root.json")))
        {
            if (initialRoot is null)
            {
                throw new TufException(TufException.LocalState, $"{cacheDirectory} has no trusted root and none was given.", "Give the repository's initial root.json (--root).");
            }

            Directory.CreateDirectory(metadataDir);
            AtomicFile.WriteAllBytes(Path.Combine(metadataDir, "root.json"), initialRoot);
        }

        var client = new TufClient(new TufClientOptions
        {
            MetadataBaseUrl = metadataUrl,
            TargetBaseUrl = targetBaseUrl ?? TufClient.Join(metadataUrl, "targets"),
            MetadataDirectory = metadataDir,
            Clock = clock ?? (() => DateTimeOffset.UtcNow),
            Fetcher = fetcher,
        });
        client.Refresh();
        var trustedRoot = client.FindTarget(TrustedRootTarget)
            ?? throw new TufException(TufException.TargetNotFound, $"the repository at {metadataUrl} has no target '{TrustedRootTarget}'.", "Point --metadata-url at a Sigstore TUF repository.");
        Directory.CreateDirectory(targetsDir);
        string trustedRootPath = Path.Combine(targetsDir, TrustedRootTarget);
        KeepOrDownload(client, trustedRoot, trustedRootPath);
        string? signingConfigPath = null;
        foreach (string name in SigningConfigTargets)
        {
            if (client.FindTarget(name) is { } config)
            {
                signingConfigPath = Path.Combine(targetsDir, name);
                KeepOrDownload(client, config, signingConfigPath);
                break;
            }
        }

        return new SigstoreTrustUpdate(client.Root.Version, client.Timestamp!.Version, trustedRootPath, signingConfigPath, client.Timestamp.Expires);
    }

    /// <summary>The cached copy when it already matches the target's length and hashes (nothing new), else a download.</summary>
    private static void KeepOrDownload(TufClient client, TufTargetFile target, string path)
    {
        if (TufClient.ReadCachedTarget(target, path) is null)
        {
            AtomicFile.WriteAllBytes(path, client.DownloadTarget(target));
        }
    }

    /// <summary>
    /// The cached trusted_root.json, checked offline: the cached targets metadata is signed by the cached root's targets
    /// role, lists trusted_root.json with the cached file's length and hashes, and the cached timestamp has not expired
    /// at <paramref name="now"/> (a stale cache is refused: run `securebuild trust update`).
    /// </summary>
    /// <exception cref="TufException">SB5211 no cache, SB5204 stale, SB5201/SB5209 a cache that does not verify.</exception>
    public static byte[] LoadCachedTrustedRoot(string cacheDirectory, DateTimeOffset now)
    {
        string metadataDir = Path.Combine(cacheDirectory, "metadata");
        string path = Path.Combine(cacheDirectory, "targets", TrustedRootTarget);
        if (!File.Exists(path) || !File.Exists(Path.Combine(metadataDir, "targets.json")) || !File.Exists(Path.Combine(metadataDir, "timestamp.json")))
        {
            throw new TufException(TufException.LocalState, $"no TUF-verified trusted root is cached in {cacheDirectory}.", "Run `securebuild trust update` (with the same --cache-dir / --metadata-url) first.");
        }

        var root = (TufRootMetadata)TufMetadata.Parse(Read(Path.Combine(metadataDir, "root.json")), "root", "cached root.json");
        root.VerifyThreshold(root.Roles["root"], root.Keys, "root", "itself");
        var timestamp = TufMetadata.Parse(Read(Path.Combine(metadataDir, "timestamp.json")), "timestamp", "cached timestamp.json");
        timestamp.VerifyThreshold(root.Roles["timestamp"], root.Keys, "timestamp", $"root version {root.Version}");
        if (timestamp.IsExpired(now) || root.IsExpired(now))
        {
            var which = root.IsExpired(now) ? (TufMetadata)root : timestamp;
            throw new TufException(TufException.Expired, $"the cached TUF {which.Type} metadata (version {which.Version}) expired at {TufRepository.Time(which.Expires)}: the cached trusted root is stale.",
                "Run `securebuild trust update` to fetch the current one.");
        }

        var targets = (TufTargetsMetadata)TufMetadata.Parse(Read(Path.Combine(metadataDir, "targets.json")), "targets", "cached targets.json");
        targets.VerifyThreshold(root.Roles["targets"], root.Keys, "targets", $"root version {root.Version}");
        if (!targets.Targets.TryGetValue(TrustedRootTarget, out var info))
        {
            throw new TufException(TufException.TargetNotFound, $"the cached targets metadata does not list {TrustedRootTarget}.", "Run `securebuild trust update` against a Sigstore TUF repository.");
        }

        byte[] bytes = InputFile.ReadAllBytes(path, InputKind.TrustedRoot);
        TufClient.CheckLengthAndHashes(bytes, info.Length, info.Hashes, "the cached " + TrustedRootTarget, TufException.TargetMismatch);
        return bytes;
    }

    private static byte[] Read(string path)
    {
        try
        {
            return InputFile.ReadAllBytes(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new TufException(TufException.LocalState, $"{path} cannot be read: {e.Message}", "Run `securebuild trust update` again.");
        }
    }
}
