using Microsoft.Build.Logging.StructuredLogger;
using LogProject = Microsoft.Build.Logging.StructuredLogger.Project;
using LogTask = Microsoft.Build.Logging.StructuredLogger.Task;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// What a real build did, from its binary log (MSBuild.StructuredLogger): which tasks ran in which project and target,
/// with which inputs, and in which order the targets of a project ran. MSBuild knowledge stays here, in the tests.
/// </summary>
public sealed class BuildLog
{
    private readonly Build _build;

    private BuildLog(string path, Build build)
    {
        Path = path;
        _build = build;
    }

    public string Path { get; }

    public static BuildLog Read(string path)
    {
        var build = BinaryLog.ReadBuild(path);
        Assert.That(build.Succeeded, Is.True, $"{path} records a failed build");
        return new BuildLog(path, build);
    }

    /// <summary>Every run of the task called <paramref name="name"/> (Csc, PackTask, Copy, ...).</summary>
    public IReadOnlyList<TaskRun> Tasks(string name) =>
        _build.FindChildrenRecursive<LogTask>(t => t.Name == name).Select(t => new TaskRun(t)).ToList();

    /// <summary>Every task run whose class came from the assembly <paramref name="assemblyName"/> (e.g. SecureBuild.Tasks), by path or name.</summary>
    public IReadOnlyList<TaskRun> TasksFrom(string assemblyName) =>
        _build.FindChildrenRecursive<LogTask>(t => (t.FromAssembly ?? "").Contains(assemblyName, StringComparison.OrdinalIgnoreCase)).Select(t => new TaskRun(t)).ToList();

    /// <summary>The targets MSBuild skipped in any build of the project (up to date, or a false condition).</summary>
    public IReadOnlyList<string> SkippedTargets(string projectFileName) =>
        _build.FindChildrenRecursive<LogProject>(p => System.IO.Path.GetFileName(p.ProjectFile) == projectFileName)
            .SelectMany(p => p.Children.OfType<Target>()).Where(t => t.Skipped).Select(t => t.Name).Distinct().ToList();

    /// <summary>The targets that ran in the (inner) build of the project for <paramref name="targetFramework"/>, in the order they started.</summary>
    public IReadOnlyList<string> TargetOrder(string projectFileName, string? targetFramework)
    {
        var projects = _build.FindChildrenRecursive<LogProject>(p =>
            System.IO.Path.GetFileName(p.ProjectFile) == projectFileName && TargetFrameworkOf(p) == targetFramework);
        Assert.That(projects, Is.Not.Empty, $"no build of {projectFileName} for '{targetFramework}' in {Path}");
        return projects.SelectMany(p => p.Children.OfType<Target>())
            .Where(t => !t.Skipped)
            .OrderBy(t => t.StartTime).ThenBy(t => t.Index)
            .Select(t => t.Name).ToList();
    }

    internal static string? TargetFrameworkOf(LogProject project) =>
        project.GlobalProperties.TryGetValue("TargetFramework", out var value) && value.Length > 0 ? value : null;
}

/// <summary>One task invocation: its project, target and the items and values it was given.</summary>
public sealed class TaskRun
{
    private readonly LogTask _task;
    private readonly LogProject _project;

    internal TaskRun(LogTask task)
    {
        _task = task;
        _project = task.GetNearestParent<LogProject>();
    }

    public string TargetName => _task.GetNearestParent<Target>()?.Name ?? "";

    public string Name => _task.Name;

    public string ProjectDirectory => _project.ProjectDirectory;

    public string? TargetFramework => BuildLog.TargetFrameworkOf(_project);

    private Folder? Parameters => _task.Children.OfType<Folder>().FirstOrDefault(f => f.Name == "Parameters");

    /// <summary>The items passed to the task parameter <paramref name="name"/> (none when it was not set).</summary>
    public IReadOnlyList<LoggedItem> Items(string name)
    {
        var parameter = Parameters?.Children.OfType<Parameter>().FirstOrDefault(p => p.Name == name);
        if (parameter is null)
        {
            // A parameter given one item is logged as a name = value pair.
            return Value(name) is { Length: > 0 } single ? new[] { new LoggedItem(single, new Dictionary<string, string>()) } : Array.Empty<LoggedItem>();
        }
        return parameter.Children.OfType<Item>()
            .Select(i => new LoggedItem(i.Text, i.Children.OfType<Metadata>().ToDictionary(m => m.Name, m => m.Value, StringComparer.OrdinalIgnoreCase)))
            .ToList();
    }

    /// <summary>The scalar value of the task parameter <paramref name="name"/>, or null.</summary>
    public string? Value(string name) => Parameters?.Children.OfType<Property>().FirstOrDefault(p => p.Name == name)?.Value;

    /// <summary>The full path of an item spec or path the task got, relative to its project directory.</summary>
    public string FullPath(string path) => System.IO.Path.GetFullPath(path, ProjectDirectory);
}

/// <summary>An item as a task received it.</summary>
public sealed record LoggedItem(string ItemSpec, IReadOnlyDictionary<string, string> Metadata)
{
    public string? this[string name] => Metadata.TryGetValue(name, out var value) ? value : null;
}
