using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// What a security reviewer checks in the generated definitions, asserted on their parsed structure: who may sign, what
/// runs where, what is pinned, what each builder gets. (Schema validity: <see cref="GeneratedPipelineOracleTests"/>.)
/// </summary>
public sealed class GeneratedPipelineStructureTests
{
    private static readonly PipelineSettings Four = GeneratedPipelineOracleTests.Make(new[] { "ubuntu-24.04", "windows-2022", "self-hosted:linux,x64", "container" }, 3);

    [Test]
    public void In_the_GitHub_workflow_only_the_sign_job_may_request_an_OIDC_token_and_it_runs_no_repository_code()
    {
        var workflow = (WorkflowMap)GeneratedYaml.Parse(GitHubWorkflow.Generate(Four));
        Assert.That(workflow["permissions"], Is.InstanceOf<WorkflowMap>().And.Property("Entries").Empty, "permissions: {} at the top");
        var jobs = (WorkflowMap)workflow["jobs"]!;
        Assert.That(jobs.Entries.Select(e => e.Key), Is.EqualTo(new[] { "build", "compare", "sign" }));
        foreach (var (name, node) in jobs.Entries.Select(e => (e.Key, (WorkflowMap)e.Value)))
        {
            var permissions = (WorkflowMap)node["permissions"]!;
            Assert.That(permissions.Text("id-token"), name == "sign" ? Is.EqualTo("write") : Is.Null, name);
            Assert.That(node.Text("timeout-minutes"), Is.Not.Null, name);
        }

        var sign = (WorkflowMap)jobs["sign"]!;
        var steps = ((WorkflowList)sign["steps"]!).Items.Cast<WorkflowMap>().ToList();
        Assert.That(steps.All(s => s["run"] is null), "the signing job runs no script");
        Assert.That(steps.Select(s => s.Text("uses")!.Split('@')[0]), Is.EqualTo(new[] { "actions/download-artifact", "actions/download-artifact", "actions/attest-build-provenance", "actions/attest" }));
        Assert.That(sign.Text("if"), Is.EqualTo("github.event_name != 'pull_request'"), "pull requests are built and compared, never signed");
        Assert.That(sign.Text("needs"), Is.EqualTo("compare"), "only what the builders agreed on is signed");
        var vsa = (WorkflowMap)steps[3]["with"]!;
        Assert.That(vsa.Text("predicate-type"), Is.EqualTo("https://slsa.dev/verification_summary/v1"));
    }

    [Test]
    public void The_GitHub_build_matrix_has_one_entry_per_builder_and_compare_requires_k()
    {
        var text = GitHubWorkflow.Generate(Four);
        var build = (WorkflowMap)((WorkflowMap)((WorkflowMap)GeneratedYaml.Parse(text))["jobs"]!)["build"]!;
        var include = (WorkflowList)((WorkflowMap)((WorkflowMap)build["strategy"]!)["matrix"]!)["include"]!;
        var entries = include.Items.Cast<WorkflowMap>().ToList();
        Assert.That(entries.Select(e => e.Text("builder")), Is.EqualTo(new[] { "ubuntu-24-04", "windows-2022", "self-hosted-linux-x64", "container-sdk-10-0" }));
        Assert.That(entries.Select(e => e.Text("trace")), Is.EqualTo(new[] { "true", "false", "true", "true" }), "traced where the tracer runs (Linux)");
        Assert.That(entries[3].Text("container"), Is.EqualTo(PinnedReferences.DotnetSdkImage));
        Assert.That(((WorkflowList)entries[2]["runs-on"]!).Items.Cast<WorkflowScalar>().Select(s => s.Value), Is.EqualTo(new[] { "self-hosted", "linux", "x64" }));
        Assert.That(text, Does.Contain("compare --threshold 3 --policy securebuild/policy.json"));
        Assert.That(text, Does.Contain("global-json-file: global.json"), "the SDK is the one global.json pins");
        Assert.That(text, Does.Contain("-p:SecureBuildRequireSigningKey=true"));
    }

