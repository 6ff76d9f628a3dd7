using Microsoft.Build.Framework;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Runs after restore and before the compiler reads anything: <see cref="DependencyCheck"/> verifies every package of
/// the project (and the MSBuild SDK packages) in the NuGet cache, judges signatures, and compares with the lock (or,
/// with Update, records into it). This task loads the lock, observes the environment (<see cref="LockTask"/>), maps
/// its items into the request and logs what the check found.
/// </summary>
public sealed class VerifyDependencies : LockTask
{
    /// <summary>obj/project.assets.json.</summary>
    public string? ProjectAssetsFile { get; set; }

    /// <summary>All frameworks of the project (TargetFrameworks, or TargetFramework); others are dropped from the lock on update.</summary>
    public string? TargetFrameworks { get; set; }

    /// <summary>@(ResolvedTargetingPack): NuGetPackageId, NuGetPackageVersion, Path metadata.</summary>
    public ITaskItem[] TargetingPacks { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Verify extracted package folders against their .nupkg (SecureBuildVerifyPackageCache).</summary>
    public bool VerifyPackageCache { get; set; } = true;

    /// <summary>Inspect package signatures (SecureBuildVerifyPackageSignatures).</summary>
    public bool VerifySignatures { get; set; } = true;

    /// <summary>Unsigned packages are errors (SecureBuildRequireSignedPackages).</summary>
    public bool RequireSignedPackages { get; set; }

    /// <summary>@(SecureBuildTrustedSigner): certificate SHA-256 fingerprints, metadata Kind (author/repository) and Owners.</summary>
    public ITaskItem[] TrustedSigners { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Where folders that passed are remembered (empty: this build only).</summary>
    public string? StateFile { get; set; }

    /// <summary>
    /// Share verified folders between builds of this user (SecureBuildShareVerifiedPackages): a clean build confirms a
    /// package by lstat of its entries instead of re-hashing it, when an earlier build verified it (see UserVerificationStore).
    /// </summary>
    public bool ShareVerifiedFolders { get; set; }

    /// <summary>Where the shared entries live (SecureBuildVerifiedPackagesDir); empty: the per-user default.</summary>
    public string? SharedStateDirectory { get; set; }

    /// <summary>Where the verification statement goes (the attestation directory); empty: none is written.</summary>
    public string? AttestationDirectory { get; set; }

    /// <summary>The statement's name: dependencies[-tfm][-rid].</summary>
    public string StatementName { get; set; } = "dependencies";

    public string? SigningKey { get; set; }
    public string? DevelopmentKeyFile { get; set; }
    public bool RequireSigningKey { get; set; }

    /// <summary>Packages verified by this run, with their verdict: "verified" or "cached".</summary>
    [Output]
    public ITaskItem[] VerifiedPackages { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool RunsWhenOff => true;

    /// <summary>The <see cref="ConfirmedFolders"/> of this build and node.</summary>
    internal const string ConfirmedFoldersKey = "SecureBuild.ConfirmedFolders";

    protected override void ApplySettings(RecordingSettings settings)
    {
        base.ApplySettings(settings);
        SigningKey = SettingsItem.Or(SigningKey, settings.SigningKey);
        DevelopmentKeyFile = SettingsItem.Or(DevelopmentKeyFile, settings.DevelopmentKeyFile);
        RequireSigningKey |= settings.RequireSigningKey;
    }

    protected override bool ExecuteCore()
    {
        if (string.IsNullOrWhiteSpace(ProjectAssetsFile) || !File.Exists(ProjectAssetsFile))
        {
            Log.LogMessage(MessageImportance.Low, "SecureBuild: no project.assets.json; nothing restored to verify.");
            return true;
        }
        var lockModel = Update || Off ? null : LoadLock();
        if (Log.HasLoggedErrors)
        {
            return false;
        }
        var result = DependencyCheck.Run(new DependencyCheckRequest(ProjectAssetsFile!, ObserveEnvironment())
        {
            Lock = lockModel,
            LockPath = LockPath,
            LockName = Relative(LockPath),
            Strict = Strict,
            Update = Update,
            Root = Root,
            ProjectKey = ProjectKey,
            PackagesDirectory = PackagesDirectory,
            TargetFramework = TargetFramework,
            TargetFrameworks = (TargetFrameworks ?? TargetFramework ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim()).ToList(),
            TargetingPacks = TargetingPacks.Select(p => new TargetingPackFolder(p.GetMetadata("NuGetPackageId"), p.GetMetadata("NuGetPackageVersion"), p.GetMetadata("Path"))).ToList(),
            VerifyPackageCache = VerifyPackageCache,
            RequireSignedPackages = RequireSignedPackages,
            TrustedSigners = TrustedSigners.Select(t => new TrustedSigner(t.ItemSpec, t.GetMetadata("Kind"),
                t.GetMetadata("Owners").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(o => o.Trim()))).ToList(),
            StateFile = string.IsNullOrWhiteSpace(StateFile) ? null : StateFile,
            UserStore = UserStore(),
            // What this build already confirmed (another framework or project; see BuildState for the lifetime).
            Confirmed = BuildState.GetOrCreate(BuildEngine, ConfirmedFoldersKey, () => new ConfirmedFolders()),
            ContentHash = NuGetPackageInspector.ContentHash,
            Signature = VerifySignatures ? nupkg => NuGetPackageInspector.Signature(nupkg).ToText() : null,
            AttestationDirectory = string.IsNullOrWhiteSpace(AttestationDirectory) ? null : AttestationDirectory,
            StatementName = StatementName,
            SigningKey = () => SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log),
        });
        LogDiagnostics(result.Diagnostics);
        VerifiedPackages = result.Verdicts.Select(v =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(v.Package.Key);
            item.SetMetadata("Verdict", !v.Ok ? "failed" : v.FromCache ? "cached" : "verified");
            return (ITaskItem)item;
        }).ToArray();
        return !Log.HasLoggedErrors;
    }

    private UserVerificationStore? UserStore()
    {
        if (!ShareVerifiedFolders)
        {
            return null;
        }
        var directory = string.IsNullOrWhiteSpace(SharedStateDirectory) ? UserVerificationStore.DefaultDirectory(Environment.GetEnvironmentVariable) : SharedStateDirectory;
        return directory is null ? null : new UserVerificationStore(directory);
    }
}
