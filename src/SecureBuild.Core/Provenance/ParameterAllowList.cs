using System.Text.RegularExpressions;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Decides what provenance says about the parameters a build was given: MSBuild global properties
/// (<c>-p:</c>) and environment variables (MSBuild turns each one into a property). Only names known to
/// change the build (<see cref="DefaultProperties"/>, <see cref="DefaultEnvironment"/>, plus the names the
/// user adds) are recorded with their value; every other name is recorded without it ("withheld"). A
/// deny-list of secret-looking names always misses one (<c>-p:Pat=…</c>, <c>NUGET_CREDS=…</c>); an
/// allow-list cannot leak a value it does not know. An allow-listed value is still cleaned: URLs lose their
/// credentials (<see cref="UrlRedaction"/>), absolute paths are named like artifacts (the path mapper), and
/// a value that still looks like a secret (<see cref="SecretFilter.LooksLikeSecret"/>), or a name that says
/// it holds one (<see cref="SecretFilter.IsSecretName"/>), is withheld too. A name that itself looks like a
/// secret is not recorded at all.
/// </summary>
public sealed class ParameterAllowList
{
    /// <summary>MSBuild properties recorded with their value when given as global properties.</summary>
    public static readonly IReadOnlyList<string> DefaultProperties = new[]
    {
        "Configuration", "Platform", "TargetFramework", "TargetFrameworks", "RuntimeIdentifier", "RuntimeIdentifiers",
        "Version", "VersionPrefix", "VersionSuffix", "PackageVersion", "AssemblyVersion", "FileVersion", "InformationalVersion",
        "ContinuousIntegrationBuild", "Deterministic", "DefineConstants", "LangVersion", "Optimize", "DebugType", "DebugSymbols",
        "Nullable", "TreatWarningsAsErrors", "WarningsAsErrors", "NoWarn", "Features", "SignAssembly",
        "SelfContained", "PublishTrimmed", "PublishSingleFile", "PublishReadyToRun", "PublishAot", "InvariantGlobalization",
        "SourceRevisionId", "RepositoryCommit", "RepositoryUrl", "PathMap", "RestoreSources", "RestoreLockedMode",
        "SOURCE_DATE_EPOCH", "_IsPacking", "_IsPublishing", "NuGetInteractive",
        // The build was required to run traced / hermetically (and got this far, so it did: SecureBuild.Trace.targets).
        "SecureBuildTrace", "SecureBuildHermetic",
    };

    /// <summary>
    /// Environment variables recorded with their value: the CI systems' run identity, locale and time, and
    /// the .NET, NuGet and MSBuild switches known to hold no secret (paths among them are named like artifacts).
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultEnvironment = new[]
    {
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "TEAMCITY_VERSION", "APPVEYOR", "TRAVIS", "CIRCLECI", "BUILDKITE", "JENKINS_URL",
        "SOURCE_DATE_EPOCH", "TZ", "LANG", "LC_ALL", "LANGUAGE", "ContinuousIntegrationBuild",
        "RUNNER_OS", "RUNNER_ARCH", "RUNNER_ENVIRONMENT",
        "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_TYPE", "GITHUB_WORKFLOW", "GITHUB_WORKFLOW_REF",
        "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_RUN_NUMBER", "GITHUB_EVENT_NAME", "GITHUB_JOB", "GITHUB_SERVER_URL",
        "BUILD_BUILDID", "BUILD_BUILDNUMBER", "BUILD_REPOSITORY_URI", "BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH", "BUILD_DEFINITIONNAME",
        "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "SYSTEM_TEAMPROJECT", "SYSTEM_JOBID",
        "CI_SERVER_URL", "CI_PROJECT_URL", "CI_PROJECT_PATH", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_JOB_ID", "CI_JOB_URL", "CI_RUNNER_ID",
        "TEKTON_PIPELINE_RUN", "TEKTON_TASK_RUN", "BUILD_URL", "GIT_COMMIT",
        "DOTNET_CLI_TELEMETRY_OPTOUT", "DOTNET_NOLOGO", "DOTNET_SKIP_FIRST_TIME_EXPERIENCE", "DOTNET_CLI_UI_LANGUAGE",
        "DOTNET_MULTILEVEL_LOOKUP", "DOTNET_ROLL_FORWARD", "DOTNET_ROLL_FORWARD_TO_PRERELEASE", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT",
        "DOTNET_SYSTEM_GLOBALIZATION_PREDEFINED_CULTURES_ONLY", "DOTNET_GENERATE_ASPNET_CERTIFICATE", "DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE",
        "DOTNET_ADD_GLOBAL_TOOLS_TO_PATH", "DOTNET_CLI_USE_MSBUILD_SERVER", "DOTNET_NUGET_SIGNATURE_VERIFICATION",
        "DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_X86", "DOTNET_ROOT_ARM64", "DOTNET_HOST_PATH", "DOTNET_CLI_HOME",
        "NUGET_PACKAGES", "NUGET_HTTP_CACHE_PATH", "NUGET_FALLBACK_PACKAGES", "NUGET_XMLDOC_MODE", "NUGET_SHOW_STACK",
        "NUGET_ENHANCED_MAX_NETWORK_TRY_COUNT", "NUGET_ENHANCED_NETWORK_RETRY_DELAY_MILLISECONDS",
        "MSBUILDDISABLENODEREUSE", "MSBUILDNOINPROCNODE", "MSBUILDTERMINALLOGGER", "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH",
    };

