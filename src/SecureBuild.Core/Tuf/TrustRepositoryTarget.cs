using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tuf;

/// <summary>
/// Policy files (layouts, keys, trace and image policies) fetched through an organisation's TUF repository
/// (`securebuild trust get --trust-repo`, and verifiers given <c>--trust-repo</c>): never from an unauthenticated
/// location. The first use needs the repository's root, obtained out of band; after that the cache's root is the anchor.
/// </summary>
public static class TrustRepositoryTarget
{
    /// <summary>The repository's targets URL when none is given: the sibling "targets" of a ".../metadata" URL (the layout `trust publish` writes), else METADATA/targets.</summary>
    public static string DefaultTargetsUrl(string metadataUrl)
    {
        string trimmed = metadataUrl.TrimEnd('/', '\\');
        return trimmed.EndsWith("metadata", StringComparison.Ordinal)
            ? trimmed.Substring(0, trimmed.Length - "metadata".Length) + "targets"
            : trimmed + "/targets";
    }

    /// <summary>A refreshed client for the repository (its trusted metadata cached in <paramref name="cacheDirectory"/>).</summary>
    /// <exception cref="TufException">Any refusal; SB5211 when there is no root to start from.</exception>
    public static TufClient Open(string metadataUrl, string? targetsUrl, string? initialRootPath, string? cacheDirectory, Func<DateTimeOffset> clock, ITufFetcher fetcher)
    {
        string cache = cacheDirectory ?? SigstoreTrustedRootSource.DefaultCacheDirectory(metadataUrl);
        string metadataDir = Path.Combine(cache, "metadata");
        if (!File.Exists(Path.Combine(metadataDir, "root.json")))
        {
            if (initialRootPath is null)
            {
                throw new TufException(TufException.LocalState, $"no trusted root for {metadataUrl} is cached in {cache}.",
                    "Give the repository's root.json, obtained out of band from its owners (--root / --trust-root), for the first use.");
            }

            byte[] initial = InputFile.ReadAllBytes(initialRootPath, InputKind.Metadata);
            Directory.CreateDirectory(metadataDir);
            AtomicFile.WriteAllBytes(Path.Combine(metadataDir, "root.json"), initial);
        }

        var client = new TufClient(new TufClientOptions
        {
            MetadataBaseUrl = metadataUrl,
            TargetBaseUrl = targetsUrl ?? DefaultTargetsUrl(metadataUrl),
            MetadataDirectory = metadataDir,
            Clock = clock,
            Fetcher = fetcher,
        });
        client.Refresh();
        return client;
    }

    /// <summary>One target through a refreshed client: found by the delegation search, length and hashes checked.</summary>
    public static byte[] Fetch(TufClient client, string target)
    {
        var info = client.FindTarget(target)
            ?? throw new TufException(TufException.TargetNotFound, $"no role of the trust repository trusted for '{target}' lists it.",
                "Check the target name (`securebuild trust add --name`) and that the repository was published.");
        return client.DownloadTarget(info);
    }

    /// <exception cref="TufException">Any refusal; SB5211 when there is no root to start from.</exception>
    public static byte[] Fetch(string metadataUrl, string? targetsUrl, string? initialRootPath, string? cacheDirectory, string target, Func<DateTimeOffset> clock)
    {
        using var fetcher = new TufFetcher();
        return Fetch(Open(metadataUrl, targetsUrl, initialRootPath, cacheDirectory, clock, fetcher), target);
    }
}