    [Test]
    public void Every_Tekton_step_runs_non_root_on_a_read_only_root_with_an_image_pinned_by_digest()
    {
        var documents = TektonPipeline.Generate(Four).Split("\n---\n").Select(GeneratedYaml.Parse).Cast<WorkflowMap>().ToList();
        var tasks = documents.Where(d => d.Text("kind") == "Task").ToList();
        Assert.That(tasks, Has.Count.EqualTo(2));
        foreach (var task in tasks)
        {
            var spec = (WorkflowMap)task["spec"]!;
            var security = (WorkflowMap)((WorkflowMap)spec["stepTemplate"]!)["securityContext"]!;
            Assert.That(security.Text("runAsNonRoot"), Is.EqualTo("true"));
            Assert.That(security.Text("readOnlyRootFilesystem"), Is.EqualTo("true"));
            Assert.That(security.Text("allowPrivilegeEscalation"), Is.EqualTo("false"));
            foreach (var step in ((WorkflowList)spec["steps"]!).Items.Cast<WorkflowMap>())
            {
                Assert.That(step.Text("image"), Does.Match("@sha256:[0-9a-f]{64}$"), step.Text("name"));
                Assert.That(step["securityContext"], Is.Null, "no step overrides the template");
            }
        }
    }

    [Test]
    public void The_Tekton_build_results_carry_the_Chains_type_hints_and_the_pipeline_surfaces_them()
    {
        var documents = TektonPipeline.Generate(Four).Split("\n---\n").Select(GeneratedYaml.Parse).Cast<WorkflowMap>().ToList();
        var build = (WorkflowMap)documents.Single(d => ((WorkflowMap)d["metadata"]!).Text("name") == "securebuild-build")["spec"]!;
        var results = ((WorkflowList)build["results"]!).Items.Cast<WorkflowMap>().ToDictionary(r => r.Text("name")!);
        Assert.That(results.Keys, Is.SupersetOf(new[] { "CHAINS-GIT_URL", "CHAINS-GIT_COMMIT", "outputs-ARTIFACT_OUTPUTS" }));
        var outputs = results["outputs-ARTIFACT_OUTPUTS"];
        Assert.That(outputs.Text("type"), Is.EqualTo("object"));
        Assert.That(((WorkflowMap)outputs["properties"]!).Entries.Select(e => e.Key), Is.EquivalentTo(new[] { "uri", "digest", "isBuildArtifact" }));
        Assert.That(results["CHAINS-GIT_URL"].Text("type"), Is.EqualTo("string"));

        var pipeline = (WorkflowMap)documents.Single(d => d.Text("kind") == "Pipeline")["spec"]!;
        var surfaced = ((WorkflowList)pipeline["results"]!).Items.Cast<WorkflowMap>().ToDictionary(r => r.Text("name")!);
        Assert.That(surfaced["outputs-ARTIFACT_OUTPUTS"].Text("type"), Is.EqualTo("object"));
        var tasks = ((WorkflowList)pipeline["tasks"]!).Items.Cast<WorkflowMap>().ToList();
        Assert.That(tasks.Select(t => t.Text("name")), Is.EqualTo(new[] { "build-ubuntu-24-04", "build-windows-2022", "build-self-hosted-linux-x64", "build-container-sdk-10-0", "compare" }));
        var subPaths = tasks.Take(4).Select(t => ((WorkflowMap)((WorkflowList)t["workspaces"]!).Items[0]).Text("subPath")).ToList();
        Assert.That(subPaths, Is.Unique, "each builder builds in its own folder");
    }

    [Test]
    public void In_the_Azure_pipeline_only_the_compare_job_gets_the_signing_key()
    {
        var root = (WorkflowMap)GeneratedYaml.Parse(AzurePipeline.Generate(Four));
        var jobs = ((WorkflowList)root["jobs"]!).Items.Cast<WorkflowMap>().ToList();
        Assert.That(jobs.Select(j => j.Text("job")), Is.EqualTo(new[] { "build_ubuntu_24_04", "build_windows_2022", "build_self_hosted_linux_x64", "build_container_sdk_10_0", "compare" }));
        foreach (var job in jobs)
        {
            var steps = ((WorkflowList)job["steps"]!).Items.Cast<WorkflowMap>().ToList();
            Assert.That(steps.Any(s => s.Text("task") == "DownloadSecureFile@1"), Is.EqualTo(job.Text("job") == "compare"), job.Text("job"));
            var checkout = steps.First();
            Assert.That(checkout.Text("checkout"), Is.EqualTo("self"));
            Assert.That(checkout.Text("persistCredentials"), Is.EqualTo("false"));
            Assert.That(job.Text("timeoutInMinutes"), Is.Not.Null);
        }

        Assert.That(((WorkflowList)jobs[4]["dependsOn"]!).Items.Cast<WorkflowScalar>().Select(s => s.Value), Is.EqualTo(jobs.Take(4).Select(j => j.Text("job"))));
        Assert.That(((WorkflowMap)jobs[2]["pool"]!).Text("name"), Is.EqualTo("linux"), "a self-hosted builder runs in its agent pool");
        Assert.That(jobs[3].Text("container"), Is.EqualTo(PinnedReferences.DotnetSdkImage));
    }

}
