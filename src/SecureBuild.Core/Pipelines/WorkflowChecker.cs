using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// `securebuild pipeline check`: the hardening rules of the generated workflow, applied to any GitHub Actions workflow.
/// One function per rule; each finding carries its SB55xx code, the place, the cause and the fix. The generated
/// workflow passes every rule (a test holds it to that).
/// </summary>
public static class WorkflowChecker
{
    private static readonly Regex FullSha = new("@[0-9a-f]{40}$", RegexOptions.CultureInvariant);
    private static readonly Regex BuildCommand = new(@"\b(dotnet\s+(build|pack|publish|test|msbuild|restore)|msbuild)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
    private static readonly Regex SecretReference = new(@"\$\{\{[^}]*\bsecrets\.", RegexOptions.CultureInvariant);
    private static readonly Regex UntrustedHead = new(@"github\.event\.(pull_request\.head|workflow_run\.head)|github\.head_ref", RegexOptions.CultureInvariant);
    private static readonly Regex InjectableExpression = new(
        @"\$\{\{\s*[^}]*(github\.event\.(issue|pull_request|comment|review|review_comment|discussion|discussion_comment|pages|commits|head_commit|workflow_run)[^}]*\.(title|body|message|name|label|ref|email|head_branch|default_branch)\b|github\.head_ref)",
        RegexOptions.CultureInvariant);

    private static readonly Regex CosignSign = new(@"\bcosign\s+(sign|attest)(-blob)?\b", RegexOptions.CultureInvariant);
    private static readonly Regex CompareThreshold = new(@"\bsecurebuild[""']?\s+compare\b[^\n]*?--threshold[\s=]+[""']?(\d+)\b", RegexOptions.CultureInvariant);
    private static readonly Regex CosignKey = new(@"\s--key[\s=]", RegexOptions.CultureInvariant);

    /// <summary>Every finding in the workflow <paramref name="root"/>, in rule order then document order.</summary>
    /// <exception cref="PipelineException">SB5508: the document is not a workflow (no mapping, no jobs mapping).</exception>
    public static IReadOnlyList<PipelineFinding> Check(WorkflowNode root)
    {
        if (root is not WorkflowMap workflow || workflow["jobs"] is not WorkflowMap jobs)
        {
            throw new PipelineException(PipelineCodes.UnreadableWorkflow, "the document is not a GitHub Actions workflow (a mapping with a \"jobs\" mapping).",
                "Give a workflow file from .github/workflows/.");
        }

        var all = jobs.Entries.Where(e => e.Value is WorkflowMap).Select(e => new Job(e.Key, (WorkflowMap)e.Value)).ToList();
        var findings = new List<PipelineFinding>();
        findings.AddRange(UnpinnedActions(all));
        findings.AddRange(BroadPermissions(workflow, all));
        findings.AddRange(UntrustedCheckout(workflow, all));
        findings.AddRange(SecretsInBuildJobs(workflow, all));
        findings.AddRange(MissingTimeouts(all));
        findings.AddRange(MissingConcurrency(workflow, all));
        findings.AddRange(PersistedCredentials(all));
        findings.AddRange(ScriptInjection(all));
        findings.AddRange(SigningWithoutOidc(workflow, all));
        findings.AddRange(ImpossibleThreshold(all));
        return findings;
    }

    /// <summary>SB5500: every uses: (steps and reusable workflows) must name a full commit SHA; docker:// images a digest.</summary>
    private static IEnumerable<PipelineFinding> UnpinnedActions(IEnumerable<Job> jobs)
    {
        foreach (var job in jobs)
        {
            var references = new List<(WorkflowNode Node, string Where)>();
            if (job.Map["uses"] is WorkflowScalar reusable)
            {
                references.Add((reusable, $"jobs.{job.Name}.uses"));
            }

            references.AddRange(job.Steps.Where(s => s.Step["uses"] is WorkflowScalar).Select(s => (s.Step["uses"]!, $"jobs.{job.Name}.steps[{s.Index}]")));
            foreach (var (node, where) in references)
            {
                var uses = ((WorkflowScalar)node).Value.Trim();
                if (uses.StartsWith("./", StringComparison.Ordinal))
                {
                    continue; // in the same repository and commit
                }

                if (uses.StartsWith("docker://", StringComparison.Ordinal))
                {
                    if (!Regex.IsMatch(uses, "@sha256:[0-9a-f]{64}$"))
                    {
                        yield return new PipelineFinding(PipelineCodes.UnpinnedAction, node.Line, where, $"the image '{uses}' is not pinned by digest: whoever controls the tag controls this step.",
                            "Pin it: docker://IMAGE@sha256:<digest> (with the tag in a comment).");
                    }

                    continue;
                }

                if (!FullSha.IsMatch(uses))
                {
                    yield return new PipelineFinding(PipelineCodes.UnpinnedAction, node.Line, where, $"'{uses}' is not pinned by a full commit SHA: a tag or branch can be moved to other code.",
                        "Pin it: OWNER/REPO@<40-hex commit> # vX.Y.Z (the SHA the tag points at today).");
                }
            }
        }
    }

    /// <summary>SB5501: every job must get an explicit, narrow token: no job without permissions, no write-all, no write scope granted to all jobs.</summary>
    private static IEnumerable<PipelineFinding> BroadPermissions(WorkflowMap workflow, IReadOnlyList<Job> jobs)
    {
        var top = workflow["permissions"];
        if (top is WorkflowScalar { Value: "write-all" } all)
        {
            yield return new PipelineFinding(PipelineCodes.BroadPermissions, all.Line, "permissions", "write-all gives every job a token that can push code, publish releases and change settings.",
                "Set permissions: {} (or contents: read) at the top and grant each job only the scopes it needs.");
        }
        else if (top is WorkflowMap scopes && jobs.Count > 1)
        {
            foreach (var scope in scopes.Entries.Where(e => e.Value is WorkflowScalar { Value: "write" }))
            {
                yield return new PipelineFinding(PipelineCodes.BroadPermissions, scope.Value.Line, $"permissions.{scope.Key}",
                    $"{scope.Key}: write at workflow level applies to every job, including those that run build code.",
                    $"Grant {scope.Key}: write in the one job that needs it.");
            }
        }

        foreach (var job in jobs)
        {
            var own = job.Map["permissions"];
            if (own is WorkflowScalar { Value: "write-all" } w)
            {
                yield return new PipelineFinding(PipelineCodes.BroadPermissions, w.Line, $"jobs.{job.Name}.permissions", "write-all gives this job's token every write scope.",
                    "List only the scopes the job needs (e.g. contents: read).");
            }
            else if (own is null && top is null && job.Map["uses"] is null)
            {
                yield return new PipelineFinding(PipelineCodes.BroadPermissions, job.Line, $"jobs.{job.Name}", "no permissions here or at the top: the job gets the repository's default token, which may be read-write.",
                    "Set permissions: {} at the top of the workflow and e.g. contents: read on this job.");
            }
        }
    }

    /// <summary>SB5502: pull_request_target / workflow_run run with the base repository's token and secrets; checking out the untrusted head there runs the attacker's code with them.</summary>
    private static IEnumerable<PipelineFinding> UntrustedCheckout(WorkflowMap workflow, IEnumerable<Job> jobs)
    {
        var triggers = Triggers(workflow);
        var privileged = triggers.Where(t => t is "pull_request_target" or "workflow_run").ToList();
        if (privileged.Count == 0)
        {
            yield break;
        }

        foreach (var job in jobs)
        {
            foreach (var (step, index) in job.Steps)
            {
                if (step.Text("uses") is not { } uses || !uses.StartsWith("actions/checkout@", StringComparison.Ordinal))
                {
                    continue;
                }

                var reference = (step["with"] as WorkflowMap)?.Text("ref") ?? (step["with"] as WorkflowMap)?.Text("repository");
                if (reference is not null && UntrustedHead.IsMatch(reference))
                {
                    yield return new PipelineFinding(PipelineCodes.UntrustedCheckout, step.Line, $"jobs.{job.Name}.steps[{index}]",
                        $"the workflow runs on {string.Join(" and ", privileged)} (with the base repository's token and secrets) and checks out the untrusted head ({reference}): any build step then runs the contributor's code with those rights.",
                        "Build pull requests on `pull_request` (no secrets, read-only token); keep pull_request_target for labelling or commenting without checking out the head.");
                }
            }
        }
    }

    /// <summary>SB5503: a job that runs the build (dotnet build/pack/publish/test, msbuild) must see no secret and must not be able to request an OIDC token: build code (packages, analyzers, MSBuild tasks) could use either.</summary>
    private static IEnumerable<PipelineFinding> SecretsInBuildJobs(WorkflowMap workflow, IEnumerable<Job> jobs)
    {
        var workflowEnv = workflow["env"];
        var topPermissions = workflow["permissions"];
        foreach (var job in jobs.Where(j => j.Steps.Any(s => s.Step.Text("run") is { } run && BuildCommand.IsMatch(run))))
        {
            foreach (var (node, where) in SecretUses(job, workflowEnv))
            {
                yield return new PipelineFinding(PipelineCodes.SecretsInBuild, node.Line, where,
                    "a secret is available to a job that runs the build: any package, analyzer or MSBuild task it loads can read the environment and the runner's memory.",
                    "Build without secrets; move the step that needs the secret (signing, publishing) to a separate job that downloads the built outputs.");
            }

            var permissions = job.Map["permissions"] ?? topPermissions;
            var idToken = permissions is WorkflowScalar { Value: "write-all" } ? permissions : (permissions as WorkflowMap)?["id-token"] is WorkflowScalar { Value: "write" } token ? token : null;
            if (idToken is not null)
            {
                yield return new PipelineFinding(PipelineCodes.SecretsInBuild, idToken.Line, $"jobs.{job.Name}.permissions",
                    "id-token: write lets the build job request an OIDC token, so build code could sign anything keyless as this workflow.",
                    "Give id-token: write only to a signing job that runs no repository code and signs the outputs of the build jobs.");
            }
        }
    }

    /// <summary>SB5504: without timeout-minutes a hung job holds its runner (and, self-hosted, its state) for 6 hours.</summary>
    private static IEnumerable<PipelineFinding> MissingTimeouts(IEnumerable<Job> jobs) =>
        jobs.Where(j => j.Map["uses"] is null && j.Map["timeout-minutes"] is null).Select(j => new PipelineFinding(PipelineCodes.MissingTimeout, j.Line, $"jobs.{j.Name}",
            "no timeout-minutes: a hung build holds the runner for the default 360 minutes.", "Set timeout-minutes to a bound the job never needs to reach (e.g. 60)."));

    /// <summary>SB5505: two runs of one ref at once race on artifacts, caches and what gets signed.</summary>
    private static IEnumerable<PipelineFinding> MissingConcurrency(WorkflowMap workflow, IReadOnlyList<Job> jobs)
    {
        if (workflow["concurrency"] is null && jobs.Any(j => j.Map["concurrency"] is null))
        {
            yield return new PipelineFinding(PipelineCodes.MissingConcurrency, 1, "concurrency",
                "no concurrency group: two runs of the same branch can build, upload and sign at the same time.",
                "Add concurrency: { group: NAME-${{ github.ref }}, cancel-in-progress: false } at the top (true is fine for pull requests).");
        }
    }

    /// <summary>SB5506: actions/checkout keeps the token in .git/config unless told not to, where every later step (and build code) can read it.</summary>
    private static IEnumerable<PipelineFinding> PersistedCredentials(IEnumerable<Job> jobs)
    {
        foreach (var job in jobs)
        {
            foreach (var (step, index) in job.Steps)
            {
                if (step.Text("uses") is { } uses && uses.StartsWith("actions/checkout@", StringComparison.Ordinal) &&
                    (step["with"] as WorkflowMap)?.Text("persist-credentials") is not "false")
                {
                    yield return new PipelineFinding(PipelineCodes.PersistedCredentials, step.Line, $"jobs.{job.Name}.steps[{index}]",
                        "actions/checkout leaves the job's token in .git/config, readable by every later step and by the build.",
                        "Add with: { persist-credentials: false }.");
                }
            }
        }
    }

    /// <summary>SB5507: ${{ }} is expanded into the script text before the shell runs it: a title or branch name becomes code.</summary>
    private static IEnumerable<PipelineFinding> ScriptInjection(IEnumerable<Job> jobs)
    {
        foreach (var job in jobs)
        {
            foreach (var (step, index) in job.Steps)
            {
                var match = step.Text("run") is { } run ? InjectableExpression.Match(run) : Match.Empty;
                if (match.Success)
                {
                    yield return new PipelineFinding(PipelineCodes.ScriptInjection, step["run"]!.Line, $"jobs.{job.Name}.steps[{index}]",
                        $"'{match.Value}...' is expanded into the script: whoever writes that text (a title, a branch name) writes shell code.",
                        "Pass it through env: (e.g. env: { TITLE: ${{ github.event.pull_request.title }} }) and use \"$TITLE\" in the script.");
                }
            }
        }
    }

    /// <summary>SB5509: keyless signing (actions/attest*, cosign sign/attest without --key) needs the job's OIDC token; without id-token: write the step fails at run time.</summary>
    private static IEnumerable<PipelineFinding> SigningWithoutOidc(WorkflowMap workflow, IEnumerable<Job> jobs)
    {
        var top = workflow["permissions"];
        foreach (var job in jobs)
        {
            var permissions = job.Map["permissions"] ?? top;
            bool oidc = permissions is WorkflowScalar { Value: "write-all" } || (permissions as WorkflowMap)?.Text("id-token") == "write";
            if (oidc)
            {
                continue;
            }

            foreach (var (step, index) in job.Steps)
            {
                var uses = step.Text("uses") ?? string.Empty;
                var run = step.Text("run") ?? string.Empty;
                if (uses.StartsWith("actions/attest", StringComparison.Ordinal) || (CosignSign.IsMatch(run) && !CosignKey.IsMatch(run)))
                {
                    yield return new PipelineFinding(PipelineCodes.SigningWithoutOidc, step.Line, $"jobs.{job.Name}.steps[{index}]",
                        "this step signs keyless, but the job may not request an OIDC token (no id-token: write), so there is no identity to sign with.",
                        "Give this signing job, and only it, permissions: { id-token: write } (plus attestations: write for actions/attest).");
                }
            }
        }
    }

    /// <summary>
    /// SB5510: `securebuild compare --threshold K` in a job that needs fewer than K builders (the matrix entries of the
    /// jobs it needs, where they can be counted without running the workflow) or K below 1: compare can never pass, or
    /// passes on no agreement.
    /// </summary>
    private static IEnumerable<PipelineFinding> ImpossibleThreshold(IReadOnlyList<Job> jobs)
    {
        foreach (var job in jobs)
        {
            var needs = job.Map["needs"] switch
            {
                WorkflowScalar s => new[] { s.Value },
                WorkflowList l => l.Items.OfType<WorkflowScalar>().Select(i => i.Value).ToArray(),
                _ => Array.Empty<string>(),
            };
            foreach (var (step, index) in job.Steps)
            {
                // A script joins continued lines before the match: the options may stand on the next line.
                var match = CompareThreshold.Match((step.Text("run") ?? string.Empty).Replace("\\\n", " "));
                if (!match.Success || !int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var k))
                {
                    continue;
                }

                var sizes = needs.Select(n => jobs.FirstOrDefault(j => j.Name == n) is { } needed ? MatrixSize(needed.Map) : null).ToList();
                int? builders = needs.Length > 0 && sizes.All(size => size is not null) ? sizes.Sum() : null;
                if (k < 1 || (builders is { } n && k > n))
                {
                    yield return new PipelineFinding(PipelineCodes.ImpossibleThreshold, step["run"]!.Line, $"jobs.{job.Name}.steps[{index}]",
                        k < 1 ? $"securebuild compare --threshold {k}: a threshold below 1 asks no builder to agree."
                              : $"securebuild compare --threshold {k}, but the jobs it needs ({string.Join(", ", needs)}) run only {builders} builder(s): compare can never pass.",
                        "Make k at most the number of builders (and at least 2 for an independent check), e.g. securebuild init --threshold K --force.");
                }
            }
        }
    }

