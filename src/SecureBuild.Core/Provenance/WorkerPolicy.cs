using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// What a verifier demands of the worker that built an artifact (issue #14, single-use workers), checked against
/// the provenance's internalParameters.worker (<see cref="WorkerIdentity"/>, <see cref="WorkerFreshness"/>):
/// <see cref="RejectSelfHosted"/> accepts only a GitHub-hosted runner or a Tekton pod; <see cref="RequireFreshWorker"/>
/// accepts only a worker whose freshness is known and fresh in every part.
/// </summary>
public sealed class WorkerPolicy
{
    /// <summary>SB5411: the provenance does not show a hosted, single-use runner.</summary>
    public const string SelfHostedCode = "SB5411";

    /// <summary>SB5412: the provenance does not show a fresh worker (reused workspace, cache, leftover processes, or unknown).</summary>
    public const string ReusedCode = "SB5412";

    /// <summary>Runner kinds a provider starts fresh for each job.</summary>
    public static readonly IReadOnlyList<string> HostedRunners = new[] { "github-hosted", "tekton-pod" };

    public bool RejectSelfHosted { get; set; }

    public bool RequireFreshWorker { get; set; }

    /// <summary>One failure per rule the provenance <paramref name="predicate"/> breaks, each starting with its code.</summary>
    public IReadOnlyList<string> Check(JsonMap? predicate)
    {
        var failures = new List<string>();
        if (RejectSelfHosted)
        {
            var runner = WorkerIdentity.RunnerOf(predicate);
            if (runner is null || !HostedRunners.Contains(runner))
            {
                failures.Add($"{SelfHostedCode}: the provenance says the build ran on {(runner is null ? "no named worker" : $"a '{runner}' worker")} " +
                    $"(internalParameters.worker.runner), not on a hosted single-use runner ({string.Join(", ", HostedRunners)}). " +
                    "Build on a hosted runner (the generated pipelines' default), or verify without --reject-self-hosted.");
            }
        }

        if (RequireFreshWorker)
        {
            var reused = WorkerFreshness.ReusedParts(predicate);
            if (reused is null)
            {
                failures.Add($"{ReusedCode}: the provenance does not say whether the worker was fresh (no internalParameters.worker.freshness; it was written by an older SecureBuild.Sdk). " +
                    "Rebuild with this SDK on a fresh worker, or verify without --require-fresh-worker.");
            }
            else if (reused.Count > 0)
            {
                failures.Add($"{ReusedCode}: the provenance says the worker was not fresh: {string.Join(", ", reused)} (internalParameters.worker.freshness). " +
                    "Build from a clean checkout on a single-use worker (no obj/ or bin/ from an earlier build, an empty NuGet cache, no MSBuild node or compiler server left running), or verify without --require-fresh-worker.");
            }
        }

        return failures;
    }
}
