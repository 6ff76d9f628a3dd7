namespace SecureBuild.Core.Locking;

/// <summary>
/// Compares what a build sees with its lock (<see cref="Compare"/>) and records it into a lock
/// (<see cref="Merge"/>). Only what was observed is compared or merged.
/// </summary>
public static class LockComparer
{
    /// <summary>Every difference between <paramref name="locked"/> and <paramref name="observed"/>, in a stable order.</summary>
    public static IReadOnlyList<LockDifference> Compare(RepositoryLock locked, LockObservation observed)
    {
        var d = new List<LockDifference>();
        if (observed.SdkVersion is not null && locked.SdkVersion is not null &&
            !string.Equals(observed.SdkVersion, locked.SdkVersion, StringComparison.Ordinal))
        {
            d.Add(new LockDifference(DriftKind.Sdk, ".NET SDK", locked.SdkVersion, observed.SdkVersion,
                $"the .NET SDK running this build is {observed.SdkVersion}, the lock pins {locked.SdkVersion}"));
        }
        if (observed.GlobalJsonObserved)
        {
            CompareGlobalJson(locked.GlobalJson, observed.GlobalJson, d);
        }
        if (observed.MSBuildSdks is not null)
        {
            foreach (var sdk in observed.MSBuildSdks)
            {
                if (!locked.MSBuildSdks.TryGetValue(sdk.Key, out var l))
                {
                    var id = sdk.Key.Substring(0, sdk.Key.IndexOf('/'));
                    var other = locked.MSBuildSdks.Keys.FirstOrDefault(k => k.StartsWith(id + "/", StringComparison.Ordinal));
                    d.Add(new LockDifference(DriftKind.MSBuildSdk, "MSBuild SDK " + id, other, sdk.Key,
                        other is null
                            ? $"MSBuild SDK {sdk.Key} is not in the lock"
                            : $"MSBuild SDK {id} changed from {Version(other)} to {Version(sdk.Key)}"));
                }
                else if (!string.Equals(l.ContentHash, sdk.Value.ContentHash, StringComparison.Ordinal))
                {
                    d.Add(new LockDifference(DriftKind.MSBuildSdk, "MSBuild SDK " + sdk.Key, l.ContentHash, sdk.Value.ContentHash,
                        $"MSBuild SDK {sdk.Key} has content hash {sdk.Value.ContentHash}, the lock pins {l.ContentHash}"));
                }
            }
        }
        if (observed.Tools is not null)
        {
            CompareTools(locked.Tools, observed.Tools, d);
        }
        if (observed.Sources is not null)
        {
            foreach (var source in observed.Sources.Where(s => !locked.Sources.Contains(s)))
            {
                d.Add(new LockDifference(DriftKind.Source, "package source " + source, null, source,
                    $"{observed.Project ?? "the build"} restores from package source {source}, which is not in the lock (locked: {string.Join(", ", locked.Sources)})"));
            }
        }
        if (observed.Project is not null && observed.FrameworkState is not null && observed.Framework is not null)
        {
            CompareFramework(locked, observed, d);
        }
        if (observed.Packs is not null)
        {
            foreach (var pack in observed.Packs)
            {
                if (locked.Packs.TryGetValue(pack.Key, out var l) && (l.Sha256 != pack.Value.Sha256 || l.Files != pack.Value.Files))
                {
                    d.Add(new LockDifference(DriftKind.Pack, "targeting pack " + pack.Key, l.Sha256, pack.Value.Sha256,
                        $"targeting pack {pack.Key} differs from the locked one ({pack.Value.Files} files, sha256 {Short(pack.Value.Sha256)}; locked: {l.Files} files, sha256 {Short(l.Sha256)})"));
                }
            }
        }
        if (observed.Files is not null && observed.Project is not null)
        {
            locked.Projects.TryGetValue(observed.Project, out var project);
            foreach (var file in observed.Files)
            {
                if (project is null || !project.Files.TryGetValue(file.Key, out var sha))
                {
                    d.Add(new LockDifference(DriftKind.File, observed.Project + ": download " + file.Key, null, file.Value,
                        $"{observed.Project} downloads {file.Key} (sha256 {file.Value}), which is not in the lock"));
                }
                else if (sha != file.Value)
                {
                    d.Add(new LockDifference(DriftKind.File, observed.Project + ": download " + file.Key, sha, file.Value,
                        $"{observed.Project}: the file downloaded from {file.Key} changed: sha256 {file.Value}, the lock pins {sha}"));
                }
            }
        }
        return d;
    }

