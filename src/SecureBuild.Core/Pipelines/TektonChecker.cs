using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// `securebuild pipeline check` on a Tekton file: the rules the generated Tasks and Pipeline follow, applied to any
/// tekton.dev Task, Pipeline, TaskRun or PipelineRun (inline task and pipeline specs included). Chains type hints that
/// Chains would not read (SB5520), a build Task or Pipeline that gives Chains no subject (SB5521), images not pinned by
/// digest (SB5522), steps that may run as root (SB5523), a writable root file system (SB5524) and privilege escalation
/// (SB5525), a compare threshold the builders cannot meet (SB5526). The generated file passes every rule (a test holds it to that).
/// </summary>
public static class TektonChecker
{
    private static readonly Regex Digest = new("@sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant);
    private static readonly Regex BuildCommand = new(@"\b(dotnet\s+(build|pack|publish|msbuild)|msbuild)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>Chains' string pairs: a result ending in the first suffix is read only with one of the same prefix ending in the second.</summary>
    private static readonly (string Name, string Partner)[] Pairs =
    {
        ("ARTIFACT_URI", "ARTIFACT_DIGEST"),
        ("IMAGE_URL", "IMAGE_DIGEST"),
    };

    /// <summary>Chains' object hints: an object result with (at least) the properties uri and digest.</summary>
    private static readonly string[] ObjectHints = { "ARTIFACT_OUTPUTS", "ARTIFACT_INPUTS" };

    /// <summary>The name suffixes Chains reads as hints, matched case-sensitively.</summary>
    private static readonly string[] HintSuffixes = { "ARTIFACT_URI", "ARTIFACT_DIGEST", "IMAGE_URL", "IMAGE_DIGEST", "ARTIFACT_OUTPUTS", "ARTIFACT_INPUTS" };

    /// <summary>The hints that name a built artifact (a subject of the provenance); IMAGES is an exact name.</summary>
    private static readonly string[] OutputHints = { "ARTIFACT_OUTPUTS", "ARTIFACT_URI", "ARTIFACT_DIGEST", "IMAGE_URL", "IMAGE_DIGEST" };

    /// <summary>The exact names Chains reads as hints.</summary>
    private static readonly string[] HintNames = { "IMAGES", "CHAINS-GIT_URL", "CHAINS-GIT_COMMIT" };

    /// <summary>True when <paramref name="documents"/> (the YAML documents of one file) hold a tekton.dev resource.</summary>
    public static bool IsTekton(IEnumerable<WorkflowNode> documents) =>
        documents.Any(d => d is WorkflowMap m && (m.Text("apiVersion") ?? string.Empty).StartsWith("tekton.dev/", StringComparison.Ordinal));

    /// <summary>Every finding in the tekton.dev documents of one file (other documents are not looked at).</summary>
    /// <exception cref="PipelineException">SB5508: no document is a tekton.dev resource with a kind, a name and a spec mapping.</exception>
    public static IReadOnlyList<PipelineFinding> Check(IReadOnlyList<WorkflowNode> documents)
    {
        var findings = new List<PipelineFinding>();
        int resources = 0;
        foreach (var document in documents.OfType<WorkflowMap>())
        {
            if (!(document.Text("apiVersion") ?? string.Empty).StartsWith("tekton.dev/", StringComparison.Ordinal))
            {
                continue;
            }

            var kind = document.Text("kind");
            var name = (document["metadata"] as WorkflowMap)?.Text("name") ?? (document["metadata"] as WorkflowMap)?.Text("generateName") ?? "?";
            if (kind is null || document["spec"] is not WorkflowMap spec)
            {
                throw new PipelineException(PipelineCodes.UnreadableWorkflow, $"the tekton.dev document of line {document.Line} has no kind or no spec mapping.",
                    "Give Tekton resources as they are applied (apiVersion, kind, metadata.name, spec).");
            }

            resources++;
            var where = $"{kind}/{name}.spec";
            switch (kind)
            {
                case "Task":
                    findings.AddRange(CheckTask(spec, where, requireSubject: true));
                    break;
                case "TaskRun":
                    if (spec["taskSpec"] is WorkflowMap inlineTask)
                    {
                        findings.AddRange(CheckTask(inlineTask, where + ".taskSpec", requireSubject: true));
                    }

                    break;
                case "Pipeline":
                    findings.AddRange(CheckPipeline(spec, where, documents));
                    break;
                case "PipelineRun":
                    if (spec["pipelineSpec"] is WorkflowMap inlinePipeline)
                    {
                        findings.AddRange(CheckPipeline(inlinePipeline, where + ".pipelineSpec", documents));
                    }

                    break;
            }
        }

        if (resources == 0)
        {
            throw new PipelineException(PipelineCodes.UnreadableWorkflow, "the file holds no tekton.dev resource.", "Give a Tekton file (Task, Pipeline, TaskRun or PipelineRun).");
        }

        return findings;
    }

    private static IEnumerable<PipelineFinding> CheckTask(WorkflowMap spec, string where, bool requireSubject)
    {
        var results = Results(spec);
        foreach (var finding in HintShapes(results, where))
        {
            yield return finding;
        }

        if (requireSubject && Steps(spec).Any(s => BuildCommand.IsMatch(s.Step.Text("script") ?? string.Empty) || BuildCommand.IsMatch(Command(s.Step))) &&
            !HasSubject(results))
        {
            yield return new PipelineFinding(PipelineCodes.TektonNoSubject, spec.Line, where,
                "this Task builds, but none of its results is a Chains output hint (*ARTIFACT_OUTPUTS, *ARTIFACT_URI + *ARTIFACT_DIGEST, *IMAGE_URL + *IMAGE_DIGEST, IMAGES): Tekton Chains' provenance of its runs names no built artifact.",
                "Add a result NAME-ARTIFACT_OUTPUTS of type object with properties uri, digest and isBuildArtifact, and write {\"uri\":...,\"digest\":\"sha256:...\",\"isBuildArtifact\":\"true\"} to it.");
        }

        var template = (spec["stepTemplate"] as WorkflowMap)?["securityContext"] as WorkflowMap;
        if (spec["stepTemplate"] is WorkflowMap stepTemplate && stepTemplate.Text("image") is { } templateImage && !Digest.IsMatch(templateImage.Trim()))
        {
            yield return Unpinned(stepTemplate["image"]!, $"{where}.stepTemplate", templateImage);
        }

        foreach (var (container, path) in Steps(spec).Select(s => (s.Step, $"{where}.steps[{s.Index}]"))
                     .Concat(Containers(spec, "sidecars").Select(s => (s.Step, $"{where}.sidecars[{s.Index}]"))))
        {
            if (container.Text("image") is { } image && !Digest.IsMatch(image.Trim()))
            {
                yield return Unpinned(container["image"]!, path, image);
            }

            var own = container["securityContext"] as WorkflowMap;
            string? Setting(string key) => own?.Text(key) ?? template?.Text(key);
            var user = Setting("runAsUser");
            if (user == "0" || (Setting("runAsNonRoot") != "true" && (user is null || !long.TryParse(user, NumberStyles.Integer, CultureInfo.InvariantCulture, out var uid) || uid <= 0)))
            {
                yield return new PipelineFinding(PipelineCodes.TektonRunsAsRoot, container.Line, path,
                    user == "0" ? "the step runs as root (runAsUser: 0)." : "nothing keeps the step from running as root (no runAsNonRoot: true and no non-zero runAsUser, on the step or in stepTemplate): many build images default to root.",
                    "Set stepTemplate.securityContext: { runAsNonRoot: true, runAsUser: <the image's non-root uid> }.");
            }

            if (Setting("readOnlyRootFilesystem") != "true")
            {
                yield return new PipelineFinding(PipelineCodes.TektonWritableRoot, container.Line, path,
                    "the step's root file system is writable: build code can change the image's tools for the steps after it.",
                    "Set readOnlyRootFilesystem: true (in stepTemplate.securityContext) and give HOME, the NuGet cache and tools an emptyDir volume.");
            }

            if (Setting("privileged") == "true" || Setting("allowPrivilegeEscalation") != "false")
            {
                yield return new PipelineFinding(PipelineCodes.TektonPrivileged, container.Line, path,
                    Setting("privileged") == "true" ? "the step is privileged: it has the node's devices and every capability." : "the step may gain privileges (allowPrivilegeEscalation is not false): a setuid binary in the image becomes root.",
                    "Set privileged: false (or leave it out), allowPrivilegeEscalation: false and capabilities: { drop: [\"ALL\"] }.");
            }
        }
    }

    private static IEnumerable<PipelineFinding> CheckPipeline(WorkflowMap spec, string where, IReadOnlyList<WorkflowNode> documents)
    {
        var results = Results(spec);
        foreach (var finding in HintShapes(results, where))
        {
            yield return finding;
        }

        var tasks = new[] { "tasks", "finally" }.SelectMany(key => (spec[key] as WorkflowList)?.Items.OfType<WorkflowMap>().Select((t, i) => (Task: t, Path: $"{where}.{key}[{i}]")) ?? Enumerable.Empty<(WorkflowMap, string)>()).ToList();
        bool builds = false;
        foreach (var (task, path) in tasks)
        {
            if (task["taskSpec"] is WorkflowMap inline)
            {
                // A pipeline task's own results are not what Chains reads for the PipelineRun: the subject rule applies to the Pipeline.
                foreach (var finding in CheckTask(inline, path + ".taskSpec", requireSubject: false))
                {
                    yield return finding;
                }

                builds |= Steps(inline).Any(s => BuildCommand.IsMatch(s.Step.Text("script") ?? string.Empty) || BuildCommand.IsMatch(Command(s.Step)));
            }
            else if ((task["taskRef"] as WorkflowMap)?.Text("name") is { } referenced && TaskSpec(documents, referenced) is { } local)
            {
                builds |= Steps(local).Any(s => BuildCommand.IsMatch(s.Step.Text("script") ?? string.Empty) || BuildCommand.IsMatch(Command(s.Step)));
            }
        }

        foreach (var (task, path) in tasks)
        {
            if (ImpossibleThreshold(task, path) is { } finding)
            {
                yield return finding;
            }
        }

        if (builds && !HasSubject(results))
        {
            yield return new PipelineFinding(PipelineCodes.TektonNoSubject, spec.Line, where,
                "this Pipeline builds, but none of its results is a Chains output hint: without deep inspection Tekton Chains reads only the PipelineRun's results, so its provenance names no built artifact.",
                "Surface the build task's hint as a pipeline result: { name: outputs-ARTIFACT_OUTPUTS, type: object, value: $(tasks.TASK.results.outputs-ARTIFACT_OUTPUTS[*]) }.");
        }
    }

    /// <summary>
    /// SB5526: a pipeline task running `securebuild compare` (params threshold and builders, as the generated
    /// securebuild-compare Task takes them) with a threshold below 1 or above the number of builders listed.
    /// </summary>
    private static PipelineFinding? ImpossibleThreshold(WorkflowMap task, string path)
    {
        var parameters = (task["params"] as WorkflowList)?.Items.OfType<WorkflowMap>().ToList() ?? new List<WorkflowMap>();
        var threshold = parameters.FirstOrDefault(p => p.Text("name") == "threshold");
        var builders = parameters.FirstOrDefault(p => p.Text("name") == "builders")?["value"] as WorkflowList;
        if (threshold?.Text("value") is not { } text || builders is null ||
            !int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var k) || (k >= 1 && k <= builders.Items.Count))
        {
            return null; // not the compare task, or a value set at run time ($(params...)): not judged
        }

        return new PipelineFinding(PipelineCodes.TektonImpossibleThreshold, threshold.Line, path,
            k < 1 ? $"the compare task's threshold {k} asks no builder to agree." : $"the compare task requires {k} builders to agree, but lists only {builders.Items.Count}: it can never pass.",
            "Make the threshold at most the number of builders (securebuild init --ci tekton --threshold K --force regenerates the pipeline).");
    }

    /// <summary>SB5520: a result named like a Chains hint that Chains cannot read: wrong case, wrong type, an object without uri/digest, half a pair.</summary>
    private static IEnumerable<PipelineFinding> HintShapes(IReadOnlyList<(WorkflowMap Result, string Name, int Index)> results, string where)
    {
        var names = new HashSet<string>(results.Select(r => r.Name), StringComparer.Ordinal);
        foreach (var (result, name, index) in results)
        {
            var path = $"{where}.results[{index}]";
            var type = result.Text("type");
            var hint = HintNames.FirstOrDefault(h => name == h) ?? HintSuffixes.FirstOrDefault(h => name.EndsWith(h, StringComparison.Ordinal));
            if (hint is null)
            {
                var miscased = HintNames.FirstOrDefault(h => name.Equals(h, StringComparison.OrdinalIgnoreCase)) ??
                    HintSuffixes.FirstOrDefault(h => name.EndsWith(h, StringComparison.OrdinalIgnoreCase));
                if (miscased is not null)
                {
                    yield return Shape(result, path, $"'{name}' looks like the Chains type hint {miscased}, but Chains matches hint names case-sensitively and will ignore it.",
                        $"Spell {miscased} in capitals as Chains does.");
                }

                continue;
            }

            if (ObjectHints.Contains(hint))
            {
                var properties = result["properties"] as WorkflowMap;
                bool surfaced = result["value"] is not null && properties is null; // a pipeline result surfacing a task's object result
                if (type != "object")
                {
                    yield return Shape(result, path, $"'{name}' is a Chains {hint} hint, which Chains reads only from an object result, but its type is {type ?? "string (the default)"}.",
                        "Declare it type: object with properties uri, digest (and isBuildArtifact: \"true\" for outputs).");
                }
                else if (!surfaced && (properties?["uri"] is null || properties["digest"] is null))
                {
                    yield return Shape(result, path, $"'{name}' is a Chains {hint} hint without the properties uri and digest that Chains reads.",
                        "Declare properties: { uri: { type: string }, digest: { type: string } } (and isBuildArtifact for outputs).");
                }

                continue;
            }

            if (type is not null && type != "string")
            {
                yield return Shape(result, path, $"'{name}' is a Chains {hint} hint, which Chains reads only from a string result, but its type is {type}.", "Declare it type: string.");
                continue;
            }

            var partner = PartnerOf(name, hint);
            if (partner is not null && !names.Contains(partner))
            {
                yield return Shape(result, path, $"'{name}' is half of a Chains hint pair: Chains records it only together with a result named '{partner}', and there is none.",
                    $"Add the result '{partner}' (written by the same step), or use one NAME-ARTIFACT_OUTPUTS object result instead.");
            }
        }
    }

    /// <summary>The other half of a pair hint (same prefix), or null for hints that stand alone (IMAGES).</summary>
    private static string? PartnerOf(string name, string hint)
    {
        if (hint == "CHAINS-GIT_URL" || hint == "CHAINS-GIT_COMMIT")
        {
            return hint == "CHAINS-GIT_URL" ? "CHAINS-GIT_COMMIT" : "CHAINS-GIT_URL";
        }

        var prefix = name.Substring(0, name.Length - hint.Length);
        foreach (var (first, second) in Pairs)
        {
            if (hint == first)
            {
                return prefix + second;
            }

            if (hint == second)
            {
                return prefix + first;
            }
        }

        return null;
    }

    /// <summary>
    /// True when a result gives Chains a subject, or is named like an output hint that SB5520 then explains (a wrong
    /// type, case or half a pair): one finding per mistake.
    /// </summary>
    private static bool HasSubject(IReadOnlyList<(WorkflowMap Result, string Name, int Index)> results)
    {
        if (results.Any(r => r.Name.Equals("IMAGES", StringComparison.OrdinalIgnoreCase) || OutputHints.Any(h => r.Name.EndsWith(h, StringComparison.OrdinalIgnoreCase))))
        {
            return true;
        }

        return false;
    }

    private static PipelineFinding Shape(WorkflowMap result, string path, string cause, string fix) =>
        new(PipelineCodes.TektonHintShape, result.Line, path, cause, fix);

    private static PipelineFinding Unpinned(WorkflowNode node, string path, string image) =>
        new(PipelineCodes.TektonUnpinnedImage, node.Line, path, $"the image '{image}' is not pinned by digest: whoever can push that tag decides what this step runs.",
            "Pin it: IMAGE@sha256:<digest> (keep the tag in a comment).");

    private static IReadOnlyList<(WorkflowMap Result, string Name, int Index)> Results(WorkflowMap spec) =>
        (spec["results"] as WorkflowList)?.Items.Select((r, i) => (Result: r as WorkflowMap, Index: i))
            .Where(p => p.Result?.Text("name") is not null).Select(p => (p.Result!, p.Result!.Text("name")!, p.Index)).ToList()
        ?? new List<(WorkflowMap, string, int)>();

    private static IEnumerable<(WorkflowMap Step, int Index)> Steps(WorkflowMap spec) => Containers(spec, "steps");

    private static IEnumerable<(WorkflowMap Step, int Index)> Containers(WorkflowMap spec, string key) =>
        (spec[key] as WorkflowList)?.Items.Select((s, i) => (Step: s as WorkflowMap, Index: i)).Where(p => p.Step is not null).Select(p => (p.Step!, p.Index))
        ?? Enumerable.Empty<(WorkflowMap, int)>();

    /// <summary>command and args of a step as one line, for steps that run without a script.</summary>
    private static string Command(WorkflowMap step) =>
        string.Join(" ", new[] { "command", "args" }.SelectMany(k => (step[k] as WorkflowList)?.Items.OfType<WorkflowScalar>().Select(s => s.Value) ?? Enumerable.Empty<string>()));

    /// <summary>The spec of the Task named <paramref name="name"/> in the same file, or null.</summary>
    private static WorkflowMap? TaskSpec(IReadOnlyList<WorkflowNode> documents, string name) =>
        documents.OfType<WorkflowMap>().Where(d => d.Text("kind") == "Task" && (d["metadata"] as WorkflowMap)?.Text("name") == name)
            .Select(d => d["spec"] as WorkflowMap).FirstOrDefault(s => s is not null);
}
