using System.Security.Cryptography;
using Microsoft.Build.Framework;
using SecureBuild.Core.Json;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Provenance;

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
        var locked = new HashSet<string>(StringComparer.Ordinal); // "id/version" the lock pins for this framework
        if (framework is not null)
        {
            observation.Framework = framework;
            var state = new LockedFramework
            {
                Packages = Filter(assets.FrameworkPackages.TryGetValue(framework, out var p) ? p : null),
                Downloads = Filter(assets.Downloads.TryGetValue(framework, out var d) ? d : null),
                Packs = RepositoryLock.Sorted<string>(),
            };
            observation.FrameworkState = state;
            foreach (var kv in state.Packages.Concat(state.Downloads))
            {
                locked.Add(RepositoryLock.PackageKey(kv.Key, kv.Value));
            }
            foreach (var pack in TargetingPacks)
            {
                var id = pack.GetMetadata("NuGetPackageId");
                var version = pack.GetMetadata("NuGetPackageVersion");
                var path = pack.GetMetadata("Path");
                if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(version) || string.IsNullOrEmpty(path) || !Directory.Exists(path) ||
                    PackageSources.IsRuntimeSpecific(id))
                {
                    continue;
                }
                state.Packs[id.ToLowerInvariant()] = version;
            }
        }

        // 1. The NuGet cache: every package restore resolved (any graph, any RID), the downloads and the MSBuild SDKs.
        var verificationState = string.IsNullOrWhiteSpace(StateFile) ? PackageVerificationState.InMemory() : PackageVerificationState.Open(StateFile!);
        // Folders another framework or project of this build already confirmed are not looked at again (see BuildState for the lifetime).
        var confirmed = BuildState.GetOrCreate(BuildEngine, ConfirmedFoldersKey, () => new ConfirmedFolders());
        var verifier = new PackageFolderVerifier(NuGetPackageInspector.ContentHash,
            VerifySignatures ? nupkg => NuGetPackageInspector.Signature(nupkg).ToText() : null, verificationState, null, confirmed);
        phases.Mark("state");
        var toVerify = PackagesToVerify(assets, observation, lockModel);
        phases.Mark("to verify");
        var verdicts = new List<PackageVerdict>();
        if (VerifyPackageCache)
        {
            foreach (var package in toVerify)
            {
                var verdict = verifier.Verify(package);
                verdicts.Add(verdict);
                foreach (var problem in verdict.Problems)
                {
                    Error(problem.Code, problem.Message + ".");
                }
            }
        }
        var cacheMs = started.ElapsedMilliseconds;
        phases.Mark("cache");

        // 2. Targeting packs, hashed as folders.
        if (observation.FrameworkState?.Packs is { } packs)
        {
            foreach (var pack in TargetingPacks)
            {
                var id = pack.GetMetadata("NuGetPackageId");
                if (id.Length == 0 || !packs.ContainsKey(id.ToLowerInvariant()))
                {
                    continue;
                }
                var (sha, files) = DirectoryTreeDigest.Compute(pack.GetMetadata("Path"), verificationState, confirmed);
                observation.Packs[RepositoryLock.PackageKey(id, pack.GetMetadata("NuGetPackageVersion"))] = new LockedPack { Sha256 = sha, Files = files };
            }
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
        foreach (var verdict in verdicts.Where(v => v.Ok))
        {
            var key = verdict.Package.Key;
            var info = PackageSignatureInfo.FromText(verdict.Signature);
            var lockedPackage = new LockedPackage { ContentHash = verdict.ContentHash!, Signature = info?.ToLocked() };
            if (locked.Contains(key))
            {
                observation.Packages[key] = lockedPackage;
            }
            if (observation.MSBuildSdks!.ContainsKey(key))
            {
                observation.MSBuildSdks[key] = lockedPackage;
            }
            if (info is null)
            {
                continue;
            }
            if (info.Author is not null)
            {
                observation.Signers[info.Author] = new LockedSigner { Kind = "author", Subject = info.AuthorSubject ?? "" };
            }
            if (info.Repository is not null)
            {
                observation.Signers[info.Repository] = new LockedSigner { Kind = "repository", Subject = info.RepositorySubject ?? "" };
            }
            var (finding, message) = SignaturePolicy.Evaluate($"{verdict.Package.Id} {verdict.Package.Version}", info, trusted, RequireSignedPackages);
            signatureVerdicts[key] = finding.ToString().ToLowerInvariant();
            switch (finding)
            {
                case SignatureFinding.Invalid:
                    Error("SB1442", message + ".");
                    break;
                case SignatureFinding.UnsignedNotAllowed:
                    Error("SB1440", message + ".");
                    break;
                case SignatureFinding.Untrusted when Strict || Update:
                    Error("SB1441", message + ".");
                    break;
                case SignatureFinding.Untrusted:
                    Warning("SB2441", message + ".");
                    break;
                default:
                    Log.LogMessage(MessageImportance.Low, "SecureBuild: " + message + ".");
                    break;
            }
        }
        phases.Mark("signatures");
        verificationState.Save(toVerify.Select(p => p.Directory).Concat(TargetingPacks.Select(p => "tree:" + new DirectoryInfo(p.GetMetadata("Path")).FullName)));
        VerifiedPackages = verdicts.Select(v =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(v.Package.Key);
            item.SetMetadata("Verdict", !v.Ok ? "failed" : v.FromCache ? "cached" : "verified");
            return (ITaskItem)item;
        }).ToArray();
        phases.Mark("save");
        Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {verdicts.Count} packages verified in the cache in {cacheMs} ms ({verifier.FullyVerified} in full, the rest unchanged since they last passed; {verifier.AnsweredByStat} by lstat of their recorded files, {verifier.AnsweredByBuild} confirmed earlier in this build).");
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

    private static SortedDictionary<string, string> Filter(SortedDictionary<string, string>? map)
    {
        var result = RepositoryLock.Sorted<string>();
        foreach (var kv in map ?? new SortedDictionary<string, string>())
        {
            if (!PackageSources.IsRuntimeSpecific(kv.Key))
            {
                result[kv.Key] = kv.Value;
            }
        }
        return result;
    }

    private List<PackageToVerify> PackagesToVerify(ProjectAssets assets, LockObservation observation, RepositoryLock? lockModel)
    {
        var folders = assets.PackageFolders.Count > 0 ? assets.PackageFolders : new List<string> { PackagesDirectory ?? "" };
        var result = new SortedDictionary<string, PackageToVerify>(StringComparer.Ordinal);
        void Add(string id, string version, string? relative, string? assetsHash)
        {
            var key = RepositoryLock.PackageKey(id, version);
            if (result.ContainsKey(key))
            {
                return;
            }
            relative ??= id.ToLowerInvariant() + "/" + version.ToLowerInvariant();
            var directory = folders.Select(f => Path.Combine(f, relative)).FirstOrDefault(Directory.Exists) ?? Path.Combine(folders[0], relative);
            var package = new PackageToVerify(id, version, Path.GetFullPath(directory));
            if (assetsHash is not null)
            {
                package.ExpectedContentHashes.Add(new KeyValuePair<string, string>("project.assets.json", assetsHash));
            }
            if (lockModel is not null && (lockModel.Packages.TryGetValue(key, out var l) || lockModel.MSBuildSdks.TryGetValue(key, out l)))
            {
                package.ExpectedContentHashes.Add(new KeyValuePair<string, string>(RepositoryLock.DefaultFileName, l.ContentHash));
            }
            result[key] = package;
        }
        foreach (var library in assets.Libraries.Values)
        {
            Add(library.Id, library.Version, library.Path, library.ContentHash);
        }
        foreach (var download in assets.Downloads.Values.SelectMany(d => d))
        {
            Add(download.Key, download.Value, null, null);
        }
        foreach (var sdk in observation.MSBuildSdks!.Keys)
        {
            var slash = sdk.IndexOf('/');
            Add(sdk.Substring(0, slash), sdk.Substring(slash + 1), null, null);
        }
        return result.Values.ToList();
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
        var lockDigest = StepAttestations.Sha256Of(LockPath);
        var packages = new JsonList(verdicts.OrderBy(v => v.Package.Key, StringComparer.Ordinal).Select(v =>
        {
            var o = new JsonMap
            {
                ["name"] = "@nuget/" + v.Package.Key,
                ["contentHash"] = v.ContentHash ?? "",
                ["cache"] = v.Ok ? "verified" : "failed",
            };
            if (signatures.TryGetValue(v.Package.Key, out var s))
            {
                o["signature"] = s;
            }
            return (JsonItem)o;
        }));
        var statement = new JsonMap
        {
            ["_type"] = ProvenanceStatement.StatementType,
            ["subject"] = new JsonList(new Subject(lockName, lockDigest).ToJson()),
            ["predicateType"] = "https://securebuild.dev/attestation/dependency-verification/v1",
            ["predicate"] = new JsonMap
            {
                ["project"] = ProjectKey,
                ["framework"] = TargetFramework ?? "",
                ["mode"] = Strict ? "strict" : "warn",
                ["lock"] = new JsonMap { ["name"] = lockName, ["digest"] = new JsonMap { ["sha256"] = lockDigest["sha256"] } },
                ["verdicts"] = new JsonMap
                {
                    ["lock"] = differences.Count == 0 ? "match" : "drift",
                    ["packageCache"] = verdicts.All(v => v.Ok) ? (VerifyPackageCache ? "verified" : "skipped") : "failed",
                    ["signatures"] = !VerifySignatures ? "skipped" : signatures.Values.Any(v => v is "invalid" or "untrusted" or "unsignednotallowed") ? "failed" : "accepted",
                },
                ["drift"] = new JsonList(differences.Select(d => (JsonItem)d.Description)),
                ["packages"] = packages,
            },
        };
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