    private static void CompareGlobalJson(GlobalJsonPin? locked, GlobalJsonPin? actual, List<LockDifference> d)
    {
        if (locked is null && actual is null)
        {
            return;
        }
        if (locked is null || actual is null)
        {
            d.Add(new LockDifference(DriftKind.GlobalJson, "global.json", locked is null ? null : "present", actual is null ? null : "present",
                locked is null ? "global.json was added; the lock was made without one" : "global.json was removed; the lock was made with one"));
            return;
        }
        void Field(string name, string? l, string? a)
        {
            if (!string.Equals(l, a, StringComparison.Ordinal))
            {
                d.Add(new LockDifference(DriftKind.GlobalJson, "global.json " + name, l, a,
                    $"global.json {name} changed from {l ?? "(unset)"} to {a ?? "(unset)"}"));
            }
        }
        Field("sdk.version", locked.SdkVersion, actual.SdkVersion);
        Field("sdk.rollForward", locked.RollForward, actual.RollForward);
        Field("sdk.allowPrerelease", Text(locked.AllowPrerelease), Text(actual.AllowPrerelease));
        foreach (var change in MapChanges(locked.MSBuildSdks, actual.MSBuildSdks))
        {
            d.Add(new LockDifference(DriftKind.GlobalJson, "global.json msbuild-sdks " + change.Key, change.Locked, change.Actual,
                $"global.json msbuild-sdks: {Describe(change.Key, change.Locked, change.Actual)}"));
        }
    }

