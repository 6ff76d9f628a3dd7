using System.Runtime.InteropServices;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Recording;

namespace SecureBuild.Core.Provenance;

/// <summary>A targeting or workload pack a step used (an MSBuild KnownFrameworkReference / pack item).</summary>
/// <param name="Id">NuGet package id.</param>
/// <param name="Version">NuGet package version.</param>
/// <param name="Kind">What kind of pack ("pack" when the build did not say).</param>
public sealed record PackReference(string Id, string Version, string Kind);

/// <summary>
/// What SLSA provenance says about a recorded step, as the build gathered it: what the user asked for, what the build
/// used and who ran it. The MSBuild task fills this from its items, properties and build engine; everything else is
/// decided by <see cref="StepProvenance.Create"/>.
/// </summary>
public sealed class StepProvenanceInputs
{
    public StepProvenanceInputs(string stepName, ArtifactNamer namer)
    {
        StepName = stepName ?? throw new ArgumentNullException(nameof(stepName));
        Namer = namer ?? throw new ArgumentNullException(nameof(namer));
    }

    /// <summary>The step's name ("compile", "pack", ...).</summary>
    public string StepName { get; }

    /// <summary>The project file (a path; recorded by its artifact name).</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Names paths as the step's link does, and names paths inside recorded values.</summary>
    public ArtifactNamer Namer { get; }

    /// <summary>The build's environment variables.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The build's global properties (-p: on the command line and those the SDK dispatches with).</summary>
    public IReadOnlyDictionary<string, string> GlobalProperties { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Properties the build evaluated, name and value (Configuration, TargetFramework, ... and those that may have come from the environment).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> BuildProperties { get; set; } = Array.Empty<KeyValuePair<string, string>>();

    /// <summary>Names the user asked to record beyond the allow-list (SecureBuildRecordProperty).</summary>
    public IReadOnlyList<string> RecordProperties { get; set; } = Array.Empty<string>();

    /// <summary>The configured invocation id (SecureBuildInvocationId); used when no CI system names one.</summary>
    public string? InvocationId { get; set; }

    /// <summary>Names this build when neither CI nor the configuration does (asked only then).</summary>
    public Func<string> BuildInvocationId { get; set; } = () => "urn:uuid:" + Guid.NewGuid().ToString("D");

    /// <summary>The repository's state, when the build runs in a git work tree.</summary>
    public GitSource? Git { get; set; }

    /// <summary>The repository's build and pipeline definition files (with <see cref="Git"/> only): the pipeline state.</summary>
    public IReadOnlyList<BuildDefinitionFile> Definitions { get; set; } = Array.Empty<BuildDefinitionFile>();

    public string? SdkVersion { get; set; }

    public string? MSBuildVersion { get; set; }

    public string? RuntimeVersion { get; set; }

    /// <summary>This SDK's package version.</summary>
    public string SdkPackageVersion { get; set; } = "0.0.0";

    /// <summary>obj/project.assets.json, whose packages become resolved dependencies (when it exists).</summary>
    public string? ProjectAssetsFile { get; set; }

    /// <summary>Packs the step used.</summary>
    public IReadOnlyList<PackReference> Packs { get; set; } = Array.Empty<PackReference>();

    public DateTimeOffset? StartedOn { get; set; }

    public DateTimeOffset FinishedOn { get; set; }

    /// <summary>The machine's processes as this build sees them (null: worker freshness "unknown"); see <see cref="WorkerFreshness"/>.</summary>
    public Func<ProcessTable?> Processes { get; set; } = () => null;

    /// <summary>The project's intermediate folder (obj/), whose files from before the build make the workspace "reused".</summary>
    public string? Workspace { get; set; }
}

/// <summary>
/// Builds the SLSA provenance statement of a recorded step (without subjects and byproducts, which the caller adds
/// for the products it writes provenance for): externalParameters (what the user asked for), internalParameters
/// (what the builder chose) and resolvedDependencies (source, SDK, this SDK, packages, packs). Secrets never pass:
/// every property and environment value goes through <see cref="ParameterAllowList"/>.
/// </summary>
public static class StepProvenance
{
    /// <summary>The statement for <paramref name="inputs"/>.</summary>
    /// <exception cref="IOException">The assets file cannot be read.</exception>
    public static ProvenanceStatement Create(StepProvenanceInputs inputs)
    {
        if (inputs is null)
        {
            throw new ArgumentNullException(nameof(inputs));
        }

        var ci = CiContext.Detect(inputs.Environment);
        var statement = new ProvenanceStatement
        {
            BuilderId = ci.BuilderId,
            InvocationId = ci.InvocationId ?? (string.IsNullOrEmpty(inputs.InvocationId) ? inputs.BuildInvocationId() : inputs.InvocationId),
            StartedOn = inputs.StartedOn,
            FinishedOn = inputs.FinishedOn,
        };
        statement.BuilderVersion["securebuild-sdk"] = inputs.SdkPackageVersion;
        if (!string.IsNullOrEmpty(inputs.SdkVersion))
        {
            statement.BuilderVersion["dotnet-sdk"] = inputs.SdkVersion!;
        }

        var sourceUri = inputs.Git?.RepositoryUri ?? ci.SourceUri;
        var sourceCommit = inputs.Git?.Commit ?? ci.SourceCommit;
        var packages = !string.IsNullOrEmpty(inputs.ProjectAssetsFile) && File.Exists(inputs.ProjectAssetsFile)
            ? NuGetAssets.ReadPackages(inputs.ProjectAssetsFile!)
            : Array.Empty<ResolvedPackage>();
        AddExternalParameters(statement.ExternalParameters, inputs, sourceUri, sourceCommit);
        AddInternalParameters(statement.InternalParameters, inputs, ci, packages);
        AddResolvedDependencies(statement.ResolvedDependencies, inputs, sourceUri, sourceCommit, packages);
        return statement;
    }

