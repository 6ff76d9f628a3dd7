using Microsoft.Build.Framework;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Hashes a step's products after it ran and writes the signed link
/// <c>&lt;step&gt;.&lt;keyid8&gt;.link</c> with the materials recorded before the step.
/// </summary>
public sealed class RecordStepProducts : SigningStepTask
{
    /// <summary>The files the step wrote.</summary>
    public ITaskItem[] Products { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Directories whose every file is a product (the publish folder).</summary>
    public string[] ProductDirectories { get; set; } = Array.Empty<string>();

    /// <summary>Used only when no materials were recorded before the step (e.g. a build with --no-restore).</summary>
    public ITaskItem[] FallbackMaterials { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The step's command, recorded in the link; "{project}" stands for the project file's artifact name.</summary>
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>The project file, named in the command.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Also write SLSA provenance for this step's outputs.</summary>
    public bool WriteProvenance { get; set; }

    /// <summary>The outputs provenance is about; empty: every product.</summary>
    public ITaskItem[] Subjects { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The project's project.assets.json (resolved packages, with content hashes).</summary>
    public string? ProjectAssetsFile { get; set; }

    /// <summary>Targeting, runtime and apphost packs (metadata NuGetPackageId, NuGetPackageVersion, Kind).</summary>
    public ITaskItem[] Packs { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Properties that change the build (metadata Value); those whose value came from an environment variable are recorded as such.</summary>
    public ITaskItem[] BuildProperties { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Names (of global properties and environment variables) provenance records with their value besides the built-in allow-list.</summary>
    public ITaskItem[] RecordProperties { get; set; } = Array.Empty<ITaskItem>();

    public string? SdkVersion { get; set; }

    public string? MSBuildVersion { get; set; }

    public string? RuntimeVersion { get; set; }

    /// <summary>Identifies this build when no CI system does.</summary>
    public string? InvocationId { get; set; }

    /// <summary>The process environment provenance describes (tests give their own).</summary>
    internal Func<IEnumerable<KeyValuePair<string, string>>> EnvironmentSource { get; set; } = BuildEnvironment.Current;

    /// <summary>The link written (or confirmed up to date).</summary>
    [Output]
    public string? LinkFile { get; set; }

    /// <summary>The links this build and node recorded or confirmed, by <see cref="CallKey"/> (see BuildState for the lifetime).</summary>
    internal const string RecordedThisBuildKey = "SecureBuild.RecordedLinks";

    protected override void ApplySettings(RecordingSettings settings)
    {
        base.ApplySettings(settings);
        ProjectFile = SettingsItem.Or(ProjectFile, settings.ProjectFile);
        SdkVersion = SettingsItem.Or(SdkVersion, settings.SdkVersion);
        MSBuildVersion = SettingsItem.Or(MSBuildVersion, settings.MSBuildVersion);
        RuntimeVersion = SettingsItem.Or(RuntimeVersion, settings.RuntimeVersion);
    }

    protected override bool ExecuteCore()
    {
        RequireLinkDirectory();
        // A multi-targeted project records its restore step in every target framework's build, with the same inputs:
        // within one build (one snapshot: restore has run to completion before), the first call's link stands for the others.
        var recorded = BuildState.GetOrCreate(BuildEngine, RecordedThisBuildKey, () => new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal));
        var callKey = CallKey();
        if (recorded.TryGetValue(callKey, out var known) && File.Exists(known))
        {
            LinkFile = known;
            Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} link is up to date: {known} (recorded earlier in this build)");
            return true;
        }
        if (WriteProvenance && !DefinitionsCommittedInCi())
        {
            return false;
        }

        bool done;
        try
        {
            CertificateSigning.For(SigningSettings, LogCodedWarning)?.Dispose(); // an unknown SecureBuildSigning fails every step (SB5050)
            done = Record();
        }
        catch (Core.Identity.KeylessException e)
        {
            LogCodedError(e.Code, $"{StepName}: keyless signing failed: {e.Message}. {e.Fix}");
            return false;
        }
        catch (Core.Spiffe.SvidException e)
        {
            LogCodedError(e.Code, $"{StepName}: SPIFFE signing failed: {e.Reason} {e.Fix}");
            return false;
        }

        if (done)
        {
            if (!Log.HasLoggedErrors && LinkFile is not null)
            {
                recorded[callKey] = LinkFile;
            }
            return true;
        }
        return false;
    }

    /// <summary>SB5410 (<see cref="BuildDefinitions.UncommittedInCi"/>) when a CI build's definition files are not committed.</summary>
    private bool DefinitionsCommittedInCi()
    {
        var root = RepositoryRootDirectory;
        var uncommitted = BuildDefinitions.UncommittedInCi(CiContext.Detect(Environment()),
            () => ProvenanceInputs.IsGitWorkTree(BuildEngine, root) ? ProvenanceInputs.DescribeDefinitions(BuildEngine, root) : null);
        if (uncommitted is null)
        {
            return true;
        }
        LogDiagnostics(new[] { uncommitted });
        return false;
    }

    private Dictionary<string, string> Environment() =>
        EnvironmentSource().GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);

    private string RepositoryRootDirectory => string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(ProjectDirectory) : RootDirectory!;

    /// <summary>Everything a call's link depends on besides the files themselves: the same key means the same link in one build.</summary>
    private string CallKey() => string.Join("\u0000", new[]
        {
            StepName, Path.GetFullPath(MaterialsFile), Path.GetFullPath(LinkDirectory), SigningKey ?? "", DevelopmentKeyFile ?? "", RequireSigningKey ? "1" : "0",
            WriteProvenance ? "1" : "0", ProjectFile ?? "", RootDirectory ?? "", ProjectDirectory, HashAlgorithms ?? "", HashCacheFile ?? "",
            CertificateSigning.Describe(SigningSettings),
        }
        .Concat(Command).Concat(new[] { "|products" }).Concat(FullPaths(Products).OrderBy(p => p, StringComparer.Ordinal))
        .Concat(new[] { "|directories" }).Concat(ProductDirectories).Concat(new[] { "|subjects" }).Concat(FullPaths(Subjects))
        .Concat(new[] { "|roots" }).Concat(RootsNaming())
        .Concat(new[] { "|excluded" }).Concat(ExcludeDirectories));

    /// <summary>
    /// The artifact roots that can name something of this call (a product, a fallback material, the project file): a
    /// framework's own output folders name nothing of the restore step, so they do not make its calls differ.
    /// </summary>
    private IEnumerable<string> RootsNaming()
    {
        var named = FullPaths(Products).Concat(FullPaths(FallbackMaterials)).Concat(ProductDirectories.Select(Path.GetFullPath))
            .Concat(string.IsNullOrEmpty(ProjectFile) ? Array.Empty<string>() : new[] { Path.GetFullPath(ProjectFile!) }).ToList();
        foreach (var root in ArtifactRoots)
        {
            var folder = root.GetMetadata("FullPath").Replace('\\', '/').TrimEnd('/') + "/";
            if (named.Any(n => n.Replace('\\', '/').StartsWith(folder, StringComparison.OrdinalIgnoreCase)))
            {
                yield return folder + "=" + root.GetMetadata("Prefix") + "/" + root.GetMetadata("OutputFolder");
            }
        }
    }

    /// <summary>The step's link through <see cref="StepLinkRecording"/>, with what only the build supplies.</summary>
    private bool Record()
    {
        var result = StepLinkRecording.Record(new StepLinkRequest(StepName, MaterialsFile, LinkDirectory)
        {
            Products = FullPaths(Products).ToList(),
            ProductDirectories = ProductDirectories,
            FallbackMaterials = FullPaths(FallbackMaterials).ToList(),
            Subjects = FullPaths(Subjects).ToList(),
            Command = Command,
            ProjectFile = ProjectFile,
            RecordProperties = RecordProperties.Select(i => i.ItemSpec).ToList(),
            WriteProvenance = WriteProvenance,
            SigningKey = SigningKey,
            DevelopmentKeyFile = DevelopmentKeyFile,
            RequireSigningKey = RequireSigningKey,
            Signing = CertificateSigning.Describe(SigningSettings),
            CodeVersion = CodeVersion,
            CreateRecorder = loadCache => new StepRecorderSetup(CreateRecorder(loadCache, out var cache, out var settings), cache, settings),
            LoadKey = () => SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log),
            Provenance = (namer, startedOn) => ProvenanceInputs.Create(this, namer, Environment(), RepositoryRootDirectory, startedOn, DateTimeOffset.UtcNow),
            CertificateSigner = () => CertificateSigning.For(SigningSettings, LogCodedWarning),
        });
        if (result.ConfirmedKeyId is { } keyId && string.IsNullOrWhiteSpace(SigningKey))
        {
            SigningKeyResolver.WarnDevelopmentKeyUsed(BuildEngine, Log, SigningKeyResolver.ExistingKeyFile(SigningKey, DevelopmentKeyFile, RequireSigningKey)!, keyId);
        }
        LogDiagnostics(result.Diagnostics);
        LinkFile = result.LinkFile;
        return result.LinkFile is not null;
    }

    /// <summary>The recording code's identity: a rebuilt task or Core assembly records links anew.</summary>
    private static readonly string CodeVersion = typeof(RecordStepProducts).Assembly.ManifestModule.ModuleVersionId.ToString("N") + "/" +
        typeof(StepRecorder).Assembly.ManifestModule.ModuleVersionId.ToString("N");
}
