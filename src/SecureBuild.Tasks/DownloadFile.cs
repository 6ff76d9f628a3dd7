using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Stands in for MSBuild's <c>DownloadFile</c> in projects that use SecureBuild.Sdk (registered by
/// SecureBuild.Lock.targets unless SecureBuildLockDownloads is false): MSBuild's own task downloads
/// the file, then its SHA-256 is checked against the lock's <c>files</c> entry for the URL (drift
/// SB1424/SB2424), or recorded when the lock is being updated. Same parameters as MSBuild's task.
/// </summary>
public sealed class DownloadFile : CodedTask
{
    /// <summary>
    /// Lock settings per project file, registered by <see cref="RegisterLockSettings"/> earlier in this build and node
    /// (see <see cref="BuildState"/> for the lifetime: never a static, which a reused node would carry into the next build).
    /// </summary>
    internal static ConcurrentDictionary<string, LockSettings> Settings(IBuildEngine? engine) =>
        BuildState.GetOrCreate(engine, "SecureBuild.LockSettings", () => new ConcurrentDictionary<string, LockSettings>(StringComparer.Ordinal));

    [Required]
    public string SourceUrl { get; set; } = "";

    [Required]
    public ITaskItem DestinationFolder { get; set; } = null!;

    public ITaskItem? DestinationFileName { get; set; }

    public int Retries { get; set; }

    public int RetryDelayMilliseconds { get; set; } = 5000;

    public bool SkipUnchangedFiles { get; set; } = true;

    public int Timeout { get; set; } = 100_000;

    [Output]
    public ITaskItem? DownloadedFile { get; set; }

    protected override bool ExecuteTask()
    {
        var inner = Type.GetType("Microsoft.Build.Tasks.DownloadFile, Microsoft.Build.Tasks.Core", throwOnError: false);
        if (inner is null)
        {
            Log.LogError(null, "SB1460", null, null, 0, 0, 0, 0, "SecureBuild could not find MSBuild's DownloadFile task (Microsoft.Build.Tasks.Core). Set SecureBuildLockDownloads=false to use MSBuild's task directly.");
            return false;
        }
        var task = (ITask)Activator.CreateInstance(inner)!;
        task.BuildEngine = BuildEngine;
        task.HostObject = HostObject;
        void Set(string name, object? value)
        {
            var property = inner.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
            if (property is not null && value is not null)
            {
                property.SetValue(task, value);
            }
        }
        Set(nameof(SourceUrl), SourceUrl);
        Set(nameof(DestinationFolder), DestinationFolder);
        Set(nameof(DestinationFileName), DestinationFileName);
        Set(nameof(Retries), Retries);
        Set(nameof(RetryDelayMilliseconds), RetryDelayMilliseconds);
        Set(nameof(SkipUnchangedFiles), SkipUnchangedFiles);
        Set(nameof(Timeout), Timeout);
        if (!task.Execute())
        {
            return false;
        }
        DownloadedFile = inner.GetProperty(nameof(DownloadedFile))?.GetValue(task) as ITaskItem;
        if (DownloadedFile is null || !File.Exists(DownloadedFile.GetMetadata("FullPath")))
        {
            return !Log.HasLoggedErrors;
        }
        return Check(DownloadedFile.GetMetadata("FullPath"));
    }

    private bool Check(string file)
    {
        var projectFile = BuildEngine.ProjectFileOfTaskNode ?? "";
        if (!Settings(BuildEngine).TryGetValue(Path.GetFullPath(projectFile), out var settings))
        {
            // Not registered yet (a download before BeforeBuild): what the command line says, else the defaults.
            var global = (BuildEngine as IBuildEngine6)?.GetGlobalProperties() ?? new Dictionary<string, string>();
            string? Global(string name) => global.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;
            var root = Global("SecureBuildRootDir") ?? RepositoryRoot.Find(Path.GetDirectoryName(projectFile) ?? Directory.GetCurrentDirectory());
            var mode = Global("SecureBuildLockMode") ?? (string.Equals(Global("ContinuousIntegrationBuild"), "true", StringComparison.OrdinalIgnoreCase) ? "strict" : "warn");
            settings = new LockSettings(Global("SecureBuildLockFile") ?? Path.Combine(root, RepositoryLock.DefaultFileName), root, mode,
                string.Equals(Global("SecureBuildLockUpdate"), "true", StringComparison.OrdinalIgnoreCase));
        }
        if (settings.Mode == "off" && !settings.Update)
        {
            return true;
        }
        var sha = Core.Crypto.Sha256Hex.OfFile(file);
        var root2 = settings.Root.Replace('\\', '/').TrimEnd('/') + "/";
        var full = Path.GetFullPath(projectFile).Replace('\\', '/');
        var project = full.StartsWith(root2, StringComparison.Ordinal) ? full.Substring(root2.Length) : Path.GetFileName(full);
        var observation = new LockObservation { Project = project, Files = RepositoryLock.Sorted<string>() };
        observation.Files[PackageSources.PortableUrl(SourceUrl)] = sha;
        try
        {
            if (settings.Update)
            {
                LockFile.Update(settings.LockPath, l => LockComparer.Merge(l, observation));
                Log.LogMessage(MessageImportance.Normal, $"SecureBuild: recorded download {PackageSources.PortableUrl(SourceUrl)} (sha256 {sha}) in {settings.LockPath}.");
                return true;
            }
            if (!Core.IO.InputFile.Exists(settings.LockPath))
            {
                return true;
            }
            var differences = LockComparer.Compare(LockFile.Load(settings.LockPath, RepositoryLock.DefaultFileName), observation);
            LogDiagnostics(differences.Select(d => d.Report(strict: settings.Mode == "strict")));
        }
        catch (LockFormatException e)
        {
            Log.LogError(null, e.Problem == LockFormatProblem.DigestMismatch ? "SB1401" : "SB1400", null, null, 0, 0, 0, 0, e.Message);
        }
        return !Log.HasLoggedErrors;
    }

    internal sealed class LockSettings
    {
        public LockSettings(string lockPath, string root, string mode, bool update)
        {
            LockPath = lockPath;
            Root = root;
            Mode = mode.ToLowerInvariant();
            Update = update;
        }

        public string LockPath { get; }
        public string Root { get; }
        public string Mode { get; }
        public bool Update { get; }
    }
}

/// <summary>Tells <see cref="DownloadFile"/> where this project's lock is and how strict to be (runs early in every build).</summary>
public sealed class RegisterLockSettings : LockTask
{
    protected override bool RunsWhenOff => true;

    protected override bool ExecuteCore()
    {
        DownloadFile.Settings(BuildEngine)[Path.GetFullPath(ProjectFile)] = new DownloadFile.LockSettings(LockPath, Root, Mode, Update);
        return true;
    }
}
