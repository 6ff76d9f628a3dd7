namespace SecureBuild.Core.Reproducibility;

/// <summary>The most likely reason for a difference between two builds, and what removes it.</summary>
public sealed class Cause
{
    public Cause(string id, string title, string explanation, string fix)
    {
        Id = id;
        Title = title;
        Explanation = explanation;
        Fix = fix;
    }

    /// <summary>Stable identifier (used in JSON reports and tests), e.g. <c>absolute-path-pdb-documents</c>.</summary>
    public string Id { get; }

    /// <summary>One line naming the cause.</summary>
    public string Title { get; }

    /// <summary>Why this kind of difference happens.</summary>
    public string Explanation { get; }

    /// <summary>What to change so the builds agree.</summary>
    public string Fix { get; }

    /// <summary>A copy with a more specific title (e.g. naming the environment variable).</summary>
    public Cause WithTitle(string title) => new(Id, title, Explanation, Fix);

    /// <summary>A copy with a more specific fix.</summary>
    public Cause WithFix(string fix) => new(Id, Title, Explanation, fix);

    public override string ToString() => $"{Id}: {Title}";
}

/// <summary>Every cause the differ knows, with its fix. The user-facing list: docs/reproducibility.md.</summary>
public static class Causes
{
    private const string PathFix =
        "Set ContinuousIntegrationBuild=true (SecureBuild.Sdk does in Release and CI builds): with a git repository the SDK's SourceRoot maps the repository to /_/; " +
        "without one SecureBuild.Sdk adds its root as SourceRoot. Or set PathMap=\"$(MSBuildProjectDirectory)=/_/\" yourself.";

    public static readonly Cause PdbDocumentPath = new("absolute-path-pdb-documents",
        "Absolute build path in the PDB document table",
        "The portable PDB names every source file by its full path, so two checkouts in different directories produce different PDBs (and, through the PDB checksum, different assemblies).",
        PathFix);

    public static readonly Cause CodeViewPath = new("absolute-path-codeview",
        "Absolute PDB path in the assembly's debug directory (CodeView entry)",
        "The compiler writes the full path of the .pdb into the PE debug directory; it differs with the build directory.",
        PathFix);

    public static readonly Cause PathInCode = new("absolute-path-in-code",
        "Absolute build path compiled into code (a string literal such as [CallerFilePath] or a generated path)",
        "[CallerFilePath] and generated sources that embed $(MSBuildProjectDirectory) turn the build directory into a string constant.",
        "PathMap (set by ContinuousIntegrationBuild, see absolute-path-pdb-documents) also maps [CallerFilePath]; for generated code, emit paths relative to the project.");

    public static readonly Cause PathInContent = new("absolute-path",
        "Absolute build path in file content",
        "An output embeds the directory it was built in.",
        "Write paths relative to the project or repository root (or map them, e.g. with PathMap for compiler outputs).");

    public static readonly Cause Timestamp = new("build-timestamp",
        "Build timestamp baked into code or resources",
        "Something records the wall-clock time of the build (DateTime.Now in a generator or target, a generated resource), so every build differs.",
        "Use SOURCE_DATE_EPOCH or the commit time ($(SourceRevisionId) / git log -1 --format=%ct) instead of the current time, or drop the timestamp.");

    public static readonly Cause RandomGuid = new("random-guid",
        "Random GUID generated at build time",
        "A GUID created during the build (Guid.NewGuid() in a generator or target, $([System.Guid]::NewGuid())) differs every time.",
        "Fix the GUID in source, or derive it from stable input (e.g. a name-based hash of the project name).");

    public static readonly Cause Commit = new("different-commit",
        "Different source commits (+<commit> in InformationalVersion, repository commit in the nuspec or Source Link)",
        "The SDK appends the git commit to AssemblyInformationalVersion and writes it to the nuspec and Source Link JSON; two commits give different outputs.",
        "Rebuild the same commit. This difference is expected when the commits differ; IncludeSourceRevisionInInformationalVersion=false drops it from the version.");

    public static readonly Cause GitBranch = new("git-branch",
        "Built on a branch vs a detached HEAD of the same commit (branch= in the nuspec's repository element)",
        "With PublishRepositoryUrl=true NuGet writes the checked-out branch into the package's nuspec; CI usually checks out a detached HEAD and a laptop a branch, so one commit packs two ways.",
        "SecureBuild.Sdk leaves branch= out of deterministic builds and records the branch in provenance instead (SecureBuildDeterministic=true, the default); or set RepositoryBranch explicitly.");

    public static readonly Cause NoGitRepository = new("no-git-repository",
        "Built without a git repository on one side (no commit in InformationalVersion, the nuspec or Source Link)",
        "Without .git (a source archive, a copy) the SDK knows no commit: +<commit> is missing from AssemblyInformationalVersion, commit= from the nuspec, and Source Link from the PDB.",
        "Build both from a git clone of the same commit. IncludeSourceRevisionInInformationalVersion=false keeps the commit out of the version, but the nuspec and Source Link still need the repository.");

    public static readonly Cause Version = new("different-version",
        "Different version numbers",
        "A version property differs between the builds, often because an environment variable (Version, PackageVersion, BUILD_NUMBER) silently becomes an MSBuild property.",
        "Set versions in the project or Directory.Build.props, not through the environment; pass them explicitly and identically to both builds.");

    public static readonly Cause Ordering = new("ordering",
        "Same items in a different order (unordered file globbing or hash ordering)",
        "File system enumeration order is not stable across directories and machines; code that concatenates files or entries in that order produces differently ordered outputs.",
        "Sort the items before using them (e.g. OrderBy(path, StringComparer.Ordinal) in a generator, or an ordered item list in the project).");

