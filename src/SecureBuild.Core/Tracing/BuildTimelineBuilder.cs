using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace SecureBuild.Core.Tracing;

/// <summary>Where an MSBuild event happened: MSBuild's BuildEventContext ids (node, project instance, target, task).</summary>
public readonly record struct BuildEventIds(int Node, int ProjectContext, int Target, int Task);

/// <summary>
/// Builds a <see cref="BuildTimeline"/> from a build's events in the order MSBuild raised them: targets started, tasks
/// started and finished, the command lines and inputs tasks logged, the packages folders of the evaluations. One
/// home for that logic; the readers (the trace logger's log, a binary log) only translate their records into calls.
/// </summary>
public sealed class BuildTimelineBuilder
{
    private readonly Dictionary<(int Node, int ProjectContext, int Target), (string Name, string? File)> _targets = new();
    private readonly Dictionary<BuildEventIds, OpenTask> _open = new();
    private readonly List<TaskExecution> _tasks = new();
    private readonly Dictionary<(int Node, int Evaluation), DateTimeOffset> _openEvaluations = new();
    private readonly List<ProjectEvaluation> _evaluations = new();
    private readonly List<string> _packageFolders;

    private sealed class OpenTask
    {
        public OpenTask(BuildEventIds ids, string project, string name, DateTimeOffset start)
        {
            Ids = ids;
            Project = project;
            Name = name;
            Start = start;
        }

        public BuildEventIds Ids { get; }

        public string Project { get; }

        public string Name { get; }

        public DateTimeOffset Start { get; }

        public List<string> CommandLines { get; } = new();

        public List<string> Inputs { get; } = new();
    }

    /// <param name="extraPackageFolders">Packages folders known beforehand (NUGET_PACKAGES, ~/.nuget/packages).</param>
    public BuildTimelineBuilder(IEnumerable<string>? extraPackageFolders = null)
    {
        _packageFolders = new List<string>(extraPackageFolders ?? Array.Empty<string>());
    }

    public void TargetStarted(BuildEventIds ids, string? name, string? file) =>
        _targets[(ids.Node, ids.ProjectContext, ids.Target)] = (name ?? "", file);

    public void TaskStarted(BuildEventIds ids, string? projectFile, string? taskName, DateTimeOffset time) =>
        _open[ids] = new OpenTask(ids, projectFile ?? "", taskName ?? "", time);

    public void CommandLine(BuildEventIds ids, string? text)
    {
        if (_open.TryGetValue(ids, out var task))
        {
            task.CommandLines.Add(text ?? "");
        }
    }

    /// <summary>Values of one task input (item specs and their full paths, or a scalar's text).</summary>
    public void Inputs(BuildEventIds ids, IEnumerable<string> values)
    {
        if (_open.TryGetValue(ids, out var task))
        {
            task.Inputs.AddRange(values);
        }
    }

    public void TaskFinished(BuildEventIds ids, DateTimeOffset time)
    {
        if (_open.TryGetValue(ids, out var task))
        {
            _open.Remove(ids);
            _tasks.Add(Execution(task, time));
        }
    }

    /// <summary>A project evaluation started on <paramref name="node"/> (MSBuild's evaluation id tells it from others).</summary>
    public void EvaluationStarted(int node, int evaluation, DateTimeOffset time) => _openEvaluations[(node, evaluation)] = time;

    public void EvaluationFinished(int node, int evaluation, DateTimeOffset time)
    {
        if (_openEvaluations.TryGetValue((node, evaluation), out var start))
        {
            _openEvaluations.Remove((node, evaluation));
            _evaluations.Add(new ProjectEvaluation(node, start, time));
        }
    }

    /// <summary>The value of NuGetPackageRoot or NuGetPackageFolders (';'-separated folders).</summary>
    public void PackageFolders(string? value)
    {
        foreach (var folder in (value ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim()))
        {
            if (Path.IsPathRooted(folder) && !_packageFolders.Contains(folder.TrimEnd('/')))
            {
                _packageFolders.Add(folder.TrimEnd('/'));
            }
        }
    }

