using System.Reflection;
using Microsoft.Build.Framework;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// The MSBuild side of <see cref="StepProvenance"/>: hands it what only the build knows (the task's items and
/// properties, the global properties, this build's invocation id and git state, kept per build and node) and logs
/// SB2600 for names whose values are never recorded.
/// </summary>
internal static class ProvenanceInputs
{
    private const string GitCacheKey = "SecureBuild.GitSource:";

    /// <summary>Version of this SDK (from the task assembly, without any "+commit" suffix).</summary>
    public static string SdkPackageVersion
    {
        get
        {
            var informational = typeof(ProvenanceInputs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = informational.IndexOf('+');
            return plus >= 0 ? informational.Substring(0, plus) : informational;
        }
    }

    /// <summary>The step's provenance (<see cref="StepProvenance.Create"/>) from what <paramref name="task"/> was given and its build engine.</summary>
    public static ProvenanceStatement Create(
        RecordStepProducts task,
        ArtifactNamer namer,
        IReadOnlyDictionary<string, string> environment,
        string rootDirectory,
        DateTimeOffset? startedOn,
        DateTimeOffset finishedOn)
    {
        var recordProperties = task.RecordProperties.Select(i => i.ItemSpec).ToList();
        WarnAboutUnrecordableNames(task, recordProperties);
        var git = DescribeGit(task.BuildEngine, rootDirectory);
        return StepProvenance.Create(new StepProvenanceInputs(task.StepName, namer)
        {
            ProjectFile = task.ProjectFile,
            Environment = environment,
            GlobalProperties = GlobalProperties(task.BuildEngine),
            BuildProperties = task.BuildProperties.Select(p => new KeyValuePair<string, string>(p.ItemSpec, p.GetMetadata("Value"))).ToList(),
            RecordProperties = recordProperties,
            InvocationId = task.InvocationId,
            BuildInvocationId = () => BuildInvocationId(task.BuildEngine),
            Git = git,
            Definitions = git is null ? Array.Empty<BuildDefinitionFile>() : DescribeDefinitions(task.BuildEngine, rootDirectory),
            SdkVersion = task.SdkVersion,
            MSBuildVersion = task.MSBuildVersion,
            RuntimeVersion = task.RuntimeVersion,
            SdkPackageVersion = SdkPackageVersion,
            ProjectAssetsFile = task.ProjectAssetsFile,
            Packs = task.Packs.Select(p => new PackReference(p.GetMetadata("NuGetPackageId"), p.GetMetadata("NuGetPackageVersion"), p.GetMetadata("Kind"))).ToList(),
            StartedOn = startedOn,
            FinishedOn = finishedOn,
            Processes = () => BuildState.GetOrCreate(task.BuildEngine, "SecureBuild.ProcessTable", () => new ProcessTableBox(ProcessTable.Current())).Table,
            Workspace = IntermediateFolder(task.MaterialsFile),
        });
    }

    /// <summary>SB2600, once per build and name: a SecureBuildRecordProperty whose value will never be recorded.</summary>
    private static void WarnAboutUnrecordableNames(RecordStepProducts task, IEnumerable<string> names)
    {
        foreach (var name in StepProvenance.UnrecordableNames(names))
        {
            var key = "SecureBuild.SB2600:" + name.ToUpperInvariant();
            if (!BuildState.FirstTime(task.BuildEngine, key))
            {
                continue;
            }
            task.Log.LogWarning(null, "SB2600", null, null, 0, 0, 0, 0,
                $"SecureBuildRecordProperty '{name}': the name says it holds a credential, so provenance records it by name only, never its value. " +
                "Remove the item, or give a property that holds no secret a name without TOKEN, SECRET, PASSWORD, KEY, AUTH or the like.");
        }
    }

    private static IReadOnlyDictionary<string, string> GlobalProperties(IBuildEngine engine) =>
        engine is IBuildEngine6 six ? six.GetGlobalProperties() : new Dictionary<string, string>();

    private static GitSource? DescribeGit(IBuildEngine engine, string rootDirectory) =>
        BuildState.GetOrCreate(engine, GitCacheKey + rootDirectory, () => new GitSourceBox(
            Directory.Exists(Path.Combine(rootDirectory, ".git")) || File.Exists(Path.Combine(rootDirectory, ".git"))
                ? GitSource.Describe(rootDirectory)
                : null)).Source;

    /// <summary>The build and pipeline definition files of the repository at <paramref name="rootDirectory"/> (asked once per build and node).</summary>
    internal static IReadOnlyList<BuildDefinitionFile> DescribeDefinitions(IBuildEngine engine, string rootDirectory) =>
        BuildState.GetOrCreate(engine, "SecureBuild.BuildDefinitions:" + rootDirectory, () => new DefinitionsBox(BuildDefinitions.Describe(rootDirectory, inGitWorkTree: true))).Files;

    /// <summary>True when the repository at <paramref name="rootDirectory"/> is a git work tree git can describe.</summary>
    internal static bool IsGitWorkTree(IBuildEngine engine, string rootDirectory) => DescribeGit(engine, rootDirectory) is not null;

    /// <summary>A urn:uuid naming this build (one per build and MSBuild node).</summary>
    private static string BuildInvocationId(IBuildEngine engine) =>
        BuildState.GetOrCreate(engine, "SecureBuild.InvocationId", () => new InvocationIdBox("urn:uuid:" + Guid.NewGuid().ToString("D"))).Value;

    /// <summary>The project's intermediate folder: the parent of the "securebuild" state folder the step's materials file is in.</summary>
    private static string? IntermediateFolder(string materialsFile)
    {
        if (string.IsNullOrWhiteSpace(materialsFile))
        {
            return null;
        }

        for (var folder = Path.GetDirectoryName(Path.GetFullPath(materialsFile)); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (string.Equals(Path.GetFileName(folder), "securebuild", StringComparison.Ordinal))
            {
                return Path.GetDirectoryName(folder);
            }
        }

        return null;
    }

    // Classes, not records: the net472 task assembly has no IsExternalInit for init-only members.
    private sealed class InvocationIdBox
    {
        public InvocationIdBox(string value) => Value = value;

        public string Value { get; }
    }

    private sealed class DefinitionsBox
    {
        public DefinitionsBox(IReadOnlyList<BuildDefinitionFile> files) => Files = files;

        public IReadOnlyList<BuildDefinitionFile> Files { get; }
    }

    private sealed class ProcessTableBox
    {
        public ProcessTableBox(ProcessTable? table) => Table = table;

        public ProcessTable? Table { get; }
    }

    private sealed class GitSourceBox
    {
        public GitSourceBox(GitSource? source) => Source = source;

        public GitSource? Source { get; }
    }
}