    /// <summary>How many runs a job's matrix makes, when that can be counted from the text (1 without a matrix); null when it depends on expressions, exclude or include mixed with axes.</summary>
    private static int? MatrixSize(WorkflowMap job)
    {
        if ((job["strategy"] as WorkflowMap)?["matrix"] is not { } matrix)
        {
            return job["strategy"] is null || job["strategy"] is WorkflowMap ? 1 : null;
        }

        if (matrix is not WorkflowMap axes || axes["exclude"] is not null)
        {
            return null;
        }

        var dimensions = axes.Entries.Where(e => e.Key != "include").ToList();
        var include = axes["include"];
        if (dimensions.Count == 0)
        {
            return include is WorkflowList entries ? entries.Items.Count : null;
        }

        if (include is not null || dimensions.Any(d => d.Value is not WorkflowList))
        {
            return null;
        }

        return dimensions.Aggregate(1, (product, d) => product * ((WorkflowList)d.Value).Items.Count);
    }

    private static IEnumerable<(WorkflowNode Node, string Where)> SecretUses(Job job, WorkflowNode? workflowEnv)
    {
        if (workflowEnv is not null && Scalars(workflowEnv).FirstOrDefault(s => SecretReference.IsMatch(s.Value)) is { } top)
        {
            yield return (top, "env");
        }

        if (job.Map["env"] is { } env && Scalars(env).FirstOrDefault(s => SecretReference.IsMatch(s.Value)) is { } jobEnv)
        {
            yield return (jobEnv, $"jobs.{job.Name}.env");
        }

        foreach (var (step, index) in job.Steps)
        {
            if (Scalars(step).FirstOrDefault(s => SecretReference.IsMatch(s.Value)) is { } found)
            {
                yield return (found, $"jobs.{job.Name}.steps[{index}]");
            }
        }
    }