    public static readonly Cause Environment = new("environment-value",
        "Value taken from the build environment",
        "A value read from an environment variable, the user name, the home directory, the locale or the time zone ends up in the output (MSBuild turns every environment variable into a property).",
        "Do not read the environment at build time; pass the value explicitly and identically, or drop it.");

    public static readonly Cause ZipTimestamps = new("zip-timestamps",
        "Zip entry timestamps",
        "NuGet stamps each package entry with the current time unless DeterministicTimestamp is set.",
        "Set SOURCE_DATE_EPOCH (NuGet's DeterministicTimestamp); SecureBuild.Sdk derives it from the commit time in Release/CI builds (SecureBuildDeterministicTimestamp).");

    public static readonly Cause ZipOrder = new("zip-entry-order",
        "Zip entries in a different order",
        "The packing tool enumerated files in file system order.",
        "Give the files to pack in a fixed order; with NuGet pack, list them explicitly or sort the items.");

    public static readonly Cause ZipAttributes = new("zip-entry-attributes",
        "Zip entry attributes (file mode, compression, flags)",
        "Unix file modes stored in the archive follow the umask of the build; compression settings or tools may differ.",
        "Run builds with a fixed umask (022) or normalize modes when packing.");

    public static readonly Cause PsmdcpName = new("random-part-name",
        "Random name of the package's core-properties part (package/services/metadata/core-properties/<guid>.psmdcp)",
        "Older NuGet versions named this part after a new GUID on every pack.",
        "Pack with NuGet 6 or later (.NET SDK 6+), which uses a fixed name.");

    public static readonly Cause PackageSignature = new("package-signature",
        "Package signature (.signature.p7s)",
        "A signed package carries a timestamped signature that is never reproducible.",
        "Compare the unsigned content (NuGet's content hash, as `securebuild provenance verify` does) or compare before signing.");

    public static readonly Cause DeterministicOff = new("deterministic-off",
        "Deterministic=false: random MVID and wall-clock PE timestamp",
        "Without /deterministic the compiler writes a new random module version id and the current time into every assembly.",
        "Remove Deterministic=false (it is true by default in the .NET SDK and SecureBuild.Sdk warns SB2501 when it is off).");

    public static readonly Cause ContentHash = new("content-hash",
        "Derived from other differences (content hash)",
        "With Deterministic=true the MVID, the PE timestamp, the PDB id and the PDB checksum are hashes of the content; they change whenever anything else in the file (or its PDB) changes.",
        "Fix the root cause listed first; this difference disappears with it.");

    public static readonly Cause CompilerVersion = new("toolchain-version",
        "Different compiler, SDK or runtime version",
        "The PDB records compiler-version and runtime-version; a different SDK patch compiles differently.",
        "Pin the SDK in global.json with rollForward \"disable\" (or \"latestPatch\" on machines with the same patches), and build both with it.");

    public static readonly Cause CompilationOptions = new("compilation-options",
        "Different compilation options (defines, optimization, language version, ...)",
        "The two builds passed different options to the compiler, usually because a property came from the environment or the command line.",
        "Pass the same properties to both builds; keep them in the project instead of the environment.");

    public static readonly Cause References = new("references",
        "Different referenced assemblies or versions",
        "Package or framework versions resolved differently (floating versions, a different NuGet cache or feed).",
        "Lock dependencies (RestorePackagesWithLockFile + RestoreLockedMode) and pin the SDK in global.json.");

    public static readonly Cause SourceContent = new("source-content",
        "Different source file content",
        "A source file (its checksum in the PDB) differs: a different commit, or a source file generated during the build.",
        "Build the same commit; if the file is generated, make its generator deterministic (compare obj/ with EmitCompilerGeneratedFiles=true).");

    public static readonly Cause GeneratedCode = new("generated-code",
        "Different compiled code",
        "Method bodies or types differ while no literal explains it: usually a source generator or a build step that generates code non-deterministically.",
        "Set EmitCompilerGeneratedFiles=true in both builds and diff obj/**/generated; sort inputs in the generator.");

    public static readonly Cause ResourceContent = new("resource-content",
        "Different embedded resource content",
        "An embedded resource was produced differently by the two builds.",
        "Make the step that produces the resource deterministic (see the values that differ).");

    public static readonly Cause OnlyInOneBuild = new("only-in-one-build",
        "Output produced by one build only",
        "A file exists in one build's outputs only: a condition depends on the environment, or a stale file was left from an earlier build.",
        "Build from clean copies; make conditions independent of the environment.");

    public static readonly Cause SourceLink = new("source-link",
        "Different Source Link mapping",
        "The Source Link JSON maps source paths to URLs of the repository at a commit; a different remote or commit changes it.",
        "Build the same commit from the same remote (RepositoryUrl).");

    public static readonly Cause Unknown = new("unexplained",
        "Bytes differ with no known cause",
        "The files differ at byte level and no structural comparison explains it.",
        "Inspect the byte ranges shown; diffoscope may help. Please report the case to SecureBuild.Sdk.");

    /// <summary>Every cause, for documentation and lookups.</summary>
    public static IReadOnlyList<Cause> All { get; } = new[]
    {
        PdbDocumentPath, CodeViewPath, PathInCode, PathInContent, Timestamp, RandomGuid, Commit, GitBranch, NoGitRepository, Version, Ordering, Environment,
        ZipTimestamps, ZipOrder, ZipAttributes, PsmdcpName, PackageSignature, DeterministicOff, ContentHash, CompilerVersion,
        CompilationOptions, References, SourceContent, GeneratedCode, ResourceContent, OnlyInOneBuild, SourceLink, Unknown,
    };
}