    // "-p:", "/p:", "-property:", "--property:" with what follows, or the bare switch ("-p", "--property").
    private static readonly Regex PropertySwitch = new(
        @"^((?:--?|/)(?:p|property))(?::(.*))?$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);

    // Where one Name=Value of a "-p:A=1;B=2" list starts: ';' or ',' followed by a name and '='.
    private static readonly Regex NextProperty = new(
        @"[;,](?=\s*[A-Za-z_][A-Za-z0-9_.\-]*=)",
        RegexOptions.CultureInvariant);

    private readonly HashSet<string> _recorded;
    private readonly Func<string, string> _mapPaths;

    /// <param name="names">The names recorded with their value (compared case-insensitively, as MSBuild compares property names).</param>
    /// <param name="mapPaths">Names the absolute paths in a value, so no machine path is written (<c>ArtifactNamer.NamePathsIn</c>).</param>
    public ParameterAllowList(IEnumerable<string> names, Func<string, string> mapPaths)
    {
        _recorded = new HashSet<string>(names.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n.Trim()), StringComparer.OrdinalIgnoreCase);
        _mapPaths = mapPaths;
    }

    /// <summary>The allow-list for global properties: <see cref="DefaultProperties"/> and <paramref name="extra"/>.</summary>
    public static ParameterAllowList ForProperties(IEnumerable<string>? extra, Func<string, string> mapPaths) =>
        new(DefaultProperties.Concat(extra ?? Enumerable.Empty<string>()), mapPaths);

    /// <summary>The allow-list for environment variables: <see cref="DefaultEnvironment"/> and <paramref name="extra"/>.</summary>
    public static ParameterAllowList ForEnvironment(IEnumerable<string>? extra, Func<string, string> mapPaths) =>
        new(DefaultEnvironment.Concat(extra ?? Enumerable.Empty<string>()), mapPaths);

    /// <summary>True when <paramref name="name"/> is on the list (its value may be recorded, once cleaned).</summary>
    public bool Allows(string name) => _recorded.Contains(name);

    /// <summary>
    /// False for a name whose value is never recorded even when listed, because the name says it holds a
    /// secret (<see cref="SecretFilter.IsSecretName"/>) or is one.
    /// </summary>
    public static bool MayBeListed(string name) => !SecretFilter.IsSecretName(name) && !SecretFilter.LooksLikeSecret(name);

    /// <summary>
    /// The value provenance may carry for <paramref name="name"/>, or null when it is withheld: the name is not
    /// on the list or says it holds a secret, or the cleaned value still looks like one.
    /// </summary>
    public string? RecordableValue(string name, string value)
    {
        if (!Allows(name) || !MayBeListed(name))
        {
            return null;
        }
        var cleaned = _mapPaths(UrlRedaction.RedactAll(value));
        return SecretFilter.LooksLikeSecret(cleaned) ? null : cleaned;
    }

    /// <summary>
    /// A command line as a signed statement may carry it: each MSBuild property argument (<c>-p:Name=Value</c>,
    /// <c>/p:</c>, <c>-property:</c>, <c>--property:</c>, or the switch and <c>Name=Value</c> as two arguments; several
    /// properties split by ';') keeps its name and, only when the name is on the list, its cleaned value; any other
    /// value becomes <see cref="UrlRedaction.Placeholder"/>. URLs in every other argument lose their credentials.
    /// </summary>
    public IReadOnlyList<string> RedactCommand(IEnumerable<string> arguments)
    {
        var result = new List<string>();
        var propertiesNext = false;
        foreach (var argument in arguments)
        {
            if (propertiesNext)
            {
                result.Add(RedactProperties(argument));
                propertiesNext = false;
                continue;
            }
            var match = PropertySwitch.Match(argument);
            if (!match.Success)
            {
                result.Add(UrlRedaction.RedactAll(argument));
                continue;
            }
            if (match.Groups[2].Success)
            {
                result.Add(match.Groups[1].Value + ":" + RedactProperties(match.Groups[2].Value));
            }
            else
            {
                result.Add(argument);
                propertiesNext = true;
            }
        }
        return result;
    }

    private string RedactProperties(string properties) =>
        string.Concat(NextProperty.Split(properties).Select((pair, i) =>
        {
            var separator = i == 0 ? "" : ";";
            var equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                return separator + UrlRedaction.Placeholder; // not Name=Value: nothing says what it is
            }
            var name = pair.Substring(0, equals).Trim().Trim('"');
            var raw = pair.Substring(equals + 1);
            var quoted = raw.Length >= 2 && raw[0] == '"' && raw[raw.Length - 1] == '"';
            var value = RecordableValue(name, quoted ? raw.Substring(1, raw.Length - 2) : raw);
            return separator + name + "=" + (value is null ? UrlRedaction.Placeholder : quoted ? "\"" + value + "\"" : value);
        }));

    /// <summary>Sorts <paramref name="parameters"/> into the values recorded and the names withheld.</summary>
    public RecordedParameters Record(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var result = new RecordedParameters();
        foreach (var pair in parameters)
        {
            if (string.IsNullOrEmpty(pair.Key) || SecretFilter.LooksLikeSecret(pair.Key) || UrlRedaction.RedactAll(pair.Key) != pair.Key)
            {
                continue; // a name that is itself a credential is not even named
            }
            var value = RecordableValue(pair.Key, pair.Value ?? "");
            if (value is null)
            {
                result.Withheld.Add(pair.Key);
            }
            else
            {
                result.Values[pair.Key] = value;
            }
        }
        result.Withheld.ExceptWith(result.Values.Keys);
        return result;
    }
}

/// <summary>What <see cref="ParameterAllowList.Record"/> lets through: values by name, and the names withheld.</summary>
public sealed class RecordedParameters
{
    /// <summary>Allow-listed names and their cleaned values, sorted by name.</summary>
    public SortedDictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Names recorded without their value, sorted.</summary>
    public SortedSet<string> Withheld { get; } = new(StringComparer.Ordinal);
}
