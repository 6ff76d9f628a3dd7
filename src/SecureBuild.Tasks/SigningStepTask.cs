using Microsoft.Build.Framework;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// A task that signs what it writes into the attestation directory (a step's link and provenance, a test-result
/// attestation): the signing parameters and the directory, each filled from the project's settings item
/// (<see cref="SecureBuildTask.Settings"/>) when the task was not given it itself.
/// </summary>
public abstract class SigningStepTask : SecureBuildTask
{
    /// <summary>Private key file (SecureBuildSigningKey). Empty: the development key.</summary>
    public string? SigningKey { get; set; }

    /// <summary>Where the development key lives; empty: ~/.securebuild/development-key.</summary>
    public string? DevelopmentKeyFile { get; set; }

    /// <summary>When true, a missing SigningKey is an error instead of a development-key warning.</summary>
    public bool RequireSigningKey { get; set; }

    /// <summary>The directory the attestations are written to (else from <see cref="SecureBuildTask.Settings"/>).</summary>
    public string LinkDirectory { get; set; } = "";

    /// <summary>
    /// Keyless and SPIFFE signing settings (ItemSpec Signing, FulcioUrl, RekorUrl, TimestampUrl, TrustedRoot,
    /// TransparencyLog, IdentityTokenFile, SvidFile, SvidKeyFile, SvidBundleFile, SpiffeEndpoint; metadata Value).
    /// </summary>
    public ITaskItem[] SigningSettings { get; set; } = Array.Empty<ITaskItem>();

    protected override void ApplySettings(RecordingSettings settings)
    {
        base.ApplySettings(settings);
        LinkDirectory = SettingsItem.Or(LinkDirectory, settings.LinkDirectory) ?? "";
        SigningKey = SettingsItem.Or(SigningKey, settings.SigningKey);
        DevelopmentKeyFile = SettingsItem.Or(DevelopmentKeyFile, settings.DevelopmentKeyFile);
        RequireSigningKey |= settings.RequireSigningKey;
        if (SigningSettings.Length == 0)
        {
            SigningSettings = SettingsItem.SigningItems(settings);
        }
    }

    /// <summary>SB1600 when no link directory came, on its own or in the settings item.</summary>
    protected void RequireLinkDirectory() => LinkDirectory = SettingsItem.Required(LinkDirectory, GetType().Name, nameof(LinkDirectory));
}
