using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>A lock as a check loads it: the lock, or null with what to report (a log line, or an error that fails the check).</summary>
/// <param name="Lock">The lock to verify against; null when there is none or it cannot be trusted.</param>
/// <param name="Finding">Why there is none: a message, SB1403 (a lock is required) or SB1402 (another repository's lock).</param>
public sealed record LoadedLock(RepositoryLock? Lock, CodedDiagnostic? Finding);

/// <summary>
/// What every lock check starts from, before restore and after: the lock (<see cref="Load"/>) and the environment as this
/// build sees it (<see cref="Observe"/>: the SDK, global.json, the MSBuild SDK packages and the tools).
/// </summary>
public static class LockEnvironment
{
    /// <summary>
    /// The lock at <paramref name="lockPath"/>; without one a message, or SB1403 when <paramref name="requireLock"/>. A lock
    /// none of whose projects exist under <paramref name="root"/> belongs to another repository: SB1402, in every mode.
    /// </summary>
    /// <param name="lockPath">The lock file.</param>
    /// <param name="lockName">Its path relative to the root, for messages.</param>
    /// <param name="root">The repository root.</param>
    /// <param name="requireLock">A missing lock is an error.</param>
    /// <exception cref="LockFormatException">The lock cannot be read or trusted (SB1400, SB1401).</exception>
    public static LoadedLock Load(string lockPath, string lockName, string root, bool requireLock)
    {
        if (!InputFile.Exists(lockPath))
        {
            return new LoadedLock(null, requireLock
                ? CodedDiagnostic.Error("SB1403", $"There is no lock at {lockName} and SecureBuildLockMode is strict. Create it with `securebuild lock` at the repository root and commit it.")
                : CodedDiagnostic.Message($"SecureBuild: no lock at {lockPath}; dependencies are not pinned. Create one with `securebuild lock`."));
        }
        var lockModel = LockFile.Load(lockPath, lockName);
        if (lockModel.Projects.Count > 0 && !lockModel.Projects.Keys.Any(p => File.Exists(Path.Combine(root, p))))
        {
            return new LoadedLock(null, CodedDiagnostic.Error("SB1402",
                $"{lockName} belongs to another repository: none of its projects ({string.Join(", ", lockModel.Projects.Keys.Take(5))}) exist under {root}. Remove it and create this repository's lock with `securebuild lock`."));
        }
        return new LoadedLock(lockModel, null);
    }

    /// <summary>The SDK, global.json, MSBuild SDK packages and tools as a build of <paramref name="projectFile"/> sees them.</summary>
    /// <param name="projectFile">The project (global.json is looked for from its folder up; its Sdk attributes name MSBuild SDKs).</param>
    /// <param name="root">The repository root (where the tool manifest is looked for).</param>
    /// <param name="sdkVersion">The running .NET SDK version; empty: not observed.</param>
    /// <param name="packagesDirectory">The global packages folder, where MSBuild SDK packages are found.</param>
    /// <param name="sdkPackageDirectory">The folder of the SecureBuild.Sdk package running the build (an MSBuild SDK too); empty: none.</param>
    public static LockObservation Observe(string projectFile, string root, string? sdkVersion, string? packagesDirectory, string? sdkPackageDirectory)
    {
        var o = new LockObservation { SdkVersion = string.IsNullOrWhiteSpace(sdkVersion) ? null : sdkVersion, GlobalJsonObserved = true };
        var globalJson = GlobalJsonFile.Find(Path.GetDirectoryName(Path.GetFullPath(projectFile))!);
        o.GlobalJson = globalJson is null ? null : GlobalJsonFile.Read(globalJson);
        o.MSBuildSdks = RepositoryLock.Sorted<LockedPackage>();
        foreach (var (id, version) in MSBuildSdkPackages(projectFile, o.GlobalJson, sdkPackageDirectory))
        {
            var folder = Path.Combine(packagesDirectory ?? "", id.ToLowerInvariant(), version.ToLowerInvariant());
            var hash = ReadMetadataHash(folder);
            if (hash is not null)
            {
                o.MSBuildSdks[RepositoryLock.PackageKey(id, version)] = new LockedPackage { ContentHash = hash };
            }
        }
        var manifest = ToolManifestFile.Find(root);
        o.Tools = manifest is null ? RepositoryLock.Sorted<LockedTool>() : ToolManifestFile.Read(manifest);
        return o;
    }

    /// <summary>MSBuild SDKs named with a version: global.json msbuild-sdks, the project file, and the running SDK package.</summary>
    public static IEnumerable<(string Id, string Version)> MSBuildSdkPackages(string projectFile, GlobalJsonPin? globalJson, string? sdkPackageDirectory)
    {
        var result = new SortedDictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase);
        foreach (var kv in globalJson?.MSBuildSdks ?? new SortedDictionary<string, string>())
        {
            result[kv.Key + "/" + kv.Value] = (kv.Key, kv.Value);
        }
        foreach (var kv in ProjectFileSdks.Read(projectFile))
        {
            result[kv.Key + "/" + kv.Value] = (kv.Key, kv.Value);
        }
        if (!string.IsNullOrWhiteSpace(sdkPackageDirectory))
        {
            var dir = new DirectoryInfo(sdkPackageDirectory);
            if (dir.Parent is not null && File.Exists(Path.Combine(dir.FullName, ".nupkg.metadata")))
            {
                result[dir.Parent.Name + "/" + dir.Name] = (dir.Parent.Name, dir.Name);
            }
        }
        return result.Values;
    }

    /// <summary>The content hash NuGet recorded in a package folder's .nupkg.metadata; null when it is missing or unreadable.</summary>
    public static string? ReadMetadataHash(string packageFolder)
    {
        var file = Path.Combine(packageFolder, ".nupkg.metadata");
        if (!File.Exists(file))
        {
            return null;
        }
        try
        {
            return JsonParser.ParseGenerated(InputFile.ReadAllBytes(file, InputKind.Metadata)) is JsonMap o && o.TryGetValue("contentHash", out var h) && h is JsonString s ? s.Value : null;
        }
        catch (JsonFormatException)
        {
            return null;
        }
    }
}
