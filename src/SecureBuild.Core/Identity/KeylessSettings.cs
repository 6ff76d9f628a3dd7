using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Identity;

/// <summary>What to do when the transparency log cannot take an entry.</summary>
public enum TransparencyLogMode
{
    /// <summary>The upload must succeed, else the signing fails (SB5020/SB5021): the default.</summary>
    Required,

    /// <summary>An upload failure is warning SB5022 and the bundle is written without a log entry (never with a claimed one).</summary>
    Optional,
}

/// <summary>Where keyless signing gets certificates, log entries and timestamps, and what it checks its result against.</summary>
public sealed class KeylessSettings
{
    /// <summary>Sigstore's public-good Fulcio.</summary>
    public const string PublicGoodFulcio = "https://fulcio.sigstore.dev";

    /// <summary>Sigstore's public-good Rekor (v1 API).</summary>
    public const string PublicGoodRekor = "https://rekor.sigstore.dev";

    public KeylessSettings(Uri fulcioUrl, Uri rekorUrl, Uri? timestampUrl = null, TransparencyLogMode transparencyLog = TransparencyLogMode.Required, SigstoreTrustedRoot? trustedRoot = null)
    {
        FulcioUrl = fulcioUrl ?? throw new ArgumentNullException(nameof(fulcioUrl));
        RekorUrl = rekorUrl ?? throw new ArgumentNullException(nameof(rekorUrl));
        TimestampUrl = timestampUrl;
        TransparencyLog = transparencyLog;
        TrustedRoot = trustedRoot;
    }

    public Uri FulcioUrl { get; }

    public Uri RekorUrl { get; }

    /// <summary>The TSA's timestamp endpoint, or null for no RFC 3161 timestamp.</summary>
    public Uri? TimestampUrl { get; }

    public TransparencyLogMode TransparencyLog { get; }

    /// <summary>When set, every bundle is verified against it before it is written (SB5040 when it does not verify).</summary>
    public SigstoreTrustedRoot? TrustedRoot { get; }

    /// <summary>Deadline of each HTTP request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rekor upload attempts.</summary>
    public int RekorAttempts { get; set; } = 4;

    /// <summary>
    /// Reads the settings as MSBuild properties or CLI options give them (empty = default).
    /// </summary>
    /// <exception cref="KeylessException">SB5050 (a bad URL or mode), SB5041 (an unusable trusted root).</exception>
    public static KeylessSettings From(string? fulcioUrl, string? rekorUrl, string? timestampUrl, string? transparencyLog, string? trustedRootPath)
    {
        var fulcio = ServiceUrl.Parse(Blank(fulcioUrl) ? PublicGoodFulcio : fulcioUrl!, "SecureBuildFulcioUrl");
        var rekor = ServiceUrl.Parse(Blank(rekorUrl) ? PublicGoodRekor : rekorUrl!, "SecureBuildRekorUrl");
        var tsa = Blank(timestampUrl) ? null : ServiceUrl.Parse(timestampUrl!, "SecureBuildTimestampUrl");
        TransparencyLogMode mode = (transparencyLog ?? string.Empty).Trim().ToLowerInvariant() switch
        {
            "" or "required" => TransparencyLogMode.Required,
            "optional" => TransparencyLogMode.Optional,
            _ => throw new KeylessException(KeylessException.BadSetting, $"SecureBuildTransparencyLog '{transparencyLog}' is not 'required' or 'optional'", "Set SecureBuildTransparencyLog to required (the default) or optional."),
        };
        SigstoreTrustedRoot? root = null;
        if (!Blank(trustedRootPath))
        {
            try
            {
                root = SigstoreTrustedRoot.Load(trustedRootPath!);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is SigstoreFormatException)
            {
                throw new KeylessException(KeylessException.TrustedRootUnusable, $"SecureBuildTrustedRoot {trustedRootPath} cannot be used: {e.Message}", "Name the trusted_root.json of the Sigstore instance you sign with (for a private instance, its own), or leave SecureBuildTrustedRoot empty.", e);
            }
        }

        return new KeylessSettings(fulcio, rekor, tsa, mode, root);
    }

    private static bool Blank(string? s) => string.IsNullOrWhiteSpace(s);
}