    /// <summary>
    /// The timeline; a task or evaluation still open (the build was killed, the log ended early) ran until the last
    /// task's end, or on for ever when no task finished.
    /// </summary>
    public BuildTimeline Build()
    {
        var tasks = new List<TaskExecution>(_tasks);
        var end = tasks.Count == 0 ? DateTimeOffset.MaxValue : tasks.Max(t => t.End);
        foreach (var task in _open.Values)
        {
            tasks.Add(Execution(task, end));
        }
        var evaluations = _evaluations.Concat(_openEvaluations.Select(e => new ProjectEvaluation(e.Key.Node, e.Value, end > e.Value ? end : DateTimeOffset.MaxValue)));
        return new BuildTimeline(tasks, _packageFolders.Select(f => Path.GetFullPath(f).TrimEnd('/')), evaluations);
    }

    private TaskExecution Execution(OpenTask t, DateTimeOffset finished)
    {
        _targets.TryGetValue((t.Ids.Node, t.Ids.ProjectContext, t.Ids.Target), out var target);
        string directory = t.Project.Length == 0 ? "" : Path.GetDirectoryName(t.Project) ?? "";
        // Without MSBuild's task input logging (the trace logger leaves it off unless a step needs it), a compiler's
        // inputs are what its command line names: sources, /reference:, /analyzer:, /additionalfile:, ...
        var given = t.Inputs.Count == 0 && t.Name is "Csc" or "Vbc" or "Fsc" ? t.CommandLines.SelectMany(CommandLinePaths) : t.Inputs;
        var inputs = given
            .Where(i => i.Length > 0 && i.IndexOfAny(new[] { '\n', '\0' }) < 0)
            .Select(i => Rooted(i, directory))
            .Where(i => i is not null)
            .Select(i => i!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new TaskExecution(t.Ids.Node, t.Project, target.Name ?? "", t.Name, t.Start, finished, target.File, t.CommandLines, inputs);
    }

    /// <summary>
    /// The file names a compiler's logged command line holds: every argument that is not a switch, and the value of
    /// every switch (/reference:ALIAS=FILE gives FILE; /resource:FILE,NAME also FILE). Arguments are separated by
    /// whitespace and quoted with double quotes, as ToolTask writes them. A switch is '/' or '-' and letters, then ':',
    /// '+', '-' or the end; anything else that starts with '/' is an absolute path. Extra names (a /define: list) are
    /// harmless: they only ever match a file the compiler read.
    /// </summary>
    public static IEnumerable<string> CommandLinePaths(string commandLine)
    {
        foreach (var argument in SplitCommandLine(commandLine))
        {
            if (argument.Length < 2 || (argument[0] != '/' && argument[0] != '-'))
            {
                yield return argument;
                continue;
            }
            int end = 1;
            while (end < argument.Length && char.IsLetter(argument[end]))
            {
                end++;
            }
            bool isSwitch = end > 1 && (end == argument.Length || argument[end] is ':' or '+' or '-');
            if (!isSwitch)
            {
                yield return argument; // an absolute path
                continue;
            }
            if (end == argument.Length || argument[end] != ':')
            {
                continue;
            }
            string value = argument.Substring(end + 1);
            int equals = value.IndexOf('=');
            if (equals > 0 && value.IndexOf('/', 0, equals) < 0)
            {
                value = value.Substring(equals + 1);
            }
            yield return value;
            int comma = value.IndexOf(',');
            if (comma > 0)
            {
                yield return value.Substring(0, comma);
            }
        }
    }

    private static IEnumerable<string> SplitCommandLine(string commandLine)
    {
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        bool any = false;
        foreach (char c in commandLine)
        {
            if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (!quoted && char.IsWhiteSpace(c))
            {
                if (any)
                {
                    yield return current.ToString();
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }
        if (any)
        {
            yield return current.ToString();
        }
    }

    private static string? Rooted(string value, string directory)
    {
        try
        {
            if (Path.IsPathRooted(value))
            {
                return Path.GetFullPath(value);
            }
            return directory.Length == 0 || value.IndexOf("://", StringComparison.Ordinal) >= 0 ? null : Path.GetFullPath(Path.Combine(directory, value));
        }
        catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
        {
            return null;
        }
    }
}
