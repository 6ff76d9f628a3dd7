using System;
using System.Collections.Generic;
using System.Linq;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// Attributes the events of a <see cref="TraceLog"/> to the MSBuild task that caused them, from the build's
/// <see cref="BuildTimeline"/>:
/// <list type="number">
/// <item>find the MSBuild nodes among the traced processes: the entry process (the first <c>dotnet</c> that is not a
/// worker; node 1, the in-proc node) and the worker nodes (<c>-nodemode:1</c>), numbered 2, 3, ... in the order they
/// started, as MSBuild numbers the nodes it creates;</item>
/// <item>a process that is not a node belongs to the task that started it: walk its parents up to a node; the task
/// running on that node when the node's child started is the one (ToolTask, Exec), a task holding that start exactly
/// before one holding it only within the clock slack. When tasks overlap there (a task
/// that yields), the one whose logged command line names the child's program wins, else the innermost;</item>
/// <item>an event of a node process itself (an inline task, a task that opens a socket) belongs to the task running
/// on that node at the time of the event.</item>
/// </list>
/// </summary>
public static class TraceAttributor
{
    /// <summary>Clock slack between the build log's timestamps and the tracer's (both wall clock, taken in different processes).</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(20);

    public static TraceAttribution Attribute(TraceLog log, BuildTimeline timeline)
    {
        var nodes = FindNodes(log.Processes);
        var byNode = timeline.Tasks.GroupBy(t => t.NodeId).ToDictionary(g => g.Key, g => g.OrderBy(t => t.Start).ToArray());
        var processes = log.Processes.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.Last());
        var attribution = new TraceAttribution(timeline, nodes, byNode, RestoreWindow(timeline), PhaseOfCommand(log.Command));
        foreach (var process in log.Processes)
        {
            if (nodes.ContainsKey(process.Pid))
            {
                continue;
            }
            var (nodeId, task) = AttributeChild(process, processes, nodes, attribution);
            attribution.SetProcess(process.Pid, nodeId, task);
        }
        return attribution;
    }

    /// <summary>The phase a command's events belong to, outside restore: <c>dotnet pack</c> packs, <c>dotnet test</c> tests.</summary>
    public static TracePhase PhaseOfCommand(IReadOnlyList<string> command)
    {
        for (int i = 0; i < command.Count; i++)
        {
            string name = System.IO.Path.GetFileName(command[i]);
            if (!name.Equals("dotnet", StringComparison.Ordinal) && !name.Equals("dotnet.exe", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string verb = i + 1 < command.Count ? command[i + 1] : "";
            return verb switch
            {
                "restore" => TracePhase.Restore,
                "build" or "msbuild" or "run" => TracePhase.Build,
                "pack" => TracePhase.Pack,
                "publish" => TracePhase.Publish,
                "test" or "vstest" => TracePhase.Test,
                _ => TracePhase.Other,
            };
        }
        return TracePhase.Other;
    }

    /// <summary>True for an MSBuild worker node's command line (<c>-nodemode:1</c>, also <c>/nodeMode:1</c>).</summary>
    public static bool IsWorkerNode(TracedProcess process) =>
        process.Arguments.Any(a => a.Length > 1 && (a[0] == '-' || a[0] == '/') && a.Substring(1).Equals("nodemode:1", StringComparison.OrdinalIgnoreCase));

    private static Dictionary<int, int> FindNodes(IReadOnlyList<TracedProcess> processes)
    {
        var nodes = new Dictionary<int, int>();
        var ordered = processes.OrderBy(p => p.Start).ThenBy(p => p.Pid).ToList();
        var entry = ordered.FirstOrDefault(p => IsDotnetHost(p.Executable) && !IsWorkerNode(p) && p.Arguments.Count > 1);
        if (entry is not null)
        {
            nodes[entry.Pid] = 1;
        }
        int next = 2;
        foreach (var worker in ordered.Where(IsWorkerNode))
        {
            if (!nodes.ContainsKey(worker.Pid))
            {
                nodes[worker.Pid] = next++;
            }
        }
        return nodes;
    }

    private static bool IsDotnetHost(string executable)
    {
        string name = System.IO.Path.GetFileName(executable);
        return name.Equals("dotnet", StringComparison.Ordinal) || name.Equals("dotnet.exe", StringComparison.OrdinalIgnoreCase);
    }

    private static (int NodeId, TaskExecution? Task) AttributeChild(TracedProcess process, Dictionary<int, TracedProcess> processes, Dictionary<int, int> nodes, TraceAttribution attribution)
    {
        // Walk up to the node; `child` ends as the node's direct child on the way (the tool the task started).
        var child = process;
        var seen = new HashSet<int>();
        while (seen.Add(child.Pid))
        {
            if (nodes.TryGetValue(child.ParentPid, out int nodeId))
            {
                return (nodeId, attribution.TaskStarting(nodeId, child));
            }
            if (!processes.TryGetValue(child.ParentPid, out var parent))
            {
                break;
            }
            child = parent;
        }
        return (0, null);
    }

    private static (DateTimeOffset Start, DateTimeOffset End)? RestoreWindow(BuildTimeline timeline)
    {
        var restore = timeline.Tasks.Where(t => BuildTimeline.IsRestoreTarget(t.Target)).ToList();
        if (restore.Count == 0)
        {
            return null;
        }
        var end = restore.Max(t => t.End);
        return (restore.Min(t => t.Start) - Slack, end > DateTimeOffset.MaxValue - Slack ? DateTimeOffset.MaxValue : end + Slack); // a task still open ends at MaxValue
    }
}

/// <summary>The result of <see cref="TraceAttributor.Attribute"/>: the activity of every process and event, and its phase.</summary>
public sealed class TraceAttribution
{
    private readonly BuildTimeline _timeline;
    private readonly Dictionary<int, int> _nodes;
    private readonly Dictionary<int, TaskExecution[]> _tasksByNode;
    private readonly (DateTimeOffset Start, DateTimeOffset End)? _restore;
    private readonly Dictionary<int, BuildActivity> _processes = new();
    private readonly Dictionary<int, TaskExecution> _processTasks = new();

    internal TraceAttribution(BuildTimeline timeline, Dictionary<int, int> nodes, Dictionary<int, TaskExecution[]> tasksByNode,
        (DateTimeOffset, DateTimeOffset)? restore, TracePhase commandPhase)
    {
        _timeline = timeline;
        _nodes = nodes;
        _tasksByNode = tasksByNode;
        _restore = restore;
        CommandPhase = commandPhase;
    }

    /// <summary>Nothing attributed: the command was not MSBuild, or its log could not be read.</summary>
    public static TraceAttribution None(TraceLog log) => TraceAttributor.Attribute(log, BuildTimeline.Empty);

    /// <summary>The phase of the command outside restore.</summary>
    public TracePhase CommandPhase { get; }

    /// <summary>Traced processes that are MSBuild nodes, with their node id.</summary>
    public IReadOnlyDictionary<int, int> Nodes => _nodes;

    public BuildTimeline Timeline => _timeline;

    /// <summary>The task that started process <paramref name="pid"/> (directly or through its children); None for nodes and unknown processes.</summary>
    public BuildActivity OfProcess(int pid) => _processes.TryGetValue(pid, out var a) ? a : BuildActivity.None;

    /// <summary>The task execution behind <see cref="OfProcess"/>, for the declared inputs of a tool.</summary>
    public TaskExecution? TaskOfProcess(int pid) => _processTasks.TryGetValue(pid, out var t) ? t : null;

    /// <summary>The activity that caused an event of <paramref name="pid"/> at <paramref name="time"/>.</summary>
    public BuildActivity OfEvent(int pid, DateTimeOffset time)
    {
        if (_nodes.TryGetValue(pid, out int nodeId))
        {
            var task = RunningOn(nodeId, time);
            return task is null ? BuildActivity.None with { NodeId = nodeId } : Activity(task);
        }
        return OfProcess(pid);
    }

    /// <summary>The task execution behind <see cref="OfEvent"/>.</summary>
    public TaskExecution? TaskOfEvent(int pid, DateTimeOffset time) =>
        _nodes.TryGetValue(pid, out int nodeId) ? RunningOn(nodeId, time) : TaskOfProcess(pid);

    /// <summary>
    /// Restore; sdk-resolve for an MSBuild node's own event while a project is evaluated and no task runs on that node
    /// (NuGet's SDK resolver downloading an SDK, on the node that evaluates or on the entry node, which resolves SDKs
    /// for the worker nodes); else the command's phase.
    /// </summary>
    public TracePhase PhaseOf(int pid, DateTimeOffset time)
    {
        if (CommandPhase == TracePhase.Restore)
        {
            return TracePhase.Restore;
        }
        var activity = OfEvent(pid, time);
        if (activity.IsKnown)
        {
            return BuildTimeline.IsRestoreTarget(activity.Target) ? TracePhase.Restore : CommandPhase;
        }
        if (_restore is { } w && time >= w.Start && time <= w.End)
        {
            return TracePhase.Restore;
        }
        if (_nodes.ContainsKey(pid) && Evaluating(time))
        {
            return TracePhase.SdkResolve;
        }
        return CommandPhase;
    }

    /// <summary>True when some node was evaluating a project at <paramref name="time"/> (within the clock slack).</summary>
    private bool Evaluating(DateTimeOffset time)
    {
        foreach (var evaluation in _timeline.Evaluations)
        {
            if (evaluation.Start - TraceAttributor.Slack > time)
            {
                break; // in start order: none later can hold the time
            }
            if (time - TraceAttributor.Slack <= evaluation.End) // End may be DateTimeOffset.MaxValue (still open): no addition
            {
                return true;
            }
        }
        return false;
    }

    internal void SetProcess(int pid, int nodeId, TaskExecution? task)
    {
        if (task is null)
        {
            _processes[pid] = nodeId == 0 ? BuildActivity.None : BuildActivity.None with { NodeId = nodeId };
            return;
        }
        _processes[pid] = Activity(task);
        _processTasks[pid] = task;
    }

    /// <summary>The task on node <paramref name="nodeId"/> that started <paramref name="child"/>, the node's direct child.</summary>
    internal TaskExecution? TaskStarting(int nodeId, TracedProcess child)
    {
        if (!_tasksByNode.TryGetValue(nodeId, out var tasks))
        {
            return null;
        }
        // A task whose span holds the child's start exactly wins over one that holds it only within the clock slack:
        // a short Exec (git log) ends and the next target's task (PackTask) starts within milliseconds, and the
        // child belongs to the task that started it, not to the one that merely started next.
        var candidates = tasks.Where(t => t.Start <= child.Start && child.Start <= t.End).ToList();
        if (candidates.Count == 0)
        {
            candidates = tasks.Where(t => t.Start - TraceAttributor.Slack <= child.Start && child.Start - TraceAttributor.Slack <= t.End).ToList();
        }
        if (candidates.Count == 0)
        {
            return null;
        }
        string program = System.IO.Path.GetFileName(child.Executable);
        var named = candidates.Where(t => program.Length > 0 && t.CommandLines.Any(c => c.IndexOf(program, StringComparison.Ordinal) >= 0)).ToList();
        return (named.Count > 0 ? named : candidates).OrderBy(t => t.Start).Last();
    }

    private TaskExecution? RunningOn(int nodeId, DateTimeOffset time)
    {
        if (!_tasksByNode.TryGetValue(nodeId, out var tasks))
        {
            return null;
        }
        // Tasks on one node nest (a task that yields lets others run inside its span): the innermost is the latest
        // started one that has not ended. A task whose span holds the time exactly wins over one that holds it only
        // within the clock slack (the next task starting a few milliseconds later).
        return Innermost(tasks, time, TimeSpan.Zero) ?? Nearest(tasks, time);
    }

    /// <summary>Within the clock slack: the task whose span is nearest to the time (the tracer may see a call a little late).</summary>
    private static TaskExecution? Nearest(TaskExecution[] tasks, DateTimeOffset time)
    {
        TaskExecution? best = null;
        var bestDistance = TraceAttributor.Slack;
        foreach (var task in tasks)
        {
            if (task.Start - TraceAttributor.Slack > time)
            {
                break;
            }
            var distance = time < task.Start ? task.Start - time : time > task.End ? time - task.End : TimeSpan.Zero;
            if (distance <= bestDistance)
            {
                best = task;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static TaskExecution? Innermost(TaskExecution[] tasks, DateTimeOffset time, TimeSpan slack)
    {
        int lo = 0, hi = tasks.Length - 1, last = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (tasks[mid].Start - slack <= time)
            {
                last = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        for (int i = last; i >= 0; i--)
        {
            if (time <= tasks[i].End + slack)
            {
                return tasks[i];
            }
        }
        return null;
    }

    private BuildActivity Activity(TaskExecution task) =>
        new(task.Project, task.Target, task.Task, task.NodeId, task.TargetFile, _timeline.PackageOf(task));
}
