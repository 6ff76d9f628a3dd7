namespace SecureBuild.Core.Locking;

/// <summary>A targeting pack the SDK resolved for a framework (the folder it installed, without a .nupkg).</summary>
public sealed class TargetingPackFolder
{
    public TargetingPackFolder(string id, string version, string path)
    {
        Id = id;
        Version = version;
        Path = path;
    }

    public string Id { get; }
    public string Version { get; }
    public string Path { get; }
}

/// <summary>What the trust policy says about one package's signature.</summary>
public sealed class SignatureOutcome
{
    public SignatureOutcome(string packageKey, SignatureFinding finding, string message)
    {
        PackageKey = packageKey;
        Finding = finding;
        Message = message;
    }

    public string PackageKey { get; }
    public SignatureFinding Finding { get; }
    public string Message { get; }
}

/// <summary>
/// The checks that run after restore and before the compiler reads anything, one method per step, in the order the build
/// runs them (the VerifyDependencies task maps MSBuild items in, logs the findings with their codes, and compares with
/// the lock):
/// <list type="number">
/// <item><see cref="ObserveFramework"/>: what restore resolved for the framework (packages, downloads, targeting packs).</item>
/// <item><see cref="PackagesToVerify"/>: every package folder restore resolved (any graph, any RID), the downloads and
/// the MSBuild SDKs, with the content hashes project.assets.json and the lock expect.</item>
/// <item><see cref="VerifyCache"/>: each folder against its own .nupkg (<see cref="PackageFolderVerifier"/>).</item>
/// <item><see cref="HashPacks"/>: targeting packs as folder digests (<see cref="DirectoryTreeDigest"/>).</item>
/// <item><see cref="EvaluateSignatures"/>: each verified package's signature against the trust policy; what was seen
/// (content hashes, signers) goes into the observation the lock is compared with.</item>
/// </list>
/// Folders are remembered in a <see cref="PackageVerificationState"/> (obj/, and the per-user store) and in the build's
/// <see cref="ConfirmedFolders"/>, so a no-op or clean build only lstats what earlier builds verified.
/// </summary>
public sealed class DependencyVerification
{
    private readonly PackageVerificationState _state;
    private readonly ConfirmedFolders? _confirmed;
    private readonly PackageFolderVerifier _verifier;

    /// <param name="state">Folders that passed in earlier builds.</param>
    /// <param name="confirmed">What this build already confirmed (null: nothing is shared within the build).</param>
    /// <param name="contentHash">NuGet's content hash of a .nupkg.</param>
    /// <param name="signature">Inspects a .nupkg's signature (<see cref="PackageSignatureInfo.ToText"/>); null: signatures are not read.</param>
    /// <param name="utcNow">The clock (tests pin it).</param>
    public DependencyVerification(PackageVerificationState state, ConfirmedFolders? confirmed, Func<string, string> contentHash, Func<string, string?>? signature,
        Func<DateTime>? utcNow = null)
    {
        _state = state;
        _confirmed = confirmed;
        _verifier = new PackageFolderVerifier(contentHash, signature, state, utcNow, confirmed);
    }

    /// <summary>The verifier's counts (in full, by lstat, confirmed earlier in the build).</summary>
    public PackageFolderVerifier Verifier => _verifier;

