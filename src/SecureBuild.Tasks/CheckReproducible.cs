using System.Text;
using Microsoft.Build.Framework;
using SecureBuild.Core.IO;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Tasks;

/// <summary>
/// Target SecureBuildCheckReproducible: rebuilds the project twice from clean copies under varied conditions
/// (SecureBuild.Core's <see cref="Rebuilder"/>), writes report.html/json/txt and a signed reproducibility
/// attestation, and fails with SB1500 naming each root cause when the outputs differ.
/// </summary>
public sealed class CheckReproducible : CodedTask, ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The project to rebuild (else the settings' ProjectFile).</summary>
    public string Project { get; set; } = "";

    /// <summary>
    /// The project's settings (the SDK's <c>_SecureBuildSettings</c> item): the project, the root and the signing key
    /// settings, each unless the task was given it itself.
    /// </summary>
    public ITaskItem? Settings { get; set; }

    public string Configuration { get; set; } = "Release";

    /// <summary>build or pack.</summary>
    public string Command { get; set; } = "pack";

    public string? Variations { get; set; }

    [Required]
    public string ReportDirectory { get; set; } = "";

    /// <summary>The root to copy (empty: git work tree, else the nearest directory with global.json).</summary>
    public string? RootDirectory { get; set; }

    public string? SigningKey { get; set; }

    public string? DevelopmentKeyFile { get; set; }

    public bool RequireSigningKey { get; set; }

    public bool Keep { get; set; }

    /// <summary>The dotnet host running this build (DOTNET_HOST_PATH), so the rebuilds use the same SDK.</summary>
    public string? DotNetHost { get; set; }

    /// <summary>Where the signed attestation was written.</summary>
    [Output]
    public string? AttestationFile { get; set; }

    [Output]
    public bool Reproducible { get; set; }

    public void Cancel() => _cancel.Cancel();

    private void ApplySettings(Core.Recording.RecordingSettings settings)
    {
        Project = SettingsItem.Or(Project, settings.ProjectFile) ?? "";
        RootDirectory = SettingsItem.Or(RootDirectory, settings.RootDirectory);
        SigningKey = SettingsItem.Or(SigningKey, settings.SigningKey);
        DevelopmentKeyFile = SettingsItem.Or(DevelopmentKeyFile, settings.DevelopmentKeyFile);
        RequireSigningKey |= settings.RequireSigningKey;
    }

    protected override bool ExecuteTask()
    {
        if (!TryApplySettings(Settings, ApplySettings, () => Project = SettingsItem.Required(Project, nameof(CheckReproducible), nameof(Project))))
        {
            return false;
        }

        var key = SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log);
        if (key is null && Log.HasLoggedErrors)
        {
            return false;
        }

        var options = new RebuildOptions
        {
            Target = Project,
            Root = string.IsNullOrWhiteSpace(RootDirectory) ? null : RootDirectory,
            Configuration = Configuration,
            Command = string.IsNullOrWhiteSpace(Command) ? "pack" : Command.Trim(),
            Keep = Keep,
            DotNet = !string.IsNullOrWhiteSpace(DotNetHost) && File.Exists(DotNetHost) ? DotNetHost! : "dotnet",
            Progress = line => Log.LogMessage(MessageImportance.High, "SecureBuild rebuild: " + line),
        };
        try
        {
            options.Variations = Core.Reproducibility.Variations.Parse(Variations);
        }
        catch (ArgumentException e)
        {
            Log.LogError(null, "SB1502", null, null, 0, 0, 0, 0, $"SecureBuildReproducibleVariations: {e.Message}");
            return false;
        }

        RebuildResult result;
        try
        {
            result = new Rebuilder(new ProcessRunner()).Run(options, _cancel.Token);
        }
        catch (Exception e) when (e is RebuildException || e is IOException || e is UnauthorizedAccessException)
        {
            Log.LogError(null, "SB1501", null, null, 0, 0, 0, 0, $"The reproducibility check could not run: {e.Message}");
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        Directory.CreateDirectory(ReportDirectory);
        var title = "Reproducibility: " + Path.GetFileName(Project);
        AtomicFile.WriteAllBytes(Path.Combine(ReportDirectory, "report.html"), Encoding.UTF8.GetBytes(ReportWriters.Html(result.Report, title)));
        AtomicFile.WriteAllBytes(Path.Combine(ReportDirectory, "report.json"), Encoding.UTF8.GetBytes(ReportWriters.JsonText(result.Report)));
        AtomicFile.WriteAllBytes(Path.Combine(ReportDirectory, "report.txt"), Encoding.UTF8.GetBytes(ReportWriters.Text(result.Report)));
        if (key is not null)
        {
            AttestationFile = Path.Combine(ReportDirectory, "reproducibility.intoto.jsonl");
            var statement = ReproducibilityAttestation.CreateStatement(result, typeof(CheckReproducible).Assembly.GetName().Version?.ToString());
            AtomicFile.WriteAllBytes(AttestationFile, Encoding.UTF8.GetBytes(ReproducibilityAttestation.Sign(statement, key)));
        }

        foreach (var skipped in result.NotApplied)
        {
            Log.LogMessage(MessageImportance.Normal, $"SecureBuild rebuild: not varied: {skipped.Key}: {skipped.Value}");
        }

        if (Keep)
        {
            Log.LogMessage(MessageImportance.High, $"SecureBuild rebuild: kept the builds in {result.WorkDirectory}");
        }

        Reproducible = result.Reproducible;
        var report = Path.Combine(ReportDirectory, "report.html");
        if (result.Reproducible)
        {
            Log.LogMessage(MessageImportance.High, $"SecureBuild: reproducible: {result.A.Outputs.Count} outputs bit-identical under {result.Applied.Count} variations (report: {report}).");
            return true;
        }

        foreach (var (cause, count, artifacts) in result.Report.RootCauses())
        {
            Log.LogError(null, "SB1500", null, Project, 0, 0, 0, 0,
                $"Not reproducible: {cause.Title} ({count}x, in {string.Join(", ", artifacts.Take(3))}{(artifacts.Count > 3 ? ", …" : string.Empty)}). Fix: {cause.Fix} Report: {report}");
        }

        if (!Log.HasLoggedErrors)
        {
            Log.LogError(null, "SB1500", null, Project, 0, 0, 0, 0, $"Not reproducible (report: {report}).");
        }

        return false;
    }
}
