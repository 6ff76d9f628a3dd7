using System.Reflection;
using Microsoft.Build.Framework;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Gathers what SLSA provenance says about a step from MSBuild: what the user asked for (global
/// properties, environment variables that became properties), what the build used (SDK, MSBuild,
/// runtime, packages, packs, source commit) and who ran it (CI detection). Secrets never pass.
/// </summary>
internal static class ProvenanceInputs
{
    private const string GitCacheKey = "SecureBuild.GitSource:";

    /// <summary>Version of this SDK (from the task assembly, without any "+commit" suffix).</summary>
    public static string SdkPackageVersion
    {
        get
        {
            var informational = typeof(ProvenanceInputs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = informational.IndexOf('+');
            return plus >= 0 ? informational.Substring(0, plus) : informational;
        }
    }

    public static ProvenanceStatement Create(
        RecordStepProducts task,
        ArtifactNamer namer,
        IReadOnlyDictionary<string, string> environment,
        string rootDirectory,
        DateTimeOffset? startedOn,
        DateTimeOffset finishedOn)
    {
        var ci = CiContext.Detect(environment);
        var statement = new ProvenanceStatement
        {
            BuilderId = ci.BuilderId,
            InvocationId = ci.InvocationId ?? (string.IsNullOrEmpty(task.InvocationId) ? BuildInvocationId(task.BuildEngine) : task.InvocationId),
            StartedOn = startedOn,
            FinishedOn = finishedOn,
        };
        statement.BuilderVersion["securebuild-sdk"] = SdkPackageVersion;
        if (!string.IsNullOrEmpty(task.SdkVersion))
        {
            statement.BuilderVersion["dotnet-sdk"] = task.SdkVersion!;
        }

        // externalParameters: what the user asked for.
        var external = statement.ExternalParameters;
        if (!string.IsNullOrEmpty(task.ProjectFile))
        {
            external["project"] = namer.Name(task.ProjectFile!);
        }
        external["step"] = task.StepName;
        var global = GlobalProperties(task.BuildEngine);
        var extra = task.RecordProperties.Select(i => i.ItemSpec).ToList();
        WarnAboutUnrecordableNames(task, extra);
        var properties = ParameterAllowList.ForProperties(extra, namer.NamePathsIn);
        foreach (var (name, key) in new[] { ("Configuration", "configuration"), ("TargetFramework", "targetFramework"), ("RuntimeIdentifier", "runtimeIdentifier") })
        {
            var value = task.BuildProperties.FirstOrDefault(p => p.ItemSpec == name)?.GetMetadata("Value");
            if (!string.IsNullOrEmpty(value) && properties.RecordableValue(name, value!) is { } recordable)
            {
                external[key] = recordable;
            }
        }
        var globalProperties = properties.Record(global.Where(p => !IsInternalGlobalProperty(p.Key)));
        external["globalProperties"] = ValuesJson(globalProperties);
        external["withheldGlobalProperties"] = NamesJson(globalProperties);
        var fromEnvironment = properties.Record(task.BuildProperties
            .Select(p => new KeyValuePair<string, string>(p.ItemSpec, p.GetMetadata("Value")))
            .Where(p => p.Value.Length > 0 && environment.TryGetValue(p.Key, out var envValue) && envValue == p.Value && !global.ContainsKey(p.Key)));
        external["environmentProperties"] = ValuesJson(fromEnvironment);
        external["withheldEnvironmentProperties"] = NamesJson(fromEnvironment);

        var git = DescribeGit(task.BuildEngine, rootDirectory);
        var sourceUri = git?.RepositoryUri ?? ci.SourceUri;
        var sourceCommit = git?.Commit ?? ci.SourceCommit;
        if (sourceCommit is not null)
        {
            var source = new JsonMap { ["digest"] = new JsonMap { ["gitCommit"] = sourceCommit } };
            if (sourceUri is not null)
            {
                source["uri"] = sourceUri;
            }
            external["source"] = source;
        }

        // internalParameters: what the builder chose.
        var internalParameters = statement.InternalParameters;
        internalParameters["sdkVersion"] = task.SdkVersion ?? "";
        internalParameters["msbuildVersion"] = task.MSBuildVersion ?? "";
        internalParameters["runtimeVersion"] = task.RuntimeVersion ?? "";
        internalParameters["os"] = OperatingSystemName();
        internalParameters["osDescription"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription;
        internalParameters["architecture"] = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        internalParameters["ci"] = ci.System;
        internalParameters["worker"] = WorkerIdentity.Describe(environment, ci);
        var recordedEnvironment = ParameterAllowList.ForEnvironment(extra, namer.NamePathsIn).Record(environment);
        internalParameters["environment"] = ValuesJson(recordedEnvironment);
        internalParameters["withheldEnvironment"] = NamesJson(recordedEnvironment);

        // resolvedDependencies: source, SDK, this SDK, packages, packs.
        var deps = statement.ResolvedDependencies;
        if (sourceCommit is not null)
        {
            var annotations = new JsonMap();
            if (git is not null)
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
        foreach (var file in git is null ? Array.Empty<BuildDefinitionFile>() : DescribeDefinitions(task.BuildEngine, rootDirectory))
        {
            var annotations = new JsonMap { ["kind"] = file.Kind };
            if (file.Committed is { } committed)
            {
                annotations["committed"] = committed;
            }

            deps.Add(ProvenanceStatement.Resource(name: file.Path, digest: new Dictionary<string, string> { ["sha256"] = file.Sha256 }, annotations: annotations));
        }

        if (!string.IsNullOrEmpty(task.SdkVersion))
        {
            deps.Add(ProvenanceStatement.Resource(name: "dotnet-sdk", uri: $"pkg:generic/dotnet-sdk@{task.SdkVersion}"));
        }
        deps.Add(ProvenanceStatement.Resource(name: "SecureBuild.Sdk", uri: $"pkg:nuget/SecureBuild.Sdk@{SdkPackageVersion}"));
        if (!string.IsNullOrEmpty(task.ProjectAssetsFile) && File.Exists(task.ProjectAssetsFile))
        {
            foreach (var package in NuGetAssets.ReadPackages(task.ProjectAssetsFile!))
            {
                var hex = package.ContentHashSha512Hex;
                deps.Add(ProvenanceStatement.Resource(uri: package.Purl,
                    digest: hex is null ? null : new Dictionary<string, string> { ["sha512"] = hex },
                    annotations: new JsonMap { ["kind"] = "package" }));
            }
        }
        foreach (var pack in task.Packs
                     .Select(p => (Id: p.GetMetadata("NuGetPackageId"), Version: p.GetMetadata("NuGetPackageVersion"), Kind: p.GetMetadata("Kind")))
                     .Where(p => p.Id.Length > 0 && p.Version.Length > 0)
                     .Distinct()
                     .OrderBy(p => p.Id, StringComparer.OrdinalIgnoreCase))
        {
            deps.Add(ProvenanceStatement.Resource(uri: $"pkg:nuget/{pack.Id}@{pack.Version}", annotations: new JsonMap { ["kind"] = pack.Kind.Length > 0 ? pack.Kind : "pack" }));
        }
        return statement;
    }

    /// <summary>SB2600, once per build and name: a SecureBuildRecordProperty whose value will never be recorded.</summary>
    private static void WarnAboutUnrecordableNames(RecordStepProducts task, IEnumerable<string> names)
    {
        foreach (var name in names.Where(n => !ParameterAllowList.MayBeListed(n)).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var key = "SecureBuild.SB2600:" + name.ToUpperInvariant();
            if (!BuildState.FirstTime(task.BuildEngine, key))
            {
                continue;
            }
            task.Log.LogWarning(null, "SB2600", null, null, 0, 0, 0, 0,
                $"SecureBuildRecordProperty '{name}': the name says it holds a credential, so provenance records it by name only, never its value. " +
                "Remove the item, or give a property that holds no secret a name without TOKEN, SECRET, PASSWORD, KEY, AUTH or the like.");
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

    /// <summary>Global properties the SDK itself sets when it dispatches inner builds; they are reported as parameters above.</summary>
    private static bool IsInternalGlobalProperty(string name) =>
        name is "TargetFramework" or "RuntimeIdentifier" or "Configuration" or "MSBuildRestoreSessionId" or "CurrentSolutionConfigurationContents"
            or "BuildingSolutionFile" or "SolutionDir" or "SolutionExt" or "SolutionFileName" or "SolutionName" or "SolutionPath"
            or "_RestoreGraphEntryProjectPath" or "ExcludeRestorePackageImports" or "MSBuildIsRestoring";

    private static IReadOnlyDictionary<string, string> GlobalProperties(IBuildEngine engine) =>
        engine is IBuildEngine6 six ? six.GetGlobalProperties() : new Dictionary<string, string>();

    private static GitSource? DescribeGit(IBuildEngine engine, string rootDirectory) =>
        BuildState.GetOrCreate(engine, GitCacheKey + rootDirectory, () => new GitSourceBox(
            Directory.Exists(Path.Combine(rootDirectory, ".git")) || File.Exists(Path.Combine(rootDirectory, ".git"))
                ? GitSource.Describe(rootDirectory)
                : null)).Source;

    /// <summary>The build and pipeline definition files of the repository at <paramref name="rootDirectory"/> (asked once per build and node).</summary>
    internal static IReadOnlyList<BuildDefinitionFile> DescribeDefinitions(IBuildEngine engine, string rootDirectory) =>
        BuildState.GetOrCreate(engine, "SecureBuild.BuildDefinitions:" + rootDirectory, () => new DefinitionsBox(BuildDefinitions.Describe(rootDirectory, inGitWorkTree: true))).Files;

    /// <summary>True when the repository at <paramref name="rootDirectory"/> is a git work tree git can describe.</summary>
    internal static bool IsGitWorkTree(IBuildEngine engine, string rootDirectory) => DescribeGit(engine, rootDirectory) is not null;

    /// <summary>A urn:uuid naming this build (one per build and MSBuild node).</summary>
    private static string BuildInvocationId(IBuildEngine engine) =>
        BuildState.GetOrCreate(engine, "SecureBuild.InvocationId", () => new InvocationIdBox("urn:uuid:" + Guid.NewGuid().ToString("D"))).Value;

    private static string OperatingSystemName() =>
        System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows) ? "windows" :
        System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.OSX) ? "macos" :
        System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux) ? "linux" : "other";

    private sealed class DefinitionsBox
    {
        public DefinitionsBox(IReadOnlyList<BuildDefinitionFile> files) => Files = files;

        public IReadOnlyList<BuildDefinitionFile> Files { get; }
    }

    private sealed class InvocationIdBox
    {
        public InvocationIdBox(string value) => Value = value;

        public string Value { get; }
    }

    private sealed class GitSourceBox
    {
        public GitSourceBox(GitSource? source) => Source = source;

        public GitSource? Source { get; }
    }
}
