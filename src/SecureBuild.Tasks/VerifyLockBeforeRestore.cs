using Microsoft.Build.Framework;
using SecureBuild.Core.Locking;

namespace SecureBuild.Tasks;

/// <summary>
/// Runs while NuGet builds the restore graph, before anything is downloaded: checks the lock itself,
/// the SDK, global.json, MSBuild SDKs, the tool manifest and the project's PackageReference and
/// PackageDownload items against the lock. With Update, records them instead.
/// </summary>
public sealed class VerifyLockBeforeRestore : LockTask
{
    /// <summary>@(PackageReference) as restore collected it.</summary>
    public ITaskItem[] PackageReferences { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>@(PackageVersion): central versions.</summary>
    public ITaskItem[] PackageVersions { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>@(PackageDownload).</summary>
    public ITaskItem[] PackageDownloads { get; set; } = Array.Empty<ITaskItem>();

    protected override bool ExecuteCore()
    {
        // Without a lock there is nothing to compare with: the environment is not even looked at (this runs once per framework).
        var lockModel = Update ? null : LoadLock();
        if (!Update && lockModel is null)
        {
            return !Log.HasLoggedErrors;
        }
        var observation = ObserveEnvironment();
        observation.Project = ProjectKey;
        if (!string.IsNullOrWhiteSpace(TargetFramework))
        {
            observation.Framework = TargetFramework;
            observation.FrameworkState = new LockedFramework { References = DeclaredReferences() };
        }
        if (Update)
        {
            Core.Locking.LockFile.Update(LockPath, l => LockComparer.Merge(l, observation));
            Log.LogMessage(MessageImportance.Low, $"SecureBuild: recorded {ProjectKey} ({TargetFramework}) references in {LockPath}.");
            return true;
        }
        if (lockModel is null)
        {
            return !Log.HasLoggedErrors;
        }
        var differences = LockComparer.Compare(lockModel, observation);
        // PackageDownload items the project declares must be locked with the same version.
        if (observation.Framework is not null && lockModel.Projects.TryGetValue(ProjectKey, out var project) &&
            project.Frameworks.TryGetValue(observation.Framework, out var framework) && framework.Downloads is not null)
        {
            var extra = new List<LockDifference>();
            foreach (var (id, version) in DeclaredDownloads())
            {
                framework.Downloads.TryGetValue(id, out var locked);
                if (!string.Equals(locked, version, StringComparison.OrdinalIgnoreCase))
                {
                    extra.Add(new LockDifference(DriftKind.Download, $"{ProjectKey} ({observation.Framework}): PackageDownload {id}", locked, version,
                        locked is null
                            ? $"{ProjectKey} ({observation.Framework}): PackageDownload {id} {version} was added (not in the lock)"
                            : $"{ProjectKey} ({observation.Framework}): PackageDownload {id} changed from {locked} to {version}"));
                }
            }
            differences = differences.Concat(extra).ToList();
        }
        Report(differences);
        return !Log.HasLoggedErrors;
    }

    private bool Declared(ITaskItem item)
    {
        if (string.Equals(item.GetMetadata("IsImplicitlyDefined"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var definedIn = item.GetMetadata("DefiningProjectFullPath");
        if (string.IsNullOrEmpty(definedIn))
        {
            return true;
        }
        var root = Root.Replace('\\', '/').TrimEnd('/') + "/";
        return Path.GetFullPath(definedIn).Replace('\\', '/').StartsWith(root, StringComparison.Ordinal);
    }

    private SortedDictionary<string, string> DeclaredReferences()
    {
        var central = PackageVersions.GroupBy(v => v.ItemSpec, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last().GetMetadata("Version"), StringComparer.OrdinalIgnoreCase);
        var result = RepositoryLock.Sorted<string>();
        foreach (var reference in PackageReferences.Where(Declared))
        {
            var version = reference.GetMetadata("VersionOverride");
            if (string.IsNullOrWhiteSpace(version))
            {
                version = reference.GetMetadata("Version");
            }
            if (string.IsNullOrWhiteSpace(version) && central.TryGetValue(reference.ItemSpec, out var c))
            {
                version = c;
            }
            result[reference.ItemSpec.ToLowerInvariant()] = string.IsNullOrWhiteSpace(version) ? "(no version)" : version.Trim();
        }
        return result;
    }

    private IEnumerable<(string Id, string Version)> DeclaredDownloads() =>
        PackageDownloads.Where(Declared).Where(d => !PackageSources.IsRuntimeSpecific(d.ItemSpec))
            .Select(d => (d.ItemSpec.ToLowerInvariant(), ProjectAssets.ExactVersion(d.GetMetadata("Version"))));
}
