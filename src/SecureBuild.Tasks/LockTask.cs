using Microsoft.Build.Framework;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// What the lock tasks share: where the lock is, how strict to be, how drift is reported
/// (SB14xx errors in strict mode, SB24xx warnings otherwise) and the observation of the
/// environment (SDK, global.json, MSBuild SDKs, tools).
/// </summary>
public abstract class LockTask : CodedTask
{
    /// <summary>The lock file; empty: securebuild.lock.json in the root directory.</summary>
    public string? LockFile { get; set; }

    /// <summary>The repository root; empty: the nearest directory above the project holding .git (else global.json).</summary>
    public string? RootDirectory { get; set; }

    /// <summary>The project file (else from <see cref="Settings"/>).</summary>
    public string ProjectFile { get; set; } = "";

    /// <summary>
    /// The project's settings, resolved once per project (the SDK's <c>_SecureBuildSettings</c> item, see
    /// <see cref="RecordingSettings"/>): fills every shared parameter this task was not given itself.
    /// </summary>
    public ITaskItem? Settings { get; set; }

    /// <summary>strict (drift is an error), warn (drift is a warning) or off.</summary>
    public string Mode { get; set; } = "warn";

    /// <summary>A missing lock is an error (SecureBuildLockMode=strict set explicitly, or SecureBuildRequireLock).</summary>
    public bool RequireLock { get; set; }

    /// <summary>Record what is observed into the lock instead of comparing with it.</summary>
    public bool Update { get; set; }

    /// <summary>The running .NET SDK version (NETCoreSdkVersion).</summary>
    public string? SdkVersion { get; set; }

    /// <summary>The global packages folder (NuGetPackageRoot), where MSBuild SDK packages are found.</summary>
    public string? PackagesDirectory { get; set; }

    /// <summary>The folder of the SecureBuild.Sdk package running this build (it is an MSBuild SDK too).</summary>
    public string? SdkPackageDirectory { get; set; }

    /// <summary>The target framework this check covers (empty for the outer build of a multi-targeted project).</summary>
    public string? TargetFramework { get; set; }

    internal bool Strict => string.Equals(Mode, "strict", StringComparison.OrdinalIgnoreCase);

    /// <summary>SecureBuildLockMode=off: the lock is not checked.</summary>
    internal bool Off => string.Equals(Mode, "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for checks that do not depend on the lock (the package cache) and so run in mode off too.</summary>
    protected virtual bool RunsWhenOff => false;

    internal string Root { get; private set; } = "";

    internal string LockPath { get; private set; } = "";

    internal string ProjectKey { get; private set; } = "";

    protected override bool ExecuteTask()
    {
        if (Off && !Update && !RunsWhenOff)
        {
            return true;
        }
        if (!TryApplySettings(Settings, ApplySettings, () => ProjectFile = SettingsItem.Required(ProjectFile, GetType().Name, nameof(ProjectFile))))
        {
            return false;
        }
        Root = Path.GetFullPath(string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(Path.GetDirectoryName(Path.GetFullPath(ProjectFile))!) : RootDirectory!);
        LockPath = string.IsNullOrWhiteSpace(LockFile) ? Path.Combine(Root, RepositoryLock.DefaultFileName) : Path.GetFullPath(LockFile!);
        ProjectKey = Relative(ProjectFile);
        try
        {
            return ExecuteCore() && !Log.HasLoggedErrors;
        }
        catch (LockInputException e)
        {
            Error("SB1400", e.Message);
            return false;
        }
        catch (LockFormatException e)
        {
            Error(e.Problem == LockFormatProblem.DigestMismatch ? "SB1401" : "SB1400", e.Message);
            return false;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            Error("SB1450", $"SecureBuild could not check or update the lock {LockPath}: {e.Message}");
            return false;
        }
    }

    protected abstract bool ExecuteCore();

    /// <summary>Takes from the project's settings every parameter this task was not given itself.</summary>
    protected virtual void ApplySettings(RecordingSettings settings)
    {
        ProjectFile = SettingsItem.Or(ProjectFile, settings.ProjectFile) ?? "";
        RootDirectory = SettingsItem.Or(RootDirectory, settings.RootDirectory);
        SdkVersion = SettingsItem.Or(SdkVersion, settings.SdkVersion);
    }

    internal void Error(string code, string message) => Log.LogError(null, code, null, null, 0, 0, 0, 0, message);

    internal void Warning(string code, string message) => Log.LogWarning(null, code, null, null, 0, 0, 0, 0, message);

    /// <summary>Reports drift: an error in strict mode, a warning otherwise, each with how to accept it.</summary>
    internal void Report(IEnumerable<LockDifference> differences) => LogDiagnostics(differences.Select(d => d.Report(Strict)));

    /// <summary>
    /// The lock to verify against, or null when there is none (then a message, or error SB1403 when a
    /// lock is required). A lock that cannot be trusted is an error in every mode (<see cref="LockEnvironment.Load"/>).
    /// </summary>
    internal RepositoryLock? LoadLock()
    {
        var loaded = LockEnvironment.Load(LockPath, Relative(LockPath), Root, RequireLock);
        if (loaded.Finding is { } finding)
        {
            LogDiagnostics(new[] { finding });
        }
        return loaded.Lock;
    }

    /// <summary>The SDK, global.json, MSBuild SDK packages and tools as this build sees them (<see cref="LockEnvironment.Observe"/>).</summary>
    internal LockObservation ObserveEnvironment() => LockEnvironment.Observe(ProjectFile, Root, SdkVersion, PackagesDirectory, SdkPackageDirectory);

    /// <summary>A path relative to the root, '/'-separated (the form the lock uses).</summary>
    internal string Relative(string path)
    {
        var full = Path.GetFullPath(path).Replace('\\', '/');
        var root = Root.Replace('\\', '/').TrimEnd('/') + "/";
        return full.StartsWith(root, StringComparison.Ordinal) ? full.Substring(root.Length) : Path.GetFileName(full);
    }
}
