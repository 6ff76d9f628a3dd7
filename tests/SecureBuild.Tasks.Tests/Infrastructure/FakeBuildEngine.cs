using System.Collections;
using System.Collections.Concurrent;
using Microsoft.Build.Framework;

namespace SecureBuild.Tasks.Tests.Infrastructure;

/// <summary>
/// Just enough of MSBuild's build engine to run a task in-process: it records every event and keeps
/// registered task objects in a dictionary (what the real engine does for one build), and hands out the
/// <see cref="GlobalProperties"/> a test gives it (what <c>-p:</c> gives a real build).
/// </summary>
public sealed class FakeBuildEngine : IBuildEngine6
{
    /// <summary>The project's global properties, as <c>-p:Name=Value</c> would set them.</summary>
    public Dictionary<string, string> GlobalProperties { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, string> GetGlobalProperties() => GlobalProperties;

    public void LogTelemetry(string eventName, IDictionary<string, string> properties) { }

    private readonly ConcurrentDictionary<(object Key, RegisteredTaskObjectLifetime Lifetime), object> _objects = new();

    public ConcurrentQueue<BuildErrorEventArgs> Errors { get; } = new();
    public ConcurrentQueue<BuildWarningEventArgs> Warnings { get; } = new();
    public ConcurrentQueue<BuildMessageEventArgs> Messages { get; } = new();

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "test.proj";
    public bool IsRunningMultipleNodes => false;

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Enqueue(e);
    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Enqueue(e);
    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Enqueue(e);
    public void LogCustomEvent(CustomBuildEventArgs e) { }

    public IEnumerable<string> ErrorCodes => Errors.Select(e => e.Code);
    public IEnumerable<string> WarningCodes => Warnings.Select(w => w.Code);

    /// <summary>Everything logged, for assertion messages.</summary>
    public string Log =>
        string.Join("\n", Errors.Select(e => $"error {e.Code}: {e.Message}")
            .Concat(Warnings.Select(w => $"warning {w.Code}: {w.Message}"))
            .Concat(Messages.Select(m => $"message: {m.Message}")));

    public void RegisterTaskObject(object key, object obj, RegisteredTaskObjectLifetime lifetime, bool allowEarlyCollection) =>
        _objects[(key, lifetime)] = obj;

    public object? GetRegisteredTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _objects.TryGetValue((key, lifetime), out var obj) ? obj : null;

    public object? UnregisterTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _objects.TryRemove((key, lifetime), out var obj) ? obj : null;

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException();

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs, string toolsVersion) =>
        throw new NotSupportedException();

    public bool BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties, IDictionary[] targetOutputsPerProject, string[] toolsVersion, bool useResultsCache, bool unloadProjectsOnCompletion) =>
        throw new NotSupportedException();

    public BuildEngineResult BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties, IList<string>[] removeGlobalProperties, string[] toolsVersion, bool returnTargetOutputs) =>
        throw new NotSupportedException();

    public void Yield() { }
    public void Reacquire() { }
}
