using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.IO;
using SecureBuild.Core.Recording;

namespace SecureBuild.Core.Provenance;

/// <summary>One file that defines how a repository is built or which pipeline builds it, as provenance records it.</summary>
public sealed class BuildDefinitionFile
{
    public BuildDefinitionFile(string path, string kind, string sha256, bool? committed)
    {
        Path = path;
        Kind = kind;
        Sha256 = sha256;
        Committed = committed;
    }

    /// <summary>Repository-relative, with '/'.</summary>
    public string Path { get; }

    /// <summary><see cref="BuildDefinitions.BuildKind"/> or <see cref="BuildDefinitions.PipelineKind"/>.</summary>
    public string Kind { get; }

    /// <summary>SHA-256 (hex) of the file as the build saw it.</summary>
    public string Sha256 { get; }

    /// <summary>False when git reports the file changed against HEAD or untracked; null when git could not say.</summary>
    public bool? Committed { get; }
}

/// <summary>
/// The pipeline state of a build (issue #14): the build-definition files at the repository root (global.json,
/// Directory.Build.props/.targets, Directory.Packages.props, nuget.config, securebuild.lock.json,
/// securebuild/policy.json) and the pipeline definitions (.github/workflows/*, .tekton/*, azure-pipelines*.yml), each
/// with its digest and whether it is committed. Provenance records them, so a verifier can compare them with the files at
/// the built commit; a CI build with an uncommitted one fails (SB5410): the pipeline and the build change only through
/// source control.
/// </summary>
public static class BuildDefinitions
{
    public const string BuildKind = "build-definition";

    public const string PipelineKind = "pipeline-definition";

    /// <summary>At most this many pipeline files are recorded (a folder of thousands is not a pipeline definition).</summary>
    public const int MaxPipelineFiles = 100;

    private static readonly string[] BuildFiles = { "global.json", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "nuget.config", "securebuild.lock.json", "securebuild/policy.json" };

    /// <summary>
    /// SB5410 when a CI build (<paramref name="ci"/> is not "local") in a git work tree has definition files git has not
    /// committed: the provenance would name a commit that is not what was built, and the pipeline would have changed
    /// outside source control; else null. Local builds record the state (committed: false) and go on.
    /// </summary>
    /// <param name="ci">The CI system running the build.</param>
    /// <param name="definitions">The repository's definition files (<see cref="Describe"/>), or null when the root is not a git work tree; asked only in CI.</param>
    public static CodedDiagnostic? UncommittedInCi(CiContext ci, Func<IReadOnlyList<BuildDefinitionFile>?> definitions)
    {
        if (ci.System == "local" || definitions() is not { } files)
        {
            return null;
        }

        var uncommitted = files.Where(f => f.Committed == false).ToList();
        return uncommitted.Count == 0 ? null : CodedDiagnostic.Error(Pipelines.PipelineCodes.DefinitionUncommittedInCi,
            $"this {ci.System} build has changes git has not committed to {string.Join(", ", uncommitted.Select(f => f.Path))}: " +
            "build and pipeline definitions change only through source control, and provenance would name a commit that is not what was built. " +
            "Commit the change (through review), or make the CI job start from a clean checkout; a step must not edit these files.");
    }

    /// <summary>Every definition file under <paramref name="root"/> in path order; <paramref name="inGitWorkTree"/>: ask git which are committed.</summary>
    public static IReadOnlyList<BuildDefinitionFile> Describe(string root, bool inGitWorkTree)
    {
        var found = new List<(string Path, string Kind)>();
        foreach (var name in BuildFiles)
        {
            if (ExistingName(root, name) is { } actual)
            {
                found.Add((actual, BuildKind));
            }
        }

        var pipelines = new List<string>();
        pipelines.AddRange(FilesIn(root, ".github/workflows"));
        pipelines.AddRange(FilesIn(root, ".tekton"));
        if (Directory.Exists(root))
        {
            pipelines.AddRange(Directory.EnumerateFiles(root, "azure-pipelines*").Select(System.IO.Path.GetFileName).Where(IsYaml)!);
        }

        found.AddRange(pipelines.OrderBy(p => p, StringComparer.Ordinal).Take(MaxPipelineFiles).Select(p => (p, PipelineKind)));
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));

        var uncommitted = inGitWorkTree ? GitSource.Uncommitted(root, found.Select(f => f.Path)) : null;
        var changed = uncommitted is null ? null : new HashSet<string>(uncommitted.Select(u => u.Path), StringComparer.Ordinal);
        return found.Select(f => new BuildDefinitionFile(f.Path, f.Kind, Sha256(System.IO.Path.Combine(root, f.Path)), changed is null ? null : !changed.Contains(f.Path))).ToList();
    }

    /// <summary>
    /// True when <paramref name="relative"/> (from the root, with '/') names a file <see cref="Describe"/> would record:
    /// a build-definition file (any case) or a YAML file of the pipeline folders. To pick them from a listing of a commit.
    /// </summary>
    public static bool IsDefinitionPath(string relative)
    {
        var slash = relative.LastIndexOf('/');
        var folder = slash < 0 ? string.Empty : relative.Substring(0, slash);
        var name = relative.Substring(slash + 1);
        return BuildFiles.Any(b => string.Equals(b, relative, StringComparison.OrdinalIgnoreCase)) ||
               ((folder is ".github/workflows" or ".tekton") && IsYaml(name)) ||
               (folder.Length == 0 && name.StartsWith("azure-pipelines", StringComparison.Ordinal) && IsYaml(name));
    }

    private static string Sha256(string path)
    {
        using var sha = SHA256.Create();
        InputFile.Hash(path, InputKind.Metadata, null, sha);
        return Hex.Encode(sha.Hash!);
    }

    /// <summary>The repository-relative name as it is on disk, found in any case as NuGet finds nuget.config (NuGet.Config), or null.</summary>
    private static string? ExistingName(string root, string relative)
    {
        var folder = System.IO.Path.GetDirectoryName(relative) ?? string.Empty;
        var directory = System.IO.Path.Combine(root, folder);
        var found = RepositoryRoot.FindUpward(directory, directory, new[] { System.IO.Path.GetFileName(relative) }).FirstOrDefault();
        return found is null ? null : (folder.Length == 0 ? string.Empty : folder.Replace('\\', '/') + "/") + System.IO.Path.GetFileName(found);
    }

    private static IEnumerable<string> FilesIn(string root, string folder)
    {
        var directory = System.IO.Path.Combine(root, folder);
        return Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory).Select(System.IO.Path.GetFileName).Where(IsYaml).Select(n => folder + "/" + n)
            : Enumerable.Empty<string>();
    }

    private static bool IsYaml(string? name) =>
        name is not null && (name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase));
}
