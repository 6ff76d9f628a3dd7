namespace SecureBuild.Core.Locking;

/// <summary>
/// What one check saw of the things a lock pins: the environment (SDK, global.json, tools), and for
/// one project and target framework its references, resolved packages, packs and downloads. A null
/// member was not observed by this check and is neither compared nor merged.
/// </summary>
public sealed class LockObservation
{
    /// <summary>The project's path relative to the repository root ('/'-separated); null for environment-only checks.</summary>
    public string? Project { get; set; }

    /// <summary>The target framework (alias as in TargetFramework); null when no framework part was observed.</summary>
    public string? Framework { get; set; }

    public string? SdkVersion { get; set; }

    /// <summary>True when global.json was looked at (then <see cref="GlobalJson"/> null means there is none).</summary>
    public bool GlobalJsonObserved { get; set; }

    public GlobalJsonPin? GlobalJson { get; set; }

    /// <summary>MSBuild SDK packages the project uses ("id/version") with their content hash.</summary>
    public SortedDictionary<string, LockedPackage>? MSBuildSdks { get; set; }

    /// <summary>The tool manifest's tools (empty: no manifest); null when not looked at.</summary>
    public SortedDictionary<string, LockedTool>? Tools { get; set; }

    /// <summary>Package sources restore used for the project.</summary>
    public SortedSet<string>? Sources { get; set; }

    /// <summary>The framework's part.</summary>
    public LockedFramework? FrameworkState { get; set; }

    /// <summary>Content hash and signers of the framework's packages and downloads ("id/version").</summary>
    public SortedDictionary<string, LockedPackage>? Packages { get; set; }

    /// <summary>The framework's targeting packs ("id/version") and their digests.</summary>
    public SortedDictionary<string, LockedPack>? Packs { get; set; }

    /// <summary>Downloaded files (portable URL to SHA-256).</summary>
    public SortedDictionary<string, string>? Files { get; set; }

    /// <summary>Certificates seen on <see cref="Packages"/>.</summary>
    public SortedDictionary<string, LockedSigner>? Signers { get; set; }
}
