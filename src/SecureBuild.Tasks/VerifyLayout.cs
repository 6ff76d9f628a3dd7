using Microsoft.Build.Framework;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;

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

    protected override bool ExecuteTask()
    {
        LayoutKeys = LayoutKeys.Where(k => !string.IsNullOrWhiteSpace(k)).ToArray();
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
        var verifier = new LayoutVerifier(new LayoutVerifierOptions
        {
            LinkDirectory = LinkDirectory,
            WorkingDirectory = string.IsNullOrWhiteSpace(RootDirectory) ? Core.Recording.RepositoryRoot.Find(ProjectDirectory) : RootDirectory!,
            InspectionTimeout = TimeSpan.FromSeconds(InspectionTimeoutSeconds),
            PersistInspectionLinks = false,
        });
        var result = verifier.Verify(Layout, keys);
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
            Log.LogMessage(MessageImportance.High, $"SecureBuild: links in {LinkDirectory} verified against {Path.GetFileName(Layout)} ({result.StepCount} steps, {result.LinkCount} links).");
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
