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
        var startedOn = DateTimeOffset.UtcNow;
        var recorder = CreateRecorder(loadCache: false, out _, out var settings);
        var resolved = recorder.Resolve(Files());
        // Looked at before hashing, so a file changing in between changes the stat hash too.
        var statHash = StepFingerprint.OfFiles(resolved, recorder.Missing, DateTime.UtcNow, settings);
        var previous = StepFingerprint.ReadStat(MaterialsFile, StepName);
        if (statHash is not null && previous is not null && previous.Hash == statHash && PendingFileHash() == previous.PendingFileHash)
        {
            // Nothing recorded changed (by size and time, as the hash cache would judge): the pending
            // materials stand; only this build's start time is new.
            StepFingerprint.WriteStat(MaterialsFile, StepName, new MaterialsStat(statHash, previous.PendingFileHash, startedOn));
            Log.LogMessage(MessageImportance.Low, $"SecureBuild: step '{StepName}': {resolved.Count} materials unchanged since they were hashed.");
            return true;
        }
        // The stat is dropped first and written last: it stands for the pending materials next to it.
        StepFingerprint.WriteStat(MaterialsFile, StepName, null);
        recorder = CreateRecorder(loadCache: true, out var cache, out _);
        var materials = recorder.Record(resolved);
        StepRecorder.WritePendingMaterials(MaterialsFile, StepName, materials, startedOn);
        var pendingHash = PendingFileHash();
        if (statHash is not null && pendingHash is not null)
        {
            StepFingerprint.WriteStat(MaterialsFile, StepName, new MaterialsStat(statHash, pendingHash, startedOn));
        }
        cache.Save();
        Log.LogMessage(MessageImportance.Low, $"SecureBuild: step '{StepName}': {materials.Count} materials hashed ({cache.FilesHashed} read, the rest from the cache).");
        return true;
    }

    private List<string> Files()
    {
        var files = FullPaths(Materials).ToList();
        if (SearchUpward.Length > 0)
        {
            var root = string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(ProjectDirectory) : RootDirectory!;
            files.AddRange(RepositoryRoot.FindUpward(ProjectDirectory, root, SearchUpward));
        }
        return files;
    }

    private string? PendingFileHash()
    {
        try
        {
            return File.Exists(MaterialsFile) ? Core.Crypto.Sha256Hex.OfFile(MaterialsFile) : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }
}
