using Microsoft.Build.Framework;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Runs after restore and before the compiler reads anything: verifies every package of the project
/// (and the MSBuild SDK packages) in the NuGet cache against its own .nupkg, checks package
/// signatures against the trust policy, and compares what restore resolved (packages, downloads,
/// targeting packs, sources) with the lock. With Update, records it into the lock instead. When a
/// lock was verified, writes a signed statement of which lock and which verdicts.
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
        var phases = new PhaseTimer();
        var lockModel = Update || Off ? null : LoadLock();
        phases.Mark("lock");
        if (Log.HasLoggedErrors)
        {
            return false;
        }
        var assets = ProjectAssets.Load(ProjectAssetsFile!, string.IsNullOrWhiteSpace(StateFile) ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(StateFile))!, "assets.summary"));
        phases.Mark("assets");
        var framework = string.IsNullOrWhiteSpace(TargetFramework) ? null : TargetFramework!;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var observation = ObserveEnvironment();
        phases.Mark("environment");
        observation.Project = ProjectKey;
        observation.Sources = new SortedSet<string>(assets.Sources.Select(s => PackageSources.Normalize(s, Root)), StringComparer.Ordinal);
        observation.Packages = RepositoryLock.Sorted<LockedPackage>();
        observation.Packs = RepositoryLock.Sorted<LockedPack>();
        observation.Signers = RepositoryLock.Sorted<LockedSigner>();
        var packs = TargetingPacks.Select(p => new TargetingPackFolder(p.GetMetadata("NuGetPackageId"), p.GetMetadata("NuGetPackageVersion"), p.GetMetadata("Path"))).ToList();
        var locked = new HashSet<string>(StringComparer.Ordinal); // "id/version" the lock pins for this framework
        if (framework is not null)
        {
            observation.Framework = framework;
            observation.FrameworkState = DependencyVerification.ObserveFramework(assets, framework, packs, out locked);
        }

        // The folders that passed before: this project's obj/ state, the user's store behind it, and what this build
        // already confirmed (another framework or project; see BuildState for the lifetime).
        var store = UserStore();
        var verificationState = string.IsNullOrWhiteSpace(StateFile) ? PackageVerificationState.InMemory(store) : PackageVerificationState.Open(StateFile!, store);
        var confirmed = BuildState.GetOrCreate(BuildEngine, ConfirmedFoldersKey, () => new ConfirmedFolders());
        var verification = new DependencyVerification(verificationState, confirmed, NuGetPackageInspector.ContentHash,
            VerifySignatures ? nupkg => NuGetPackageInspector.Signature(nupkg).ToText() : null);
        phases.Mark("state");
        var toVerify = DependencyVerification.PackagesToVerify(assets, observation.MSBuildSdks!.Keys, lockModel, PackagesDirectory);
        phases.Mark("to verify");

        // 1. The NuGet cache: every package restore resolved (any graph, any RID), the downloads and the MSBuild SDKs.
        var verdicts = VerifyPackageCache ? verification.VerifyCache(toVerify) : new List<PackageVerdict>();
        foreach (var problem in verdicts.SelectMany(v => v.Problems))
        {
            Error(problem.Code, problem.Message + ".");
        }
        var cacheMs = started.ElapsedMilliseconds;
        phases.Mark("cache");

        // 2. Targeting packs, hashed as folders: only the lock records them, so without one (and not updating it) their
        // digests would be computed for nothing (every file of every pack listed again in each no-op build).
        if (lockModel is not null || Update)
        {
            verification.HashPacks(packs, observation);
        }
        phases.Mark("packs");

        // 3. Signatures against the trust policy.
        var trusted = TrustedSigners.Select(t => new TrustedSigner(t.ItemSpec, t.GetMetadata("Kind"),
            t.GetMetadata("Owners").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(o => o.Trim()))).ToList();
        if (lockModel is not null)
        {
            trusted.AddRange(lockModel.Signers.Select(s => new TrustedSigner(s.Key, s.Value.Kind, null)));
        }
        var signatureVerdicts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var outcome in DependencyVerification.EvaluateSignatures(verdicts, trusted, RequireSignedPackages, locked, observation))
        {
            signatureVerdicts[outcome.PackageKey] = outcome.Finding.ToString().ToLowerInvariant();
            Report(outcome);
        }
        phases.Mark("signatures");
        verificationState.Save(DependencyVerification.FoldersInUse(toVerify, packs));
        VerifiedPackages = verdicts.Select(v =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(v.Package.Key);
            item.SetMetadata("Verdict", !v.Ok ? "failed" : v.FromCache ? "cached" : "verified");
            return (ITaskItem)item;
        }).ToArray();
        phases.Mark("save");
        var verifier = verification.Verifier;
        Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {verdicts.Count} packages verified in the cache in {cacheMs} ms ({verifier.FullyVerified} in full, the rest unchanged since they last passed; {verifier.AnsweredByStat} by lstat of their recorded files, {verificationState.FromUserStore} of all known from the user's verified-folders store, {verifier.AnsweredByBuild} confirmed earlier in this build).");
        if (Log.HasLoggedErrors)
        {
            return false;
        }

        // 4. The lock.
        if (Update)
        {
            var frameworks = (TargetFrameworks ?? TargetFramework ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim()).ToList();
            Core.Locking.LockFile.Update(LockPath, l => LockComparer.Merge(l, observation, frameworks.Count > 0 ? frameworks : null));
            Log.LogMessage(MessageImportance.Normal, $"SecureBuild: recorded {ProjectKey} ({framework}) in {LockPath}.");
            return true;
        }
        if (lockModel is null)
        {
            Log.LogMessage(MessageImportance.Low, "SecureBuild: VerifyDependencies phases: " + phases);
            return true;
        }
        // The SDK, global.json and tools were checked before restore; do not report their drift twice.
        var sdkVersion = observation.SdkVersion;
        var tools = observation.Tools;
        observation.SdkVersion = null;
        observation.GlobalJsonObserved = false;
        observation.Tools = null;
        var differences = LockComparer.Compare(lockModel, observation);
        observation.SdkVersion = sdkVersion;
        observation.Tools = tools;
        phases.Mark("compare");
        Report(differences);
        WriteStatement(lockModel, verdicts, signatureVerdicts, differences);
        phases.Mark("statement");
        Log.LogMessage(MessageImportance.Low, "SecureBuild: VerifyDependencies phases: " + phases);
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

    /// <summary>A signature outcome as the build reports it: an invalid or (when required) missing signature is always an error, an untrusted one in strict mode and when updating.</summary>
    private void Report(SignatureOutcome outcome)
    {
        switch (outcome.Finding)
        {
            case SignatureFinding.Invalid:
                Error("SB1442", outcome.Message + ".");
                break;
            case SignatureFinding.UnsignedNotAllowed:
                Error("SB1440", outcome.Message + ".");
                break;
            case SignatureFinding.Untrusted when Strict || Update:
                Error("SB1441", outcome.Message + ".");
                break;
            case SignatureFinding.Untrusted:
                Warning("SB2441", outcome.Message + ".");
                break;
            default:
                Log.LogMessage(MessageImportance.Low, "SecureBuild: " + outcome.Message + ".");
                break;
        }
    }

    /// <summary>
    /// A signed in-toto Statement (DSSE) saying which lock this build verified its dependencies
    /// against, and the verdicts: <c>&lt;name&gt;.&lt;keyid8&gt;.intoto.jsonl</c> in the attestation directory.
    /// </summary>
    private void WriteStatement(RepositoryLock lockModel, List<PackageVerdict> verdicts, Dictionary<string, string> signatures, IReadOnlyList<LockDifference> differences)
    {
        if (string.IsNullOrWhiteSpace(AttestationDirectory))
        {
            return;
        }
        var key = SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log);
        if (key is null)
        {
            return;
        }
        var lockName = Relative(LockPath);
        var statement = DependencyStatement.Create(ProjectKey, TargetFramework, Strict, lockName, StepAttestations.Sha256Of(LockPath), verdicts, signatures, differences,
            VerifyPackageCache, VerifySignatures);
        var path = Path.Combine(AttestationDirectory, $"{StatementName}.{key.KeyId.Substring(0, 8)}.intoto.jsonl");
        var text = JsonText.Write(statement, indented: false);
        if (File.Exists(path) && StatementCache.Matches(StateFile, StatementName, text))
        {
            return;
        }
        Directory.CreateDirectory(AttestationDirectory);
        StepAttestations.WriteEnvelope(statement, key, path);
        StatementCache.Remember(StateFile, StatementName, text);
    }

    /// <summary>Elapsed time per phase of one run, for the log (-v:detailed) when a build is slow.</summary>
    private sealed class PhaseTimer
    {
        private readonly System.Diagnostics.Stopwatch _watch = System.Diagnostics.Stopwatch.StartNew();
        private readonly List<string> _marks = new();

        public void Mark(string phase)
        {
            _marks.Add($"{phase} {_watch.Elapsed.TotalMilliseconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} ms");
            _watch.Restart();
        }

        public override string ToString() => string.Join(", ", _marks);
    }

    /// <summary>The last statement written per name, next to the state file, so an unchanged verdict is not re-signed.</summary>
    private static class StatementCache
    {
        private static string? FileFor(string? stateFile, string name) =>
            string.IsNullOrWhiteSpace(stateFile) ? null : Path.Combine(Path.GetDirectoryName(stateFile!)!, name + ".statement.sha256");

        public static bool Matches(string? stateFile, string name, string text)
        {
            var file = FileFor(stateFile, name);
            return file is not null && File.Exists(file) && Core.IO.InputFile.ReadAllText(file, Core.IO.InputKind.Cache) == Core.Crypto.Sha256Hex.Of(text);
        }

        public static void Remember(string? stateFile, string name, string text)
        {
            var file = FileFor(stateFile, name);
            if (file is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                Core.IO.AtomicFile.WriteAllBytes(file, System.Text.Encoding.ASCII.GetBytes(Core.Crypto.Sha256Hex.Of(text)));
            }
        }
    }
}
