using Microsoft.Build.Framework;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Tasks;

/// <summary>
/// Verifies the project's links against an in-toto layout (SecureBuildLayout, signed by
/// SecureBuildLayoutKeys) and fails the build with SB1100 naming the step, rule and artifacts
/// that broke the policy.
/// </summary>
public sealed class VerifyLayout : CodedTask
{
    [Required]
    public string Layout { get; set; } = "";

    /// <summary>Public keys of the layout's owners; every one must have signed the layout.</summary>
    public string[] LayoutKeys { get; set; } = Array.Empty<string>();

    [Required]
    public string LinkDirectory { get; set; } = "";

    /// <summary>Where inspections run: the root directory (empty: found from the project directory, as for recording).</summary>
    public string? RootDirectory { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = "";

    public int InspectionTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The organisation's TUF repository (SecureBuildTrustRepository): when set, <see cref="Layout"/> and
    /// <see cref="LayoutKeys"/> are its target names, fetched and verified through TUF, never read from disk.
    /// </summary>
    public string? TrustRepository { get; set; }

    /// <summary>The repository's root.json for the first use (SecureBuildTrustRoot), obtained out of band.</summary>
    public string? TrustRoot { get; set; }

    /// <summary>The trusted-metadata cache (SecureBuildTrustCache); empty: one folder per repository under the user cache.</summary>
    public string? TrustCache { get; set; }

    protected override bool ExecuteTask()
    {
        LayoutKeys = LayoutKeys.Where(k => !string.IsNullOrWhiteSpace(k)).ToArray();
        if (!string.IsNullOrWhiteSpace(TrustRepository))
        {
            return VerifyFromTrustRepository();
        }

        if (!File.Exists(Layout))
        {
            Log.LogError(null, "SB1101", null, null, 0, 0, 0, 0,
                $"SecureBuildLayout: the layout '{Layout}' does not exist. Create one with `securebuild layout new` or correct the path.");
            return false;
        }
        if (LayoutKeys.Length == 0)
        {
            Log.LogError(null, "SB1102", null, null, 0, 0, 0, 0,
                "SecureBuildLayout is set but SecureBuildLayoutKeys is empty: name the public key(s) of the layout's owner(s); a layout is only trusted when its owners' signatures verify.");
            return false;
        }
        var keys = new List<PublicKey>();
        foreach (var path in LayoutKeys)
        {
            try
            {
                keys.Add(PublicKey.Load(Path.GetFullPath(Path.Combine(ProjectDirectory, path.Trim()))));
            }
            catch (KeyFormatException e)
            {
                Log.LogError(null, e.Code, null, null, 0, 0, 0, 0, $"SecureBuildLayoutKeys: {e.Message} {e.Fix}");
                return false;
            }
        }
        return Report(Verifier().Verify(Layout, keys), Path.GetFileName(Layout));
    }

    /// <summary>The layout and its keys as targets of the trust repository: refreshed once, each target's length and hashes checked.</summary>
    private bool VerifyFromTrustRepository()
    {
        if (LayoutKeys.Length == 0)
        {
            Log.LogError(null, "SB1102", null, null, 0, 0, 0, 0,
                "SecureBuildLayout is set but SecureBuildLayoutKeys is empty: name the public key(s) of the layout's owner(s) (target names of SecureBuildTrustRepository); a layout is only trusted when its owners' signatures verify.");
            return false;
        }

        string repository = TrustRepository!.Trim();
        string? root = string.IsNullOrWhiteSpace(TrustRoot) ? null : Path.GetFullPath(Path.Combine(ProjectDirectory, TrustRoot!.Trim()));
        string? cache = string.IsNullOrWhiteSpace(TrustCache) ? null : Path.GetFullPath(Path.Combine(ProjectDirectory, TrustCache!.Trim()));
        string what = $"SecureBuildLayout '{Layout}'";
        try
        {
            using var fetcher = new TufFetcher();
            var client = TrustRepositoryTarget.Open(repository, null, root, cache, () => DateTimeOffset.UtcNow, fetcher);
            var keys = new List<PublicKey>();
            foreach (var name in LayoutKeys.Select(k => k.Trim()))
            {
                what = $"SecureBuildLayoutKeys '{name}'";
                var bytes = TrustRepositoryTarget.Fetch(client, name);
                keys.Add(PublicKey.Parse(System.Text.Encoding.UTF8.GetString(bytes), $"{name} (from {repository})"));
            }

            what = $"SecureBuildLayout '{Layout}'";
            var layout = TrustRepositoryTarget.Fetch(client, Layout);
            return Report(Verifier().Verify(layout, Layout, keys), Layout);
        }
        catch (TufException e)
        {
            Log.LogError(null, e.Code, null, null, 0, 0, 0, 0,
                $"{what} through the trust repository {repository} (SecureBuildTrustRepository): {e.Reason} {e.Fix} Nothing from it was used.");
            return false;
        }
        catch (KeyFormatException e)
        {
            Log.LogError(null, e.Code, null, null, 0, 0, 0, 0, $"{what} from the trust repository {repository}: {e.Message} {e.Fix}");
            return false;
        }
    }

    private LayoutVerifier Verifier() => new(new LayoutVerifierOptions
    {
        LinkDirectory = LinkDirectory,
        WorkingDirectory = string.IsNullOrWhiteSpace(RootDirectory) ? Core.Recording.RepositoryRoot.Find(ProjectDirectory) : RootDirectory!,
        InspectionTimeout = TimeSpan.FromSeconds(InspectionTimeoutSeconds),
        PersistInspectionLinks = false,
    });

    private bool Report(VerificationResult result, string layoutName)
    {
        foreach (var warning in result.Warnings)
        {
            Log.LogWarning(null, "SB2100", null, null, 0, 0, 0, 0, $"in-toto layout: {warning.Message}");
        }
        foreach (var dropped in result.DroppedLinks)
        {
            Log.LogMessage(MessageImportance.Normal, $"SecureBuild: link not counted: {dropped.Message}");
        }
        if (result.Passed)
        {
            Log.LogMessage(MessageImportance.High, $"SecureBuild: links in {LinkDirectory} verified against {layoutName} ({result.StepCount} steps, {result.LinkCount} links).");
            return true;
        }
        foreach (var failure in result.Failures)
        {
            var where = string.Join(", ", new[]
            {
                failure.Step is null ? null : $"step '{failure.Step}'" + (failure.Side is null ? "" : $" ({failure.Side})"),
                failure.RuleText is null ? null : $"rule '{failure.RuleText}'",
                failure.Artifacts.Count == 0 ? null : "artifacts: " + string.Join(", ", failure.Artifacts.Take(10)) + (failure.Artifacts.Count > 10 ? $" and {failure.Artifacts.Count - 10} more" : ""),
                failure.KeyId is null ? null : $"key {failure.KeyId}",
            }.Where(p => p is not null));
            Log.LogError(null, "SB1100", null, null, 0, 0, 0, 0,
                $"in-toto layout verification failed: {failure.Kind}: {failure.Message}" + (where.Length > 0 ? $" [{where}]" : "") +
                " The build's links do not satisfy the policy: find what changed the named artifacts, or update and re-sign the layout if the change is intended.");
        }
        return false;
    }
}
