namespace SecureBuild.Core.Locking;

/// <summary>
/// Everything external a repository's build uses, pinned: the .NET SDK and global.json, MSBuild SDK
/// packages, local dotnet tools, package sources, and per project and target framework the NuGet
/// packages it references, resolves and downloads, the targeting packs it compiles against and the
/// files it downloads. Serialized by <see cref="LockFile"/> as <c>securebuild.lock.json</c> at the
/// repository root. Nothing in it depends on the machine, the operating system or the runtime
/// identifier: names are relative to the root, ids lowercase, collections sorted.
/// </summary>
public sealed class RepositoryLock
{
    /// <summary>The schema version this code reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The lock's file name at the repository root.</summary>
    public const string DefaultFileName = "securebuild.lock.json";

    /// <summary>The .NET SDK version the lock was made with (<c>NETCoreSdkVersion</c>); null when not recorded.</summary>
    public string? SdkVersion { get; set; }

    /// <summary>What global.json says (null: the repository has no global.json).</summary>
    public GlobalJsonPin? GlobalJson { get; set; }

    /// <summary>MSBuild SDK packages ("id/version", lowercase) and NuGet's content hash of each.</summary>
    public SortedDictionary<string, LockedPackage> MSBuildSdks { get; } = Sorted<LockedPackage>();

    /// <summary>Local dotnet tools from the tool manifest, by id (lowercase).</summary>
    public SortedDictionary<string, LockedTool> Tools { get; } = Sorted<LockedTool>();

    /// <summary>Package sources restore used, portable (<see cref="PackageSources.Normalize"/>).</summary>
    public SortedSet<string> Sources { get; } = new(StringComparer.Ordinal);

    /// <summary>Projects by path relative to the repository root ('/'-separated).</summary>
    public SortedDictionary<string, LockedProject> Projects { get; } = Sorted<LockedProject>();

    /// <summary>NuGet packages ("id/version", lowercase) with content hash and signers.</summary>
    public SortedDictionary<string, LockedPackage> Packages { get; } = Sorted<LockedPackage>();

    /// <summary>Targeting packs ("id/version", lowercase) with a digest of their files.</summary>
    public SortedDictionary<string, LockedPack> Packs { get; } = Sorted<LockedPack>();

    /// <summary>Certificates that signed the locked packages, by SHA-256 fingerprint (uppercase hex).</summary>
    public SortedDictionary<string, LockedSigner> Signers { get; } = Sorted<LockedSigner>();

    /// <summary>An empty map with ordinal (culture- and OS-independent) key order.</summary>
    public static SortedDictionary<string, T> Sorted<T>() => new(StringComparer.Ordinal);

    /// <summary>"id/version" as the lock keys packages: both lowercase.</summary>
    public static string PackageKey(string id, string version) => id.ToLowerInvariant() + "/" + version.ToLowerInvariant();

    /// <summary>
    /// Drops packages, packs and signers no project (or MSBuild SDK) refers to any more, so a lock
    /// updated project by project holds exactly what a fresh one would.
    /// </summary>
    public void RemoveUnreferenced()
    {
        var packages = new HashSet<string>(StringComparer.Ordinal);
        var packs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var framework in Projects.Values.SelectMany(p => p.Frameworks.Values))
        {
            foreach (var p in framework.Packages ?? Sorted<string>())
            {
                packages.Add(PackageKey(p.Key, p.Value));
            }
            foreach (var p in framework.Downloads ?? Sorted<string>())
            {
                packages.Add(PackageKey(p.Key, p.Value));
            }
            foreach (var p in framework.Packs ?? Sorted<string>())
            {
                packs.Add(PackageKey(p.Key, p.Value));
            }
        }
        foreach (var key in Packages.Keys.Where(k => !packages.Contains(k)).ToList())
        {
            Packages.Remove(key);
        }
        foreach (var key in Packs.Keys.Where(k => !packs.Contains(k)).ToList())
        {
            Packs.Remove(key);
        }
        var signers = new HashSet<string>(Packages.Values.Concat(MSBuildSdks.Values).Where(p => p.Signature is not null)
            .SelectMany(p => new[] { p.Signature!.Author, p.Signature.Repository }).Where(f => f is not null)!, StringComparer.Ordinal);
        foreach (var key in Signers.Keys.Where(k => !signers.Contains(k)).ToList())
        {
            Signers.Remove(key);
        }
    }
}

