using System;
using System.Collections.Generic;
using System.Linq;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// What the policy's tokens stand for in one run: the home and temporary folders, the projects' folders, the NuGet
/// packages folders, the package sources' addresses, the dotnet installation and the locked tools. The CLI fills it
/// from the machine, the lock and the binary log; tests fill it by hand.
/// </summary>
public sealed class TracePolicyContext
{
    /// <summary>The home directory of the user the build runs as ("~/").</summary>
    public string Home { get; init; } = "";

    /// <summary>
    /// The repository (or working directory) the command builds: inside it only obj/, bin/, artifacts and output
    /// folders may be written, even when it lies in a temporary folder.
    /// </summary>
    public string? RepositoryDirectory { get; init; }

    /// <summary>
    /// Whether a path lies in the sources the command builds, where the temporary folders' allowances do not reach: the
    /// <see cref="RepositoryDirectory"/> (a repository checked out under /tmp is still the repository). When that is a
    /// temporary folder itself or lies above one (the working directory of a command run in /tmp or / outside any
    /// repository), it is no checkout, and the built projects' folders stand for the sources instead.
    /// </summary>
    public bool InSources(string path) => _sourceFolders.Value.Any(folder => TracePolicyEvaluator.Under(path, folder));

    private readonly Lazy<IReadOnlyList<string>> _sourceFolders;

    public TracePolicyContext()
    {
        _sourceFolders = new Lazy<IReadOnlyList<string>>(() =>
        {
            bool HoldsTemp(string folder) => TempDirectories.Any(temp => TracePolicyEvaluator.Under(temp, folder));
            if (RepositoryDirectory is null || !HoldsTemp(RepositoryDirectory))
            {
                return RepositoryDirectory is null ? Array.Empty<string>() : new[] { RepositoryDirectory };
            }
            return ProjectDirectories.Where(project => !HoldsTemp(project)).ToList();
        });
    }

    /// <summary>Folders of the projects built (their obj/ and bin/ may be written).</summary>
    public IReadOnlyList<string> ProjectDirectories { get; init; } = Array.Empty<string>();

    /// <summary>The repository's artifacts folder (.NET's artifacts output layout), if any.</summary>
    public string? ArtifactsDirectory { get; init; }

    /// <summary>Output folders given on the command line (-o, --output) and the trace's own output folder.</summary>
    public IReadOnlyList<string> OutputDirectories { get; init; } = Array.Empty<string>();

    /// <summary>Temporary folders (/tmp, $TMPDIR, /var/tmp, /dev/shm).</summary>
    public IReadOnlyList<string> TempDirectories { get; init; } = Array.Empty<string>();

    /// <summary>NuGet packages folders (written during restore; their packages' targets are attributed to the package).</summary>
    public IReadOnlyList<string> NuGetPackageFolders { get; init; } = Array.Empty<string>();

    /// <summary>The dotnet installations in use (the host, the SDK, the runtime).</summary>
    public IReadOnlyList<string> DotnetRoots { get; init; } = Array.Empty<string>();

    /// <summary>
    /// The SDK's own per-user state folders (the verification store's <c>securebuild/</c> folder under
    /// <c>$XDG_CACHE_HOME</c> of the traced command, else <c>~/.cache</c>): the SDK writes its verified-folder entries there.
    /// </summary>
    public IReadOnlyList<string> SecureBuildStateDirectories { get; init; } = Array.Empty<string>();

    /// <summary>Commands of the tools in the lock (securebuild.lock.json "tools").</summary>
    public IReadOnlyList<string> LockedToolCommands { get; init; } = Array.Empty<string>();

    /// <summary>Programs the runner itself starts around the command (the hermetic wrapper's loopback set-up).</summary>
    public IReadOnlyList<string> RunnerPrograms { get; init; } = Array.Empty<string>();

    private Lazy<IReadOnlyList<string>> _packageSourceHosts = new(() => Array.Empty<string>());

    /// <summary>The package sources' hosts (from the lock, else NuGet's configured sources).</summary>
    public IReadOnlyList<string> PackageSourceHosts
    {
        get => _packageSourceHosts.Value;
        init => _packageSourceHosts = new Lazy<IReadOnlyList<string>>(() => value);
    }

    /// <summary>
    /// Finds <see cref="PackageSourceHosts"/> when a rule first needs them (a network operation in the restore phase):
    /// without a lock the CLI asks NuGet (`dotnet nuget list source`, a process of its own), which most traces need not pay for.
    /// </summary>
    public Func<IReadOnlyList<string>> FindPackageSourceHosts
    {
        init => _packageSourceHosts = new Lazy<IReadOnlyList<string>>(value);
    }

    /// <summary>
    /// The command ran in a network namespace with only loopback (--hermetic): a connection to anywhere else that
    /// failed could not have left the machine (the toolchain's own name lookups fail so); it stays in the attestation
    /// but is not a finding. One that succeeded, or one to loopback, is judged as usual.
    /// </summary>
    public bool NetworkIsolated { get; init; }

    /// <summary>Resolves a host name to its addresses (DNS in the CLI; a table in tests). Null: names match no address.</summary>
    public Func<string, IReadOnlyList<string>>? Resolve { get; init; }

    /// <summary>A path entry of the policy with "~/" replaced by the home directory.</summary>
    public string ExpandHome(string entry) =>
        entry.StartsWith("~/", StringComparison.Ordinal) && Home.Length > 0 ? Home.TrimEnd('/') + entry.Substring(1) : entry;

    /// <summary>The folders a path token stands for (empty for the tokens that are rules, not folders).</summary>
    public IEnumerable<string> FoldersOf(string token) => token switch
    {
        "@project-obj" => ProjectDirectories.Select(d => Combine(d, "obj")),
        "@project-bin" => ProjectDirectories.Select(d => Combine(d, "bin")),
        "@artifacts" => ArtifactsDirectory is null ? Array.Empty<string>() : new[] { ArtifactsDirectory },
        "@output" => OutputDirectories,
        "@temp" => TempDirectories,
        "@devices" => new[] { "/dev/null", "/dev/zero", "/dev/tty", "/dev/pts", "/dev/ptmx", "/dev/shm", "/dev/urandom", "/dev/random", "/dev/stdout", "/dev/stderr" },
        "@nuget-packages" => NuGetPackageFolders,
        // The SDK's own state inside its installation (workload and telemetry metadata written on first use).
        "@dotnet-state" => DotnetRoots.Select(d => Combine(d, "metadata")),
        "@securebuild-state" => SecureBuildStateDirectories,
        _ => Array.Empty<string>(),
    };

    private static string Combine(string directory, string name) => directory.TrimEnd('/') + "/" + name;
}