    private static void CompareTools(SortedDictionary<string, LockedTool> locked, SortedDictionary<string, LockedTool> actual, List<LockDifference> d)
    {
        foreach (var id in locked.Keys.Union(actual.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            locked.TryGetValue(id, out var l);
            actual.TryGetValue(id, out var a);
            if (l is null || a is null)
            {
                d.Add(new LockDifference(DriftKind.Tool, "tool " + id, l?.Version, a?.Version,
                    l is null ? $"tool manifest: tool {id} {a!.Version} was added" : $"tool manifest: tool {id} {l.Version} was removed"));
                continue;
            }
            if (l.Version != a.Version)
            {
                d.Add(new LockDifference(DriftKind.Tool, "tool " + id, l.Version, a.Version, $"tool manifest: tool {id} changed from {l.Version} to {a.Version}"));
            }
            if (!l.Commands.SetEquals(a.Commands))
            {
                d.Add(new LockDifference(DriftKind.Tool, "tool " + id, string.Join(",", l.Commands), string.Join(",", a.Commands),
                    $"tool manifest: the commands of tool {id} changed from [{string.Join(", ", l.Commands)}] to [{string.Join(", ", a.Commands)}]"));
            }
            if (l.RollForward != a.RollForward)
            {
                d.Add(new LockDifference(DriftKind.Tool, "tool " + id, Text(l.RollForward), Text(a.RollForward),
                    $"tool manifest: rollForward of tool {id} changed from {Text(l.RollForward)} to {Text(a.RollForward)}"));
            }
        }
    }

    private static void CompareFramework(RepositoryLock locked, LockObservation observed, List<LockDifference> d)
    {
        var where = $"{observed.Project} ({observed.Framework})";
        if (!locked.Projects.TryGetValue(observed.Project!, out var project))
        {
            d.Add(new LockDifference(DriftKind.Project, observed.Project!, null, observed.Project,
                $"project {observed.Project} is not in the lock (locked projects: {string.Join(", ", locked.Projects.Keys)})"));
            return;
        }
        if (!project.Frameworks.TryGetValue(observed.Framework!, out var l))
        {
            d.Add(new LockDifference(DriftKind.Project, where, string.Join(";", project.Frameworks.Keys), observed.Framework,
                $"{observed.Project}: target framework {observed.Framework} is not in the lock (locked: {string.Join(", ", project.Frameworks.Keys)})"));
            return;
        }
        var a = observed.FrameworkState!;
        Maps(DriftKind.Reference, "PackageReference", l.References, a.References);
        Maps(DriftKind.Package, "package", l.Packages, a.Packages);
        Maps(DriftKind.Download, "PackageDownload", l.Downloads, a.Downloads);
        Maps(DriftKind.Pack, "targeting pack", l.Packs, a.Packs);

        if (observed.Packages is not null)
        {
            foreach (var package in observed.Packages)
            {
                if (!locked.Packages.TryGetValue(package.Key, out var lp))
                {
                    // A new or changed package is already named by the framework maps; report only an entry the lock lost.
                    var slash = package.Key.IndexOf('/');
                    var id = package.Key.Substring(0, slash);
                    var version = package.Key.Substring(slash + 1);
                    if (InMap(l.Packages, id, version) || InMap(l.Downloads, id, version))
                    {
                        d.Add(new LockDifference(DriftKind.Package, "package " + package.Key, null, package.Value.ContentHash,
                            $"{where}: package {package.Key} is not in the lock's packages"));
                    }
                    continue;
                }
                if (!string.Equals(lp.ContentHash, package.Value.ContentHash, StringComparison.Ordinal))
                {
                    d.Add(new LockDifference(DriftKind.Package, "package " + package.Key, lp.ContentHash, package.Value.ContentHash,
                        $"{where}: package {package.Key} has content hash {package.Value.ContentHash}, the lock pins {lp.ContentHash} (same version, different package: another source or a re-published package)"));
                }
                if (lp.Signature is not null && package.Value.Signature is not null)
                {
                    var ls = lp.Signature;
                    var s = package.Value.Signature;
                    if (ls.Signed != s.Signed || ls.Author != s.Author || ls.Repository != s.Repository)
                    {
                        d.Add(new LockDifference(DriftKind.Signature, "package " + package.Key, SignatureText(ls), SignatureText(s),
                            $"{where}: the signature of package {package.Key} changed from {SignatureText(ls)} to {SignatureText(s)}"));
                    }
                }
            }
        }

        void Maps(DriftKind kind, string what, SortedDictionary<string, string>? lm, SortedDictionary<string, string>? am)
        {
            if (lm is null || am is null)
            {
                return;
            }
            foreach (var change in MapChanges(lm, am))
            {
                d.Add(new LockDifference(kind, $"{where}: {what} {change.Key}", change.Locked, change.Actual,
                    $"{where}: {what} {Describe(change.Key, change.Locked, change.Actual)}"));
            }
        }
    }

    /// <summary>
    /// Records <paramref name="observed"/> into <paramref name="target"/>: environment parts are
    /// replaced, the project's framework entry is replaced (map by map), packages, packs and signers
    /// are added or replaced. <paramref name="keepFrameworks"/>, when given, are the project's only
    /// frameworks (others are dropped). Unreferenced packages are removed afterwards.
    /// </summary>
    public static void Merge(RepositoryLock target, LockObservation observed, IEnumerable<string>? keepFrameworks = null)
    {
        if (observed.SdkVersion is not null)
        {
            target.SdkVersion = observed.SdkVersion;
        }
        if (observed.GlobalJsonObserved)
        {
            target.GlobalJson = observed.GlobalJson;
        }
        if (observed.MSBuildSdks is not null)
        {
            foreach (var sdk in observed.MSBuildSdks)
            {
                var id = sdk.Key.Substring(0, sdk.Key.IndexOf('/') + 1);
                foreach (var old in target.MSBuildSdks.Keys.Where(k => k.StartsWith(id, StringComparison.Ordinal)).ToList())
                {
                    target.MSBuildSdks.Remove(old);
                }
                target.MSBuildSdks[sdk.Key] = sdk.Value;
            }
        }
        if (observed.Tools is not null)
        {
            target.Tools.Clear();
            foreach (var t in observed.Tools)
            {
                target.Tools[t.Key] = t.Value;
            }
        }
        if (observed.Sources is not null)
        {
            target.Sources.UnionWith(observed.Sources);
        }
        if (observed.Project is not null)
        {
            if (!target.Projects.TryGetValue(observed.Project, out var project))
            {
                target.Projects[observed.Project] = project = new LockedProject();
            }
            if (observed.Framework is not null && observed.FrameworkState is not null)
            {
                if (!project.Frameworks.TryGetValue(observed.Framework, out var f))
                {
                    project.Frameworks[observed.Framework] = f = new LockedFramework();
                }
                var a = observed.FrameworkState;
                f.References = a.References ?? f.References;
                f.Packages = a.Packages ?? f.Packages;
                f.Downloads = a.Downloads ?? f.Downloads;
                f.Packs = a.Packs ?? f.Packs;
            }
            if (keepFrameworks is not null)
            {
                var keep = new HashSet<string>(keepFrameworks, StringComparer.Ordinal);
                foreach (var stale in project.Frameworks.Keys.Where(k => !keep.Contains(k)).ToList())
                {
                    project.Frameworks.Remove(stale);
                }
            }
            foreach (var file in observed.Files ?? new SortedDictionary<string, string>())
            {
                project.Files[file.Key] = file.Value;
            }
        }
        foreach (var p in observed.Packages ?? new SortedDictionary<string, LockedPackage>())
        {
            target.Packages[p.Key] = p.Value;
        }
        foreach (var p in observed.Packs ?? new SortedDictionary<string, LockedPack>())
        {
            target.Packs[p.Key] = p.Value;
        }
        foreach (var s in observed.Signers ?? new SortedDictionary<string, LockedSigner>())
        {
            target.Signers[s.Key] = s.Value;
        }
        target.RemoveUnreferenced();
    }

    private static IEnumerable<(string Key, string? Locked, string? Actual)> MapChanges(IDictionary<string, string> locked, IDictionary<string, string> actual)
    {
        foreach (var key in locked.Keys.Union(actual.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            locked.TryGetValue(key, out var l);
            actual.TryGetValue(key, out var a);
            if (!string.Equals(l, a, StringComparison.Ordinal))
            {
                yield return (key, l, a);
            }
        }
    }

    private static string Describe(string key, string? locked, string? actual) =>
        locked is null ? $"{key} {actual} was added (not in the lock)"
        : actual is null ? $"{key} {locked} was removed (the lock has it)"
        : $"{key} changed from {locked} to {actual}";

    private static bool InMap(SortedDictionary<string, string>? map, string id, string version) =>
        map is not null && map.TryGetValue(id, out var v) && string.Equals(v.ToLowerInvariant(), version, StringComparison.Ordinal);

    private static string Version(string key) => key.Substring(key.IndexOf('/') + 1);

    private static string Short(string sha) => sha.Length > 12 ? sha.Substring(0, 12) : sha;

    private static string? Text(bool? value) => value is null ? null : value.Value ? "true" : "false";

    internal static string SignatureText(LockedSignature s)
    {
        if (!s.Signed)
        {
            return "unsigned";
        }
        var parts = new List<string>();
        if (s.Author is not null)
        {
            parts.Add("author " + s.Author);
        }
        if (s.Repository is not null)
        {
            parts.Add("repository " + s.Repository);
        }
        return parts.Count == 0 ? "signed" : string.Join(" + ", parts);
    }
}
