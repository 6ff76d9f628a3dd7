using Microsoft.Build.Framework;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>What every recording task shares: how artifacts are named and hashed, and coded errors.</summary>
public abstract class SecureBuildTask : CodedTask
{
    /// <summary>Artifacts below this directory are named relative to it. Empty: the repository root (the
    /// nearest directory above the project holding .git), else the project directory.</summary>
    public string? RootDirectory { get; set; }

    /// <summary>The project directory, used when no root directory is given (else from <see cref="Settings"/>).</summary>
    public string ProjectDirectory { get; set; } = "";

    /// <summary>
    /// The project's settings, resolved once per project (the SDK's <c>_SecureBuildSettings</c> item, see
    /// <see cref="Core.Recording.RecordingSettings"/>): fills every shared parameter this task was not given itself.
    /// </summary>
    public ITaskItem? Settings { get; set; }

    /// <summary>Other roots; each item is a directory with a <c>Prefix</c> metadata (e.g. "@nuget").</summary>
    public ITaskItem[] ArtifactRoots { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Digest algorithms, ';'-separated (sha256, sha384, sha512).</summary>
    public string? HashAlgorithms { get; set; }

    /// <summary>Where digests of unchanged files are remembered between builds; empty disables the cache.</summary>
    public string? HashCacheFile { get; set; }

    /// <summary>Directories whose files are never recorded (the attestation directory itself).</summary>
    public string[] ExcludeDirectories { get; set; } = Array.Empty<string>();

    /// <summary>The step's name in the link (restore, compile, pack, publish, ...).</summary>
    [Required]
    public string StepName { get; set; } = "";

    /// <summary>Where the step's materials are kept between the "before" and the "after" task.</summary>
    [Required]
    public string MaterialsFile { get; set; } = "";

    protected override bool ExecuteTask()
    {
        if (!TryApplySettings(Settings, ApplySettings, () => ProjectDirectory = SettingsItem.Required(ProjectDirectory, GetType().Name, nameof(ProjectDirectory))))
        {
            return false;
        }
        try
        {
            return ExecuteCore() && !Log.HasLoggedErrors;
        }
        catch (SecureBuildTaskException e)
        {
            LogCodedError(e.Code, e.Message);
            return false;
        }
        catch (Core.Processes.ProcessTimeoutException e)
        {
            LogCodedError(Core.Processes.ProcessTimeoutException.Code, e.Message);
            return false;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            LogCodedError("SB1020", $"SecureBuild could not record step '{StepName}': {e.Message} Check that the build can read its inputs and write to its output and obj folders.");
            return false;
        }
    }

    protected abstract bool ExecuteCore();

    /// <summary>Takes from the project's settings every parameter this task was not given itself.</summary>
    protected virtual void ApplySettings(Core.Recording.RecordingSettings settings)
    {
        ProjectDirectory = SettingsItem.Or(ProjectDirectory, settings.ProjectDirectory) ?? "";
        RootDirectory = SettingsItem.Or(RootDirectory, settings.RootDirectory);
        HashAlgorithms = SettingsItem.Or(HashAlgorithms, settings.HashAlgorithms);
        if (ExcludeDirectories.Length == 0)
        {
            ExcludeDirectories = settings.ExcludeDirectories.ToArray();
        }
    }

    /// <summary>Builds the recorder for this project's settings.</summary>
    protected StepRecorder CreateRecorder(out FileHashCache cache) => CreateRecorder(loadCache: true, out cache, out _);

    /// <summary>
    /// Builds the recorder for this project's settings; without <paramref name="loadCache"/> the hash cache
    /// file is not read (for a recorder that only resolves names). <paramref name="settings"/> identifies
    /// what digests depend on besides file content: the algorithms and the path mapping.
    /// </summary>
    protected StepRecorder CreateRecorder(bool loadCache, out FileHashCache cache, out string settings)
    {
        IReadOnlyList<string> algorithms;
        try
        {
            algorithms = FileHashCache.ParseAlgorithms(HashAlgorithms);
        }
        catch (ArgumentException e)
        {
            throw new SecureBuildTaskException("SB1012", $"SecureBuildHashAlgorithms='{HashAlgorithms}': {e.Message}");
        }
        var roots = new List<KeyValuePair<string, string>>();
        var outputRoots = new List<KeyValuePair<string, string>>();
        foreach (var item in ArtifactRoots)
        {
            var prefix = item.GetMetadata("Prefix");
            if (string.IsNullOrWhiteSpace(prefix))
            {
                throw new SecureBuildTaskException("SB1013", $"SecureBuildArtifactRoot '{item.ItemSpec}' has no Prefix metadata. Give each root a prefix, e.g. <SecureBuildArtifactRoot Include=\"/opt/tools\" Prefix=\"@tools\" />.");
            }
            // OutputFolder="true": an output folder the build was given, which names only files outside the root.
            (string.Equals(item.GetMetadata("OutputFolder"), "true", StringComparison.OrdinalIgnoreCase) ? outputRoots : roots)
                .Add(new KeyValuePair<string, string>(item.GetMetadata("FullPath"), prefix));
        }
        var root = string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(ProjectDirectory) : RootDirectory!;
        var namer = new ArtifactNamer(root, roots, outputRoots);
        var tokens = namer.PathTokens.ToList();
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            tokens.Add(new KeyValuePair<string, string>(home, "@home"));
        }
        var mapping = new PathMapping(tokens);
        settings = string.Join(";", algorithms) + "|" + mapping.Fingerprint;
        cache = !loadCache || string.IsNullOrWhiteSpace(HashCacheFile) ? FileHashCache.InMemory(mapping) : FileHashCache.Open(HashCacheFile!, mapping);
        cache.SharedAcrossProcess = !string.IsNullOrWhiteSpace(HashCacheFile);
        return new StepRecorder(namer, cache, algorithms, ExcludeDirectories);
    }

    protected static IEnumerable<string> FullPaths(IEnumerable<ITaskItem> items) =>
        items.Select(i => i.GetMetadata("FullPath")).Where(p => !string.IsNullOrEmpty(p));
}

/// <summary>A failure with an SB#### code, reported as one MSBuild error.</summary>
public sealed class SecureBuildTaskException : Exception
{
    public SecureBuildTaskException(string code, string message) : base(message) => Code = code;

    public string Code { get; }
}
