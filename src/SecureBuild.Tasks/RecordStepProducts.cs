using Microsoft.Build.Framework;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Hashes a step's products after it ran and writes the signed link
/// <c>&lt;step&gt;.&lt;keyid8&gt;.link</c> with the materials recorded before the step.
/// </summary>
public sealed class RecordStepProducts : SecureBuildTask
{
    /// <summary>The files the step wrote.</summary>
    public ITaskItem[] Products { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Directories whose every file is a product (the publish folder).</summary>
    public string[] ProductDirectories { get; set; } = Array.Empty<string>();

    /// <summary>Used only when no materials were recorded before the step (e.g. a build with --no-restore).</summary>
    public ITaskItem[] FallbackMaterials { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The step's command, recorded in the link; "{project}" stands for the project file's artifact name.</summary>
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>The project file, named in the command.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Private key file (SecureBuildSigningKey). Empty: the development key.</summary>
    public string? SigningKey { get; set; }

    /// <summary>Where the development key lives; empty: ~/.securebuild/development-key.</summary>
    public string? DevelopmentKeyFile { get; set; }

    /// <summary>When true, a missing SigningKey is an error instead of a development-key warning.</summary>
    public bool RequireSigningKey { get; set; }

    /// <summary>The directory the link is written to.</summary>
    [Required]
    public string LinkDirectory { get; set; } = "";

    /// <summary>The link written (or confirmed up to date).</summary>
    [Output]
    public string? LinkFile { get; set; }

    protected override bool ExecuteCore()
    {
        var key = SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log);
        if (key is null)
        {
            return false;
        }
        var recorder = CreateRecorder(out var cache);
        var materials = StepRecorder.ReadPendingMaterials(MaterialsFile, StepName);
        if (materials is null)
        {
            Log.LogMessage(MessageImportance.Low, $"SecureBuild: no materials were recorded before step '{StepName}'; hashing them now.");
            materials = recorder.Record(FullPaths(FallbackMaterials));
        }
        var products = recorder.Record(FullPaths(Products), ProductDirectories);
        cache.Save();
        var link = new Link
        {
            Name = StepName,
            Command = Command.Select(a => a == "{project}" && !string.IsNullOrEmpty(ProjectFile) ? recorder.Namer.Name(ProjectFile!) : a).ToList(),
            Materials = materials,
            Products = products,
            Byproducts = new JsonObject(),
            Environment = new JsonObject(),
        };
        var (path, written) = StepRecorder.WriteLinkIfChanged(link, key, LinkDirectory);
        LinkFile = path;
        Log.LogMessage(MessageImportance.Normal,
            written
                ? $"SecureBuild: {StepName} -> {path} ({materials.Count} materials, {products.Count} products)"
                : $"SecureBuild: {StepName} link is up to date: {path}");
        return true;
    }
}