    /// <summary>
    /// The subjects of a step's provenance: the products named by <paramref name="subjectFiles"/> (every product when
    /// it is empty), each with its recorded digests; a .nupkg also gets NuGet's content hash (see <see cref="SubjectOf"/>).
    /// </summary>
    /// <param name="products">The step's recorded products: artifact name and digests.</param>
    /// <param name="subjectFiles">Full paths of the outputs provenance is about; empty: every product.</param>
    /// <param name="productFiles">Full paths of the step's product files (where a .nupkg subject is read from).</param>
    /// <param name="namer">Names <paramref name="subjectFiles"/> as the link names the products.</param>
    public static IReadOnlyList<Subject> Subjects(
        IEnumerable<KeyValuePair<string, IReadOnlyDictionary<string, string>>> products,
        IReadOnlyCollection<string> subjectFiles,
        IEnumerable<string> productFiles,
        ArtifactNamer namer)
    {
        if (products is null || subjectFiles is null || productFiles is null || namer is null)
        {
            throw new ArgumentNullException(products is null ? nameof(products) : subjectFiles is null ? nameof(subjectFiles) : productFiles is null ? nameof(productFiles) : nameof(namer));
        }

        var chosen = new HashSet<string>(subjectFiles.Select(namer.Name), StringComparer.Ordinal);
        var candidates = subjectFiles.Concat(productFiles).ToList();
        return products
            .Where(p => subjectFiles.Count == 0 || chosen.Contains(p.Key))
            .Select(p => SubjectOf(p.Key, p.Value, candidates))
            .ToList();
    }

    /// <summary>
    /// One subject. A .nupkg found among <paramref name="candidateFiles"/> (by file name) also gets <c>sha512</c> of its bytes
    /// and the annotation <c>nugetContentHash</c> (the same digest in base64, as NuGet writes it), which survives repository
    /// signing; anything else, or a package that is not there, keeps <paramref name="digest"/> as recorded.
    /// </summary>
    /// <exception cref="IOException">The package cannot be read.</exception>
    public static Subject SubjectOf(string name, IReadOnlyDictionary<string, string> digest, IEnumerable<string> candidateFiles)
    {
        if (name is null || digest is null || candidateFiles is null)
        {
            throw new ArgumentNullException(name is null ? nameof(name) : digest is null ? nameof(digest) : nameof(candidateFiles));
        }

        if (!name.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase))
        {
            return new Subject(name, digest);
        }

