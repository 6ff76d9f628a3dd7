using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>
/// What the check after restore is given: the project's restore output, the verification settings, the lock (already
/// loaded) and the environment as observed before. The VerifyDependencies task fills it from its items and properties.
/// </summary>
public sealed class DependencyCheckRequest
{
    public DependencyCheckRequest(string projectAssetsFile, LockObservation observation)
    {
        ProjectAssetsFile = projectAssetsFile ?? throw new ArgumentNullException(nameof(projectAssetsFile));
        Observation = observation ?? throw new ArgumentNullException(nameof(observation));
    }

    /// <summary>obj/project.assets.json (it exists).</summary>
    public string ProjectAssetsFile { get; }

    /// <summary>The SDK, global.json, MSBuild SDKs and tools as the build sees them; the check adds the project's part.</summary>
    public LockObservation Observation { get; }

    /// <summary>The lock to compare with; null when there is none, in mode off, or when updating.</summary>
    public RepositoryLock? Lock { get; set; }

    /// <summary>Where the lock is (updated, and named in the statement).</summary>
    public string LockPath { get; set; } = "";

    /// <summary>The lock's path relative to the repository root.</summary>
    public string LockName { get; set; } = RepositoryLock.DefaultFileName;

    /// <summary>Drift is an error (SecureBuildLockMode=strict), else a warning.</summary>
    public bool Strict { get; set; }

    /// <summary>Record what is observed into the lock instead of comparing with it.</summary>
    public bool Update { get; set; }

    /// <summary>The repository root: package sources below it are named relative to it.</summary>
    public string Root { get; set; } = "";

    /// <summary>The project's path relative to the root (its key in the lock).</summary>
    public string ProjectKey { get; set; } = "";

    /// <summary>The global packages folder, used when the assets name none.</summary>
    public string? PackagesDirectory { get; set; }

    /// <summary>The framework checked; null for the outer build of a multi-targeted project.</summary>
    public string? TargetFramework { get; set; }

    /// <summary>All frameworks of the project; others are dropped from the lock on update (empty: keep them).</summary>
    public IReadOnlyList<string> TargetFrameworks { get; set; } = Array.Empty<string>();

    /// <summary>The targeting packs the SDK resolved.</summary>
    public IReadOnlyList<TargetingPackFolder> TargetingPacks { get; set; } = Array.Empty<TargetingPackFolder>();

    /// <summary>Verify extracted package folders against their .nupkg.</summary>
    public bool VerifyPackageCache { get; set; } = true;

    /// <summary>Unsigned packages are errors.</summary>
    public bool RequireSignedPackages { get; set; }

    /// <summary>The user's trusted signers (the lock's signers are added).</summary>
    public IReadOnlyList<TrustedSigner> TrustedSigners { get; set; } = Array.Empty<TrustedSigner>();

    /// <summary>Where folders that passed are remembered (obj/); null: this build only.</summary>
    public string? StateFile { get; set; }

    /// <summary>The user's verified-folders store behind the state file; null: none.</summary>
    public UserVerificationStore? UserStore { get; set; }

    /// <summary>What this build already confirmed (another framework or project); null: nothing is shared.</summary>
    public ConfirmedFolders? Confirmed { get; set; }

    /// <summary>NuGet's content hash of a .nupkg.</summary>
    public Func<string, string> ContentHash { get; set; } = _ => throw new InvalidOperationException("no content hash function");

    /// <summary>Inspects a .nupkg's signature (<see cref="PackageSignatureInfo.ToText"/>); null: signatures are not read.</summary>
    public Func<string, string?>? Signature { get; set; }

    /// <summary>Where the verification statement goes; null: none is written.</summary>
    public string? AttestationDirectory { get; set; }

    /// <summary>The statement's name: dependencies[-tfm][-rid].</summary>
    public string StatementName { get; set; } = "dependencies";

    /// <summary>The key that signs the statement, asked only when one is written; null when there is none (the caller reported why).</summary>
    public Func<SigningKey?> SigningKey { get; set; } = () => null;

    /// <summary>The clock (tests pin it).</summary>
    public Func<DateTime>? UtcNow { get; set; }
}

/// <summary>What the check found: the findings to log in order (their errors fail the build) and each package's verdict.</summary>
/// <param name="Diagnostics">Errors, warnings and log lines, in the order found.</param>
/// <param name="Verdicts">Each package verified in the cache.</param>
public sealed record DependencyCheckResult(IReadOnlyList<CodedDiagnostic> Diagnostics, IReadOnlyList<PackageVerdict> Verdicts)
{
    public bool Failed => Diagnostics.Any(d => d.Level == DiagnosticLevel.Error);
}

