using Microsoft.Build.Framework;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Tasks;

/// <summary>
/// SecureBuildInspect: after pack, inspects each package against the build's own links (Core's
/// <see cref="PackageInspector"/>, as `securebuild inspect` does), writes the JSON report beside the package
/// (<c>&lt;name&gt;.inspect.json</c>) and, with a signing key, the signed inspection attestation
/// (<c>&lt;name&gt;.inspect.intoto.jsonl</c>). A finding the policy fails is an error with its SB code (a warning with
/// WarnOnly); an input that cannot be read (links, policy) is an error in either mode.
/// </summary>
public sealed class InspectPackage : CodedTask
{
    /// <summary>The packages pack wrote (other items, such as the nuspec or a .snupkg, are ignored).</summary>
    public ITaskItem[] Packages { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>A publish folder to inspect instead of packages (after publish); its report goes beside it, as &lt;folder&gt;.inspect.json.</summary>
    public string? PublishDirectory { get; set; }

    /// <summary>The build's attestations folder (else the settings' LinkDirectory).</summary>
    public string LinkDirectory { get; set; } = "";

    /// <summary>
    /// The project's settings (the SDK's <c>_SecureBuildSettings</c> item): the attestations folder, the signing key and
    /// the project folder a relative policy is relative to, each unless the task was given it itself.
    /// </summary>
    public ITaskItem? Settings { get; set; }

    /// <summary>A policy file (docs/inspect-policy.md); empty: the built-in policy.</summary>
    public string? Policy { get; set; }

    /// <summary>The folder a relative <see cref="Policy"/> is relative to (the project's).</summary>
    public string? PolicyBaseDirectory { get; set; }

    /// <summary>Report failures as warnings instead of failing the build.</summary>
    public bool WarnOnly { get; set; }

    /// <summary>The private key SecureBuildSigningKey names: the links must verify with it, and it signs the attestation. Empty: neither.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The reports written, one per package.</summary>
    [Output]
    public ITaskItem[] Reports { get; set; } = Array.Empty<ITaskItem>();

    protected override bool ExecuteTask()
    {
        if (!TryApplySettings(Settings, ApplySettings, () => LinkDirectory = SettingsItem.Required(LinkDirectory, nameof(InspectPackage), nameof(LinkDirectory))))
        {
            return false;
        }

        var packages = !string.IsNullOrWhiteSpace(PublishDirectory)
            ? new List<string> { Path.GetFullPath(PublishDirectory!.Trim()).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) }
            : Packages.Select(p => p.GetMetadata("FullPath"))
                .Where(p => p.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) && !p.EndsWith(".symbols.nupkg", StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.Ordinal).ToList();
        if (packages.Count == 0)
        {
            LogCodedError(InspectionCodes.NoPackageToInspect, "SecureBuildInspect: pack reported no .nupkg to inspect. Run it with `dotnet pack` on a packable project, or drop -p:SecureBuildInspect=true.");
            return false;
        }

        InspectionPolicy policy;
        SigningKey? key = null;
        try
        {
            policy = string.IsNullOrWhiteSpace(Policy) ? InspectionPolicy.Default : InspectionPolicy.Load(Path.GetFullPath(Path.Combine(PolicyBaseDirectory ?? string.Empty, Policy!.Trim())));
        }
        catch (InspectionException e)
        {
            LogCodedError(e.Code, "SecureBuildInspectPolicy: " + e.Message.Substring(e.Code.Length + 2));
            return false;
        }

        if (!string.IsNullOrWhiteSpace(SigningKey))
        {
            key = SigningKeyResolver.Resolve(SigningKey, null, requireSigningKey: true, BuildEngine, Log);
            if (key is null)
            {
                return false;
            }
        }

        var reports = new List<ITaskItem>();
        var ok = true;
        foreach (var package in packages)
        {
            ok &= Inspect(package, policy, key, reports);
        }

        Reports = reports.ToArray();
        return ok && !Log.HasLoggedErrors;
    }

    private void ApplySettings(Core.Recording.RecordingSettings settings)
    {
        LinkDirectory = SettingsItem.Or(LinkDirectory, settings.LinkDirectory) ?? "";
        SigningKey = SettingsItem.Or(SigningKey, settings.SigningKey);
        PolicyBaseDirectory = SettingsItem.Or(PolicyBaseDirectory, settings.ProjectDirectory);
    }

    private bool Inspect(string package, InspectionPolicy policy, SigningKey? key, List<ITaskItem> reports)
    {
        if (!File.Exists(package) && !Directory.Exists(package))
        {
            LogCodedError(InspectionCodes.NoPackageToInspect, $"SecureBuildInspect: the package {package} pack reported is not there. Pack again; if something moves or deletes packages after pack, inspect before it does.");
            return false;
        }

        InspectionReport report;
        try
        {
            report = PackageInspector.Inspect(new InspectionOptions
            {
                Input = package,
                LinksDirectory = LinkDirectory,
                LinkKeys = key is null ? Array.Empty<PublicKey>() : new[] { key.Public },
                Policy = policy,
            });
        }
        catch (InspectionException e)
        {
            LogCodedError(e.Code, $"SecureBuildInspect: {Path.GetFileName(package)} cannot be inspected: " + e.Message.Substring(e.Code.Length + 2));
            return false;
        }

        var stem = package.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) ? package.Substring(0, package.Length - ".nupkg".Length) : package;
        var reportPath = stem + ".inspect.json";
        try
        {
            AtomicFile.WriteAllBytes(reportPath, JsonText.WriteUtf8(report.ToJson(), indented: true));
            if (key is not null)
            {
                AtomicFile.WriteAllBytes(stem + ".inspect.intoto.jsonl", new System.Text.UTF8Encoding(false).GetBytes(InspectionAttestation.Sign(report, key)));
            }
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InspectionException)
        {
            LogCodedError(InspectionCodes.InspectOutputNotWritten, $"SecureBuildInspect: the inspection report of {Path.GetFileName(package)} was not written beside it ({e.Message}). Make the package output folder writable.");
            return false;
        }

        reports.Add(new Microsoft.Build.Utilities.TaskItem(reportPath));
        foreach (var finding in report.Ordered)
        {
            var text = $"SecureBuildInspect: {Path.GetFileName(package)}: {(finding.Path.Length == 0 ? "(package)" : finding.Path)}: {finding.Message}";
            if (finding.Severity == FindingSeverity.Error && !WarnOnly)
            {
                Log.LogError(null, finding.Code, null, package, 0, 0, 0, 0, text);
            }
            else if (finding.Severity != FindingSeverity.Info)
            {
                Log.LogWarning(null, finding.Code, null, package, 0, 0, 0, 0, text);
            }
            else
            {
                Log.LogMessage(MessageImportance.Normal, $"{finding.Code}: {text}");
            }
        }

        var accounted = report.Files.Count(f => f.Origin is not null);
        Log.LogMessage(MessageImportance.High,
            $"SecureBuild: inspected {Path.GetFileName(package)}: {accounted} of {report.Files.Count} files accounted for by {report.Steps.Count} steps, policy {report.Policy}: {(report.Failed ? "FAIL" : "pass")} (report: {reportPath}).");
        return !report.Failed || WarnOnly;
    }
}
