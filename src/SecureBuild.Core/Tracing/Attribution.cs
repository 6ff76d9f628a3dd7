using System;
using System.Collections.Generic;
using System.Linq;

namespace SecureBuild.Core.Tracing;

// Which MSBuild project / target / task caused each event of a TraceLog. The CLI reads the trace logger's log or the build's binary log (with
// MSBuild.StructuredLogger: MSBuild knowledge stays out of Core) into a BuildTimeline; TraceAttributor matches the
// trace against it. Nothing here knows MSBuild exists: a timeline is plain data (tasks with node ids and times).

/// <summary>The build step an event belongs to, for the policy: restore may use the network, the rest may not.</summary>
public enum TracePhase
{
    Restore,
    Build,
    Pack,
    Publish,
    Test,

    /// <summary>A command that is not a dotnet build verb (the policy treats it like a build).</summary>
    Other,

    /// <summary>
    /// MSBuild resolving the project SDKs while it evaluates (NuGet's SDK resolver downloads SecureBuild.Sdk and the
    /// global.json msbuild-sdks into the packages folder before any task runs): restore-like work outside the restore
    /// targets. An MSBuild node's own event during an evaluation, with no task running on that node.
    /// </summary>
    SdkResolve,
}

/// <summary>What caused an event: the project, target and task running, and the NuGet package that declared the target.</summary>
/// <param name="Project">The project file (absolute path), or "" when not attributed.</param>
/// <param name="Target">The target's name.</param>
/// <param name="Task">The task's name (e.g. "Exec", "Csc", an inline task's name).</param>
/// <param name="NodeId">The MSBuild node the task ran on (1 is the entry process's in-proc node), 0 when unknown.</param>
/// <param name="TargetFile">The .props/.targets/project file that declared the target.</param>
/// <param name="Package">The NuGet package whose file declared the target, when it came from the packages folder.</param>
public sealed record BuildActivity(string Project, string Target, string Task, int NodeId = 0, string? TargetFile = null, NuGetPackageIdentity? Package = null)
{
    /// <summary>No MSBuild activity: the event happened outside every task (evaluation, start-up, a non-MSBuild command).</summary>
    public static readonly BuildActivity None = new("", "", "");

    public bool IsKnown => Task.Length > 0 || Target.Length > 0;

    /// <summary>"App.csproj / Steal / Exec (package Evil.Build 1.0.0)", or "(no MSBuild task)".</summary>
    public string Describe()
    {
        if (!IsKnown)
        {
            return "(no MSBuild task)";
        }
        string project = Project.Length == 0 ? "?" : System.IO.Path.GetFileName(Project);
        return $"{project} / {Target} / {Task}" + (Package is null ? "" : $" (package {Package})");
    }
}

/// <summary>A NuGet package by id and version.</summary>
public sealed record NuGetPackageIdentity(string Id, string Version)
{
    public override string ToString() => Id + " " + Version;

    /// <summary>
    /// The package a file belongs to when it lies in a NuGet packages folder (global layout: &lt;folder&gt;/&lt;id&gt;/&lt;version&gt;/...),
    /// else null. Ids and versions are lower case there, as NuGet writes them.
    /// </summary>
    public static NuGetPackageIdentity? OfFile(string path, IEnumerable<string> packageFolders)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        string full = path.Replace('\\', '/');
        foreach (var folder in packageFolders)
        {
            if (string.IsNullOrWhiteSpace(folder))
            {
                continue;
            }
            string root = folder.Replace('\\', '/').TrimEnd('/') + "/";
            if (!full.StartsWith(root, StringComparison.Ordinal))
            {
                continue;
            }
            var parts = full.Substring(root.Length).Split('/');
            if (parts.Length >= 3 && parts[0].Length > 0 && parts[1].Length > 0)
            {
                return new NuGetPackageIdentity(parts[0], parts[1]);
            }
        }
        return null;
    }
}

/// <summary>One task that ran, from the build's log (the trace logger's, or a binary log).</summary>
/// <summary>One evaluation of a project: MSBuild resolves the project's SDKs (NuGet's SDK resolver may download them) within it.</summary>
/// <param name="NodeId">The MSBuild node that evaluated.</param>
/// <param name="Start">When the evaluation started (UTC).</param>
/// <param name="End">When it finished (UTC).</param>
public sealed record ProjectEvaluation(int NodeId, DateTimeOffset Start, DateTimeOffset End);

/// <param name="NodeId">The MSBuild node it ran on.</param>
/// <param name="Project">The project file.</param>
/// <param name="Target">The target it ran in.</param>
/// <param name="Task">The task's name.</param>
/// <param name="Start">When it started (UTC).</param>
/// <param name="End">When it finished (UTC).</param>
/// <param name="TargetFile">The file that declared the target.</param>
/// <param name="CommandLines">Command lines the task logged (ToolTask, Exec): they tell a tool process apart when tasks overlap.</param>
/// <param name="DeclaredInputs">The files the task was given as inputs (absolute paths): compiler sources, references, analyzers, additional files, ...</param>
public sealed record TaskExecution(
    int NodeId,
    string Project,
    string Target,
    string Task,
    DateTimeOffset Start,
    DateTimeOffset End,
    string? TargetFile,
    IReadOnlyList<string> CommandLines,
    IReadOnlyList<string> DeclaredInputs);

/// <summary>What the build's log says about the build: every task with its node and times, the projects and the package folders.</summary>
public sealed class BuildTimeline
{
    public BuildTimeline(IEnumerable<TaskExecution> tasks, IEnumerable<string> packageFolders, IEnumerable<ProjectEvaluation>? evaluations = null)
    {
        Tasks = tasks.OrderBy(t => t.Start).ToList();
        PackageFolders = packageFolders.Where(f => !string.IsNullOrWhiteSpace(f)).Distinct(StringComparer.Ordinal).ToList();
        Evaluations = (evaluations ?? Array.Empty<ProjectEvaluation>()).OrderBy(e => e.Start).ToList();
    }

    /// <summary>The project evaluations MSBuild ran (on any node), in start order: when SDKs were resolved.</summary>
    public IReadOnlyList<ProjectEvaluation> Evaluations { get; }

    /// <summary>An empty timeline: the command was not MSBuild or its log could not be read.</summary>
    public static BuildTimeline Empty { get; } = new(Array.Empty<TaskExecution>(), Array.Empty<string>());

    public IReadOnlyList<TaskExecution> Tasks { get; }

    /// <summary>NuGet packages folders of the build (NuGetPackageRoot, RestorePackagesPath): a target declared in a file there came from that package.</summary>
    public IReadOnlyList<string> PackageFolders { get; }

    /// <summary>Every project file the build built.</summary>
    public IEnumerable<string> Projects => Tasks.Select(t => t.Project).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal);

    /// <summary>The package that declared <paramref name="task"/>'s target, if a package did.</summary>
    public NuGetPackageIdentity? PackageOf(TaskExecution task) =>
        task.TargetFile is null ? null : NuGetPackageIdentity.OfFile(task.TargetFile, PackageFolders);

    /// <summary>True for targets that belong to NuGet restore (Restore, _GenerateRestoreGraph, _LoadRestoreGraphEntryPoints, ...).</summary>
    public static bool IsRestoreTarget(string target) => target.IndexOf("Restore", StringComparison.OrdinalIgnoreCase) >= 0;
}