        var file = candidateFiles.FirstOrDefault(c => name.EndsWith("/" + Path.GetFileName(c), StringComparison.Ordinal) || name == Path.GetFileName(c));
        if (file is null || !File.Exists(file))
        {
            return new Subject(name, digest);
        }

        using var sha512 = System.Security.Cryptography.SHA512.Create();
        InputFile.Hash(file, InputKind.Artifact, null, sha512);
        var hash = sha512.Hash!;
        var withContent = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in digest)
        {
            withContent[pair.Key] = pair.Value;
        }

        withContent["sha512"] = Hex.Encode(hash);
        return new Subject(name, withContent, new JsonMap { ["nugetContentHash"] = Convert.ToBase64String(hash) });
    }

    /// <summary>The names among <paramref name="recordProperties"/> whose values provenance never records (they look like credentials), once each.</summary>
    public static IReadOnlyList<string> UnrecordableNames(IEnumerable<string> recordProperties) =>
        recordProperties.Where(n => !ParameterAllowList.MayBeListed(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Global properties the SDK itself sets when it dispatches inner builds; they are reported as parameters or not at all.</summary>
    public static bool IsInternalGlobalProperty(string name) =>
        name is "TargetFramework" or "RuntimeIdentifier" or "Configuration" or "MSBuildRestoreSessionId" or "CurrentSolutionConfigurationContents"
            or "BuildingSolutionFile" or "SolutionDir" or "SolutionExt" or "SolutionFileName" or "SolutionName" or "SolutionPath"
            or "_RestoreGraphEntryProjectPath" or "ExcludeRestorePackageImports" or "MSBuildIsRestoring";

    // externalParameters: what the user asked for.
    private static void AddExternalParameters(JsonMap external, StepProvenanceInputs inputs, string? sourceUri, string? sourceCommit)
    {
        if (!string.IsNullOrEmpty(inputs.ProjectFile))
        {
            external["project"] = inputs.Namer.Name(inputs.ProjectFile!);
        }

        external["step"] = inputs.StepName;
        var properties = ParameterAllowList.ForProperties(inputs.RecordProperties, inputs.Namer.NamePathsIn);
        foreach (var (name, key) in new[] { ("Configuration", "configuration"), ("TargetFramework", "targetFramework"), ("RuntimeIdentifier", "runtimeIdentifier") })
        {
            var value = inputs.BuildProperties.FirstOrDefault(p => p.Key == name).Value;
            if (!string.IsNullOrEmpty(value) && properties.RecordableValue(name, value!) is { } recordable)
            {
                external[key] = recordable;
            }
        }

        var global = inputs.GlobalProperties;
        var globalProperties = properties.Record(global.Where(p => !IsInternalGlobalProperty(p.Key)));
        external["globalProperties"] = ValuesJson(globalProperties);
        external["withheldGlobalProperties"] = NamesJson(globalProperties);
        var fromEnvironment = properties.Record(inputs.BuildProperties
            .Where(p => p.Value.Length > 0 && inputs.Environment.TryGetValue(p.Key, out var envValue) && envValue == p.Value && !global.ContainsKey(p.Key)));
        external["environmentProperties"] = ValuesJson(fromEnvironment);
        external["withheldEnvironmentProperties"] = NamesJson(fromEnvironment);

        if (sourceCommit is not null)
        {
            var source = new JsonMap { ["digest"] = new JsonMap { ["gitCommit"] = sourceCommit } };
            if (sourceUri is not null)
            {
                source["uri"] = sourceUri;
            }

            external["source"] = source;
        }
    }

    // internalParameters: what the builder chose.
    private static void AddInternalParameters(JsonMap internalParameters, StepProvenanceInputs inputs, CiContext ci, IReadOnlyList<ResolvedPackage> packages)
    {
        internalParameters["sdkVersion"] = inputs.SdkVersion ?? "";
        internalParameters["msbuildVersion"] = inputs.MSBuildVersion ?? "";
        internalParameters["runtimeVersion"] = inputs.RuntimeVersion ?? "";
        internalParameters["os"] = OperatingSystemName();
        internalParameters["osDescription"] = RuntimeInformation.OSDescription;
        internalParameters["architecture"] = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        internalParameters["ci"] = ci.System;
        var worker = WorkerIdentity.Describe(inputs.Environment, ci);
        var freshness = WorkerFreshness.Describe(inputs.Processes(), inputs.Workspace, packages.Where(p => p.Directory is not null).Select(p => p.Directory!));
        worker["fresh"] = WorkerFreshness.IsFresh(freshness);
        worker["freshness"] = freshness;
        internalParameters["worker"] = worker;
        var recordedEnvironment = ParameterAllowList.ForEnvironment(inputs.RecordProperties, inputs.Namer.NamePathsIn).Record(inputs.Environment);
        internalParameters["environment"] = ValuesJson(recordedEnvironment);
        internalParameters["withheldEnvironment"] = NamesJson(recordedEnvironment);
    }

    // resolvedDependencies: source, SDK, this SDK, packages, packs.
    private static void AddResolvedDependencies(JsonList deps, StepProvenanceInputs inputs, string? sourceUri, string? sourceCommit, IReadOnlyList<ResolvedPackage> packages)
    {
        if (sourceCommit is not null)
        {
            var annotations = new JsonMap();
            if (inputs.Git is { } git)
            {
                annotations["dirty"] = git.Dirty;
                if (git.Branch is not null)
                {
                    annotations["branch"] = git.Branch;
                }
            }

            deps.Add(ProvenanceStatement.Resource(name: "source", uri: sourceUri, digest: new Dictionary<string, string> { ["gitCommit"] = sourceCommit }, annotations: annotations));
        }

        // The pipeline state: every build and pipeline definition file with its digest and whether it is committed.
        foreach (var file in inputs.Git is null ? Array.Empty<BuildDefinitionFile>() : inputs.Definitions)
        {
            var annotations = new JsonMap { ["kind"] = file.Kind };
            if (file.Committed is { } committed)
            {
                annotations["committed"] = committed;
            }

            deps.Add(ProvenanceStatement.Resource(name: file.Path, digest: new Dictionary<string, string> { ["sha256"] = file.Sha256 }, annotations: annotations));
        }

        if (!string.IsNullOrEmpty(inputs.SdkVersion))
        {
            deps.Add(ProvenanceStatement.Resource(name: "dotnet-sdk", uri: $"pkg:generic/dotnet-sdk@{inputs.SdkVersion}"));
        }

        deps.Add(ProvenanceStatement.Resource(name: "SecureBuild.Sdk", uri: $"pkg:nuget/SecureBuild.Sdk@{inputs.SdkPackageVersion}"));
        foreach (var package in packages)
        {
            var hex = package.ContentHashSha512Hex;
            deps.Add(ProvenanceStatement.Resource(uri: package.Purl,
                digest: hex is null ? null : new Dictionary<string, string> { ["sha512"] = hex },
                annotations: new JsonMap { ["kind"] = "package" }));
        }

        foreach (var pack in inputs.Packs
                     .Where(p => p.Id.Length > 0 && p.Version.Length > 0)
                     .Distinct()
                     .OrderBy(p => p.Id, StringComparer.OrdinalIgnoreCase))
        {
            deps.Add(ProvenanceStatement.Resource(uri: $"pkg:nuget/{pack.Id}@{pack.Version}", annotations: new JsonMap { ["kind"] = pack.Kind.Length > 0 ? pack.Kind : "pack" }));
        }
    }

    private static JsonMap ValuesJson(RecordedParameters recorded)
    {
        var json = new JsonMap();
        foreach (var pair in recorded.Values)
        {
            json[pair.Key] = pair.Value;
        }

        return json;
    }

    private static JsonList NamesJson(RecordedParameters recorded) => new(recorded.Withheld.Select(n => (JsonItem)n));

    private static string OperatingSystemName() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "windows" :
        RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "macos" :
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "linux" : "other";
}