/// <summary>
/// The check that runs after restore and before the compiler reads anything, as one call: verifies every package of the
/// project (and the MSBuild SDK packages) in the NuGet cache against its own .nupkg, judges package signatures against
/// the trust policy, and compares what restore resolved (packages, downloads, targeting packs, sources) with the lock;
/// when updating, records it into the lock instead. When a lock was verified, writes a signed statement of which lock
/// and which verdicts. The steps are <see cref="DependencyVerification"/>'s, in its order.
/// </summary>
public static class DependencyCheck
{
    /// <exception cref="IOException">A file cannot be read or the lock not written.</exception>
    /// <exception cref="LockFormatException">The lock cannot be updated.</exception>
    public static DependencyCheckResult Run(DependencyCheckRequest request)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }

        var found = new List<CodedDiagnostic>();
        var phases = new PhaseTimer();
        var lockModel = request.Lock;
        var assets = ProjectAssets.Load(request.ProjectAssetsFile,
            string.IsNullOrWhiteSpace(request.StateFile) ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(request.StateFile))!, "assets.summary"));
        phases.Mark("assets");
        var framework = string.IsNullOrWhiteSpace(request.TargetFramework) ? null : request.TargetFramework!;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var observation = request.Observation;
        observation.Project = request.ProjectKey;
        observation.Sources = new SortedSet<string>(assets.Sources.Select(s => PackageSources.Normalize(s, request.Root)), StringComparer.Ordinal);
        observation.Packages = RepositoryLock.Sorted<LockedPackage>();
        observation.Packs = RepositoryLock.Sorted<LockedPack>();
        observation.Signers = RepositoryLock.Sorted<LockedSigner>();
        var packs = request.TargetingPacks;
        var locked = new HashSet<string>(StringComparer.Ordinal); // "id/version" the lock pins for this framework
        if (framework is not null)
        {
            observation.Framework = framework;
            observation.FrameworkState = DependencyVerification.ObserveFramework(assets, framework, packs, out locked);
        }

        // The folders that passed before: this project's obj/ state, the user's store behind it, and what this build
        // already confirmed (another framework or project).
        var verificationState = string.IsNullOrWhiteSpace(request.StateFile)
            ? PackageVerificationState.InMemory(request.UserStore)
            : PackageVerificationState.Open(request.StateFile!, request.UserStore);
        var verification = new DependencyVerification(verificationState, request.Confirmed, request.ContentHash, request.Signature, request.UtcNow);
        phases.Mark("state");
        var toVerify = DependencyVerification.PackagesToVerify(assets, observation.MSBuildSdks?.Keys ?? Enumerable.Empty<string>(), lockModel, request.PackagesDirectory);
        phases.Mark("to verify");

        // 1. The NuGet cache: every package restore resolved (any graph, any RID), the downloads and the MSBuild SDKs.
        var verdicts = request.VerifyPackageCache ? verification.VerifyCache(toVerify) : new List<PackageVerdict>();
        found.AddRange(verdicts.SelectMany(v => v.Problems).Select(p => CodedDiagnostic.Error(p.Code, p.Message + ".")));
        var cacheMs = started.ElapsedMilliseconds;
        phases.Mark("cache");

        // 2. Targeting packs, hashed as folders: only the lock records them, so without one (and not updating it) their
        // digests would be computed for nothing (every file of every pack listed again in each no-op build).
        if (lockModel is not null || request.Update)
        {
            verification.HashPacks(packs, observation);
        }
        phases.Mark("packs");

        // 3. Signatures against the trust policy.
        var trusted = request.TrustedSigners.ToList();
        if (lockModel is not null)
        {
            trusted.AddRange(lockModel.Signers.Select(s => new TrustedSigner(s.Key, s.Value.Kind, null)));
        }
        var signatureVerdicts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var outcome in DependencyVerification.EvaluateSignatures(verdicts, trusted, request.RequireSignedPackages, locked, observation))
        {
            signatureVerdicts[outcome.PackageKey] = outcome.Finding.ToString().ToLowerInvariant();
            found.Add(Report(outcome, untrustedIsError: request.Strict || request.Update));
        }
        phases.Mark("signatures");
        verificationState.Save(DependencyVerification.FoldersInUse(toVerify, packs));
        phases.Mark("save");
        var verifier = verification.Verifier;
        found.Add(CodedDiagnostic.Message($"SecureBuild: {verdicts.Count} packages verified in the cache in {cacheMs} ms ({verifier.FullyVerified} in full, the rest unchanged since they last passed; {verifier.AnsweredByStat} by lstat of their recorded files, {verificationState.FromUserStore} of all known from the user's verified-folders store, {verifier.AnsweredByBuild} confirmed earlier in this build)."));
        if (found.Any(d => d.Level == DiagnosticLevel.Error))
        {
            return new DependencyCheckResult(found, verdicts);
        }

        // 4. The lock.
        if (request.Update)
        {
            LockFile.Update(request.LockPath, l => LockComparer.Merge(l, observation, request.TargetFrameworks.Count > 0 ? request.TargetFrameworks.ToList() : null));
            found.Add(CodedDiagnostic.Message($"SecureBuild: recorded {request.ProjectKey} ({framework}) in {request.LockPath}."));
            return new DependencyCheckResult(found, verdicts);
        }
        if (lockModel is null)
        {
            found.Add(CodedDiagnostic.Detail("SecureBuild: VerifyDependencies phases: " + phases));
            return new DependencyCheckResult(found, verdicts);
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
        found.AddRange(differences.Select(d => d.Report(request.Strict)));
        WriteStatement(request, verdicts, signatureVerdicts, differences);
        phases.Mark("statement");
        found.Add(CodedDiagnostic.Detail("SecureBuild: VerifyDependencies phases: " + phases));
        return new DependencyCheckResult(found, verdicts);
    }

    /// <summary>A signature outcome as the build reports it: an invalid or (when required) missing signature is always an error, an untrusted one when <paramref name="untrustedIsError"/>.</summary>
    public static CodedDiagnostic Report(SignatureOutcome outcome, bool untrustedIsError) => outcome.Finding switch
    {
        SignatureFinding.Invalid => CodedDiagnostic.Error("SB1442", outcome.Message + "."),
        SignatureFinding.UnsignedNotAllowed => CodedDiagnostic.Error("SB1440", outcome.Message + "."),
        SignatureFinding.Untrusted when untrustedIsError => CodedDiagnostic.Error("SB1441", outcome.Message + "."),
        SignatureFinding.Untrusted => CodedDiagnostic.Warning("SB2441", outcome.Message + "."),
        _ => CodedDiagnostic.Detail("SecureBuild: " + outcome.Message + "."),
    };

    /// <summary>
    /// A signed in-toto Statement (DSSE) saying which lock this build verified its dependencies
    /// against, and the verdicts: <c>&lt;name&gt;.&lt;keyid8&gt;.intoto.jsonl</c> in the attestation directory.
    /// An unchanged statement is not signed again.
    /// </summary>
    private static void WriteStatement(DependencyCheckRequest request, List<PackageVerdict> verdicts, Dictionary<string, string> signatures, IReadOnlyList<LockDifference> differences)
    {
        if (string.IsNullOrWhiteSpace(request.AttestationDirectory))
        {
            return;
        }
        var key = request.SigningKey();
        if (key is null)
        {
            return;
        }
        var statement = DependencyStatement.Create(request.ProjectKey, request.TargetFramework, request.Strict, request.LockName, StepAttestations.Sha256Of(request.LockPath),
            verdicts, signatures, differences, request.VerifyPackageCache, request.Signature is not null);
        var path = Path.Combine(request.AttestationDirectory, $"{request.StatementName}.{key.KeyId.Substring(0, 8)}.intoto.jsonl");
        var text = JsonText.Write(statement, indented: false);
        if (File.Exists(path) && StatementCache.Matches(request.StateFile, request.StatementName, text))
        {
            return;
        }
        Directory.CreateDirectory(request.AttestationDirectory);
        StepAttestations.WriteEnvelope(statement, key, path);
        StatementCache.Remember(request.StateFile, request.StatementName, text);
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
            return file is not null && File.Exists(file) && InputFile.ReadAllText(file, InputKind.Cache) == Sha256Hex.Of(text);
        }

        public static void Remember(string? stateFile, string name, string text)
        {
            var file = FileFor(stateFile, name);
            if (file is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                AtomicFile.WriteAllBytes(file, System.Text.Encoding.ASCII.GetBytes(Sha256Hex.Of(text)));
            }
        }
    }
}