    private static IEnumerable<WorkflowScalar> Scalars(WorkflowNode node) => node switch
    {
        WorkflowScalar s => new[] { s },
        WorkflowMap m => m.Entries.SelectMany(e => Scalars(e.Value)),
        WorkflowList l => l.Items.SelectMany(Scalars),
        _ => Enumerable.Empty<WorkflowScalar>(),
    };

    /// <summary>The event names under on: (a name, a list of names, or a mapping).</summary>
    private static IReadOnlyList<string> Triggers(WorkflowMap workflow) => workflow["on"] switch
    {
        WorkflowScalar s => new[] { s.Value },
        WorkflowList l => l.Items.OfType<WorkflowScalar>().Select(i => i.Value).ToList(),
        WorkflowMap m => m.Entries.Select(e => e.Key).ToList(),
        _ => Array.Empty<string>(),
    };

    private sealed class Job
    {
        public Job(string name, WorkflowMap map)
        {
            Name = name;
            Map = map;
            Steps = (map["steps"] as WorkflowList)?.Items.Select((s, i) => (s as WorkflowMap, i)).Where(p => p.Item1 is not null)
                .Select(p => (p.Item1!, p.i)).ToList() ?? new List<(WorkflowMap, int)>();
        }

        public string Name { get; }

        public WorkflowMap Map { get; }

        public int Line => Map.Line;

        public IReadOnlyList<(WorkflowMap Step, int Index)> Steps { get; }
    }
}
