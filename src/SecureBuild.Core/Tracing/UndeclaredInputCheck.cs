using System;
using System.Collections.Generic;
using System.Linq;
using SecureBuild.Core.Recording;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// Cross-checks what the compiler, packer and publisher actually read against what their step declared: a file read
/// by such a task (or by a process it started: csc, an analyzer or source generator inside it) that is neither one of
/// the task's inputs in the build's log nor, when the step has an in-toto link, one of the link's materials, is an
/// undeclared input (SB4205). The link is incomplete, or something read what it should not.
/// Files of the toolchain are not judged: the dotnet installation, system folders (/usr, /lib, /etc, /proc, /sys,
/// /dev, /run), temporary files (response files), and files of a NuGet package the task was given an input of (an
/// analyzer's own dependencies).
/// </summary>
public sealed class UndeclaredInputCheck
{
    private static readonly string[] SystemFolders = { "/usr", "/lib", "/lib32", "/lib64", "/etc", "/proc", "/sys", "/dev", "/run", "/var/cache" };

    private readonly TracePolicyContext _context;
    private readonly IReadOnlyDictionary<string, ISet<string>> _linkMaterials;
    private readonly ArtifactNamer? _namer;

    /// <param name="context">The run's folders.</param>
    /// <param name="linkMaterials">Materials of the step links recorded during the trace, by step kind ("compile", "pack", "publish").</param>
    /// <param name="namer">Names files as the links do (needed with <paramref name="linkMaterials"/>).</param>
    public UndeclaredInputCheck(TracePolicyContext context, IReadOnlyDictionary<string, ISet<string>>? linkMaterials = null, ArtifactNamer? namer = null)
    {
        _context = context;
        _linkMaterials = linkMaterials ?? new Dictionary<string, ISet<string>>();
        _namer = namer;
    }

    /// <summary>The step kind a task belongs to ("compile", "pack", "publish"), or null for tasks that are not checked.</summary>
    public static string? StepOf(TaskExecution task)
    {
        if (task.Task is "Csc" or "Vbc" or "Fsc")
        {
            return "compile";
        }
        if (task.Task is "PackTask")
        {
            return "pack";
        }
        if (task.Task == "Copy" && task.Target.IndexOf("Publish", StringComparison.OrdinalIgnoreCase) >= 0)
        {
            return "publish";
        }
        return null;
    }

    public List<TraceFinding> Check(TraceLog log, TraceAttribution attribution)
    {
        var programs = log.Processes.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.Last().Executable);
        var declaredByTask = new Dictionary<TaskExecution, HashSet<string>>();
        var findings = new List<TraceFinding>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in log.Files)
        {
            if (file.Kind != FileAccessKind.Read)
            {
                continue;
            }
            string path = TracePolicyEvaluator.Normalize(file.Path);
            var task = attribution.TaskOfEvent(file.Pid, file.Time);
            string? step = task is null ? null : StepOf(task);
            if (task is null || step is null || Ignored(path))
            {
                continue;
            }
            if (!declaredByTask.TryGetValue(task, out var declared))
            {
                declared = new HashSet<string>(task.DeclaredInputs, StringComparer.Ordinal);
                declaredByTask[task] = declared;
            }
            if (IsDeclared(path, step, declared))
            {
                continue;
            }
            if (reported.Add(task.Project + "|" + step + "|" + path))
            {
                string what = (_linkMaterials.ContainsKey(step) ? $"not a material of the {step} link" : $"not an input of {task.Task}") + AnalyzerPackages(task);
                findings.Add(new TraceFinding(TraceFindingKind.UndeclaredInput, $"read {path} ({what})", file.Pid,
                    programs.TryGetValue(file.Pid, out var p) ? p : "", attribution.OfEvent(file.Pid, file.Time), attribution.PhaseOf(file.Pid, file.Time), file.Time));
            }
        }
        return findings;
    }

    private bool IsDeclared(string path, string step, HashSet<string> declared)
    {
        if (_linkMaterials.TryGetValue(step, out var materials) && _namer is not null)
        {
            return materials.Contains(_namer.Name(path));
        }
        if (declared.Contains(path))
        {
            return true;
        }
        // A file of a package the task was given something of: an analyzer's dependencies, a reference's docs.
        var package = NuGetPackageIdentity.OfFile(path, _context.NuGetPackageFolders);
        return package is not null && declared.Any(d => Equals(NuGetPackageIdentity.OfFile(d, _context.NuGetPackageFolders), package));
    }

    private bool Ignored(string path)
    {
        if (System.IO.Directory.Exists(path))
        {
            return true;
        }
        if (_context.InSources(path))
        {
            return false;
        }
        return SystemFolders.Any(f => TracePolicyEvaluator.Under(path, f))
            || _context.DotnetRoots.Any(f => TracePolicyEvaluator.Under(path, f))
            || _context.TempDirectories.Any(f => TracePolicyEvaluator.Under(path, f));
    }

    /// <summary>"; analyzers from evil.generator 1.0.0": which packages' code ran inside the compiler when it read the file.</summary>
    private string AnalyzerPackages(TaskExecution task)
    {
        var packages = task.DeclaredInputs
            .Where(i => i.IndexOf("/analyzers/", StringComparison.OrdinalIgnoreCase) >= 0 && i.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(i => NuGetPackageIdentity.OfFile(i, _context.NuGetPackageFolders))
            .Where(p => p is not null)
            .Select(p => p!.ToString())
            .Distinct(StringComparer.Ordinal)
            .OrderBy(p => p, StringComparer.Ordinal)
            .ToList();
        return packages.Count == 0 ? "" : "; analyzers from " + string.Join(", ", packages);
    }
}