/// <summary>The SDK settings of global.json.</summary>
public sealed class GlobalJsonPin
{
    public string? SdkVersion { get; set; }
    public string? RollForward { get; set; }
    public bool? AllowPrerelease { get; set; }

    /// <summary>The msbuild-sdks section: SDK name to version.</summary>
    public SortedDictionary<string, string> MSBuildSdks { get; } = RepositoryLock.Sorted<string>();
}

/// <summary>A package (or MSBuild SDK package) with NuGet's content hash and who signed it.</summary>
public sealed class LockedPackage
{
    /// <summary>NuGet's content hash as NuGet writes it: base64 SHA-512 of the package without its signature.</summary>
    public string ContentHash { get; set; } = "";

    /// <summary>The signers; null when the signature was not inspected (e.g. no NuGet in the process).</summary>
    public LockedSignature? Signature { get; set; }
}

/// <summary>Who signed a package: author and repository certificate fingerprints, and the owners a repository signature names.</summary>
public sealed class LockedSignature
{
    public bool Signed { get; set; }
    public string? Author { get; set; }
    public string? Repository { get; set; }
    public SortedSet<string> Owners { get; } = new(StringComparer.Ordinal);
}

/// <summary>A certificate that signed a locked package.</summary>
public sealed class LockedSigner
{
    /// <summary>"author" or "repository".</summary>
    public string Kind { get; set; } = "";
    public string Subject { get; set; } = "";
}

/// <summary>A local dotnet tool from .config/dotnet-tools.json.</summary>
public sealed class LockedTool
{
    public string Version { get; set; } = "";
    public SortedSet<string> Commands { get; } = new(StringComparer.Ordinal);
    public bool RollForward { get; set; }
}

/// <summary>A targeting pack: the digest of its file list and contents (<see cref="DirectoryTreeDigest"/>).</summary>
public sealed class LockedPack
{
    public string Sha256 { get; set; } = "";
    public int Files { get; set; }
}

/// <summary>One project: what each target framework uses, and the files its build downloads.</summary>
public sealed class LockedProject
{
    public SortedDictionary<string, LockedFramework> Frameworks { get; } = RepositoryLock.Sorted<LockedFramework>();

    /// <summary>Files the build downloads (DownloadFile), by portable URL, with their SHA-256.</summary>
    public SortedDictionary<string, string> Files { get; } = RepositoryLock.Sorted<string>();
}

/// <summary>
/// What one target framework of a project uses. A null map was not observed (a check before restore
/// knows the references but not what they resolve to) and is not compared.
/// </summary>
public sealed class LockedFramework
{
    /// <summary>PackageReference items the project declares: id to the version as written (VersionOverride or central version applied).</summary>
    public SortedDictionary<string, string>? References { get; set; }

    /// <summary>Every package restore resolved for the framework (not the runtime-specific graphs): lowercase id to version.</summary>
    public SortedDictionary<string, string>? Packages { get; set; }

    /// <summary>PackageDownload packages (not runtime-specific ones): lowercase id to version.</summary>
    public SortedDictionary<string, string>? Downloads { get; set; }

    /// <summary>Targeting packs: lowercase id to version.</summary>
    public SortedDictionary<string, string>? Packs { get; set; }

    public LockedFramework Clone() => new()
    {
        References = Copy(References),
        Packages = Copy(Packages),
        Downloads = Copy(Downloads),
        Packs = Copy(Packs),
    };

    private static SortedDictionary<string, string>? Copy(SortedDictionary<string, string>? map) =>
        map is null ? null : new SortedDictionary<string, string>(map, StringComparer.Ordinal);
}
