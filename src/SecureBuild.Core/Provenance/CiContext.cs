namespace SecureBuild.Core.Provenance;

/// <summary>Which CI system (if any) runs the build, and how provenance names the builder and the run.</summary>
public sealed class CiContext
{
    /// <summary>Builder id of a build on a developer's machine.</summary>
    public const string LocalBuilderId = "https://securebuild.dev/builders/local/v1";

    private CiContext(string system, string builderId, string? invocationId, string? sourceUri, string? sourceCommit)
    {
        System = system;
        BuilderId = builderId;
        InvocationId = invocationId;
        SourceUri = sourceUri;
        SourceCommit = sourceCommit;
    }

    /// <summary>"github-actions", "azure-pipelines", "gitlab-ci", "tekton", "jenkins", "generic-ci" or "local".</summary>
    public string System { get; }

    /// <summary>SLSA builder.id: the trust boundary that ran the build.</summary>
    public string BuilderId { get; }

    /// <summary>The CI run's identity, when the CI system gives one.</summary>
    public string? InvocationId { get; }

    /// <summary>The repository the CI system says it built, when it says so.</summary>
    public string? SourceUri { get; }

    /// <summary>The commit the CI system says it built.</summary>
    public string? SourceCommit { get; }

    public static CiContext Detect(IReadOnlyDictionary<string, string> env)
    {
        string? Get(string name) => env.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

        if (string.Equals(Get("GITHUB_ACTIONS"), "true", StringComparison.OrdinalIgnoreCase))
        {
            var server = (Get("GITHUB_SERVER_URL") ?? "https://github.com").TrimEnd('/');
            var repo = Get("GITHUB_REPOSITORY");
            var hosted = string.Equals(Get("RUNNER_ENVIRONMENT"), "github-hosted", StringComparison.OrdinalIgnoreCase) ? "github-hosted" : "self-hosted";
            var run = repo is not null && Get("GITHUB_RUN_ID") is { } runId
                ? $"{server}/{repo}/actions/runs/{runId}/attempts/{Get("GITHUB_RUN_ATTEMPT") ?? "1"}"
                : null;
            return new CiContext("github-actions", $"{server}/actions/runner/{hosted}", run,
                repo is null ? null : $"git+{server}/{repo}", Get("GITHUB_SHA"));
        }
        if (string.Equals(Get("TF_BUILD"), "true", StringComparison.OrdinalIgnoreCase))
        {
            var collection = Get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")?.TrimEnd('/');
            var run = collection is not null && Get("SYSTEM_TEAMPROJECT") is { } project && Get("BUILD_BUILDID") is { } id
                ? $"{collection}/{Uri.EscapeDataString(project)}/_build/results?buildId={id}"
                : null;
            var repoUri = Get("BUILD_REPOSITORY_URI");
            return new CiContext("azure-pipelines", (collection ?? "https://dev.azure.com") + "/_apis/distributedtask/agent", run,
                repoUri is null ? null : "git+" + repoUri, Get("BUILD_SOURCEVERSION"));
        }
        if (string.Equals(Get("GITLAB_CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            var server = (Get("CI_SERVER_URL") ?? "https://gitlab.com").TrimEnd('/');
            var projectUrl = Get("CI_PROJECT_URL");
            return new CiContext("gitlab-ci", $"{server}/gitlab-runner", Get("CI_JOB_URL") ?? Get("CI_PIPELINE_URL"),
                projectUrl is null ? null : "git+" + projectUrl, Get("CI_COMMIT_SHA"));
        }
        if (env.Keys.Any(k => k.StartsWith("TEKTON_", StringComparison.Ordinal)))
        {
            return new CiContext("tekton", "https://tekton.dev/chains/v2", Get("TEKTON_PIPELINE_RUN") ?? Get("TEKTON_TASK_RUN"), null, null);
        }
        if (Get("JENKINS_URL") is { } jenkins)
        {
            return new CiContext("jenkins", jenkins.TrimEnd('/') + "/", Get("BUILD_URL"), null, Get("GIT_COMMIT"));
        }
        if (string.Equals(Get("CI"), "true", StringComparison.OrdinalIgnoreCase) || Get("CI") == "1")
        {
            return new CiContext("generic-ci", "https://securebuild.dev/builders/generic-ci/v1", null, null, null);
        }
        return new CiContext("local", LocalBuilderId, null, null, null);
    }
}
