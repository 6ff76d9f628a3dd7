namespace SecureBuild.Core.Provenance;

/// <summary>
/// The part of the process environment an attestation may carry: an allow-list of names that
/// describe the build (CI identity, .NET and NuGet switches, locale, time zone,
/// SOURCE_DATE_EPOCH), minus anything <see cref="SecretFilter"/> rejects.
/// </summary>
public static class BuildEnvironment
{
    private static readonly HashSet<string> Exact = new(StringComparer.Ordinal)
    {
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "TEAMCITY_VERSION", "APPVEYOR", "TRAVIS", "CIRCLECI", "BUILDKITE",
        "SOURCE_DATE_EPOCH", "TZ", "LANG", "LC_ALL", "LANGUAGE", "ContinuousIntegrationBuild",
        "RUNNER_OS", "RUNNER_ARCH", "RUNNER_ENVIRONMENT",
        "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_TYPE", "GITHUB_WORKFLOW", "GITHUB_WORKFLOW_REF",
        "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_RUN_NUMBER", "GITHUB_EVENT_NAME", "GITHUB_JOB", "GITHUB_SERVER_URL",
        "BUILD_BUILDID", "BUILD_BUILDNUMBER", "BUILD_REPOSITORY_URI", "BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH", "BUILD_DEFINITIONNAME",
        "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "SYSTEM_TEAMPROJECT", "SYSTEM_JOBID",
        "CI_SERVER_URL", "CI_PROJECT_URL", "CI_PROJECT_PATH", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_JOB_ID", "CI_JOB_URL", "CI_RUNNER_ID",
    };

    private static readonly string[] Prefixes = { "DOTNET_", "NUGET_", "MSBUILD", "COMPlus_", "TEKTON_" };

    /// <summary>The allow-listed, secret-free variables of <paramref name="environment"/>, sorted by name.</summary>
    public static SortedDictionary<string, string> Record(IEnumerable<KeyValuePair<string, string>> environment)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in environment)
        {
            if ((Exact.Contains(pair.Key) || Prefixes.Any(p => pair.Key.StartsWith(p, StringComparison.OrdinalIgnoreCase))) &&
                SecretFilter.MayRecord(pair.Key, pair.Value))
            {
                result[pair.Key] = pair.Value;
            }
        }
        return result;
    }

    /// <summary>The current process environment as pairs.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Current()
    {
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            yield return new KeyValuePair<string, string>((string)entry.Key, (string?)entry.Value ?? "");
        }
    }
}