    /// <summary>
    /// Step 1: the framework's part of the observation (packages and downloads without runtime-specific ones, and the
    /// targeting packs by version), and the "id/version" keys the lock pins for it.
    /// </summary>
    public static LockedFramework ObserveFramework(ProjectAssets assets, string framework, IEnumerable<TargetingPackFolder> packs, out HashSet<string> locked)
    {
        var state = new LockedFramework
        {
            Packages = WithoutRuntimeSpecific(assets.FrameworkPackages.TryGetValue(framework, out var p) ? p : null),
            Downloads = WithoutRuntimeSpecific(assets.Downloads.TryGetValue(framework, out var d) ? d : null),
            Packs = RepositoryLock.Sorted<string>(),
        };
        locked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in state.Packages.Concat(state.Downloads))
        {
            locked.Add(RepositoryLock.PackageKey(kv.Key, kv.Value));
        }
        foreach (var pack in packs)
        {
            if (pack.Id.Length == 0 || pack.Version.Length == 0 || pack.Path.Length == 0 || !Directory.Exists(pack.Path) || PackageSources.IsRuntimeSpecific(pack.Id))
            {
                continue;
            }
            state.Packs[pack.Id.ToLowerInvariant()] = pack.Version;
        }
        return state;
    }

    /// <summary>
    /// Step 2: the package folders to verify, by "id/version", each once: the assets' libraries (with the content hash
    /// restore recorded), the downloads and the MSBuild SDKs ("id/version" keys), with the lock's content hash where it
    /// pins one. A folder is looked for in every package folder restore used, the first that has it wins.
    /// </summary>
    public static List<PackageToVerify> PackagesToVerify(ProjectAssets assets, IEnumerable<string> msbuildSdks, RepositoryLock? lockModel, string? packagesDirectory)
    {
        var folders = assets.PackageFolders.Count > 0 ? assets.PackageFolders : new List<string> { packagesDirectory ?? "" };
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
        foreach (var sdk in msbuildSdks)
        {
            var slash = sdk.IndexOf('/');
            if (slash > 0)
            {
                Add(sdk.Substring(0, slash), sdk.Substring(slash + 1), null, null);
            }
        }
        return result.Values.ToList();
    }

    /// <summary>Step 3: every folder against its .nupkg; the verdicts in the order given.</summary>
    public List<PackageVerdict> VerifyCache(IEnumerable<PackageToVerify> packages) => packages.Select(_verifier.Verify).ToList();

    /// <summary>Step 4: the digest of each targeting pack the framework locks (<see cref="LockedFramework.Packs"/>), into <paramref name="observation"/>.Packs.</summary>
    public void HashPacks(IEnumerable<TargetingPackFolder> packs, LockObservation observation)
    {
        if (observation.FrameworkState?.Packs is not { } locked)
        {
            return;
        }
        observation.Packs ??= RepositoryLock.Sorted<LockedPack>();
        foreach (var pack in packs)
        {
            if (pack.Id.Length == 0 || !locked.ContainsKey(pack.Id.ToLowerInvariant()))
            {
                continue;
            }
            var (sha, files) = DirectoryTreeDigest.Compute(pack.Path, _state, _confirmed);
            observation.Packs[RepositoryLock.PackageKey(pack.Id, pack.Version)] = new LockedPack { Sha256 = sha, Files = files };
        }
    }

    /// <summary>
    /// Step 5: for each package that passed, its content hash and signers go into the observation (packages the lock pins
    /// for the framework, and MSBuild SDKs), and its signature is judged against <paramref name="trusted"/>. Packages
    /// whose signature was not read get no outcome.
    /// </summary>
    public static List<SignatureOutcome> EvaluateSignatures(IEnumerable<PackageVerdict> verdicts, IReadOnlyCollection<TrustedSigner> trusted, bool requireSigned,
        ISet<string> locked, LockObservation observation)
    {
        observation.Packages ??= RepositoryLock.Sorted<LockedPackage>();
        observation.Signers ??= RepositoryLock.Sorted<LockedSigner>();
        var outcomes = new List<SignatureOutcome>();
        foreach (var verdict in verdicts.Where(v => v.Ok))
        {
            var key = verdict.Package.Key;
            var info = PackageSignatureInfo.FromText(verdict.Signature);
            var lockedPackage = new LockedPackage { ContentHash = verdict.ContentHash!, Signature = info?.ToLocked() };
            if (locked.Contains(key))
            {
                observation.Packages[key] = lockedPackage;
            }
            if (observation.MSBuildSdks is { } sdks && sdks.ContainsKey(key))
            {
                sdks[key] = lockedPackage;
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
            var (finding, message) = SignaturePolicy.Evaluate($"{verdict.Package.Id} {verdict.Package.Version}", info, trusted, requireSigned);
            outcomes.Add(new SignatureOutcome(key, finding, message));
        }
        return outcomes;
    }

    /// <summary>The folders this run used, for <see cref="PackageVerificationState.Save"/> (everything else is dropped from obj/).</summary>
    public static IEnumerable<string> FoldersInUse(IEnumerable<PackageToVerify> packages, IEnumerable<TargetingPackFolder> packs) =>
        packages.Select(p => p.Directory).Concat(packs.Where(p => p.Path.Length > 0).Select(p => "tree:" + new DirectoryInfo(p.Path).FullName));

    private static SortedDictionary<string, string> WithoutRuntimeSpecific(SortedDictionary<string, string>? map)
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
}
