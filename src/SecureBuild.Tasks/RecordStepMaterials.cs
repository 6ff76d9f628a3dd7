using Microsoft.Build.Framework;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Hashes a step's materials before the step runs and keeps them in <see cref="SecureBuildTask.MaterialsFile"/>
/// for <see cref="RecordStepProducts"/>.
/// </summary>
public sealed class RecordStepMaterials : SecureBuildTask
{
    /// <summary>The files the step reads.</summary>
    public ITaskItem[] Materials { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>
    /// File names (e.g. nuget.config, global.json) looked for in the project directory and every
    /// directory above it up to the root; those found are materials too.
    /// </summary>
    public string[] SearchUpward { get; set; } = Array.Empty<string>();

    protected override bool ExecuteCore()
    {
        // The stat hash is dropped first and written last: it stands for the pending materials next to it.
        StepFingerprint.WriteStat(MaterialsFile, StepName, null);
        var recorder = CreateRecorder(loadCache: true, out var cache, out var settings);
        var files = FullPaths(Materials).ToList();
        if (SearchUpward.Length > 0)
        {
            var root = string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(ProjectDirectory) : RootDirectory!;
            files.AddRange(RepositoryRoot.FindUpward(ProjectDirectory, root, SearchUpward));
        }
        var resolved = recorder.Resolve(files);
        // Looked at before hashing, so a file changing in between changes the stat hash too.
        var stat = StepFingerprint.OfFiles(resolved, recorder.Missing, DateTime.UtcNow, settings);
        var materials = recorder.Record(resolved);
        StepRecorder.WritePendingMaterials(MaterialsFile, StepName, materials, DateTimeOffset.UtcNow);
        StepFingerprint.WriteStat(MaterialsFile, StepName, stat);
        cache.Save();
        Log.LogMessage(MessageImportance.Low, $"SecureBuild: step '{StepName}': {materials.Count} materials hashed ({cache.FilesHashed} read, the rest from the cache).");
        return true;
    }
}
