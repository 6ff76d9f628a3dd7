using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// The generated definitions pass validators that are not ours: GitHub Actions the SchemaStore schema, GitHub's own
/// workflow parser and actionlint; Tekton the v1 CRD schemas with the admission webhook's rules (warnings as errors);
/// Azure Pipelines Microsoft's published schema. Each validator is also shown to reject a broken copy, so a pass means
/// something.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class GeneratedPipelineOracleTests
{
    public static IEnumerable<TestCaseData> Settings()
    {
        yield return new TestCaseData((object)new[] { "ubuntu-24.04", "ubuntu-22.04", "container" }, 2).SetName("defaults: two hosted Ubuntu releases and the SDK image, 2 of 3");
        yield return new TestCaseData((object)new[] { "ubuntu-24.04", "windows-2022", "self-hosted:linux,x64", "container" }, 3).SetName("hosted, Windows, self-hosted and a container, 3 of 4");
        yield return new TestCaseData((object)new[] { "ubuntu-24.04" }, 1).SetName("a single builder, 1 of 1");
    }

    [TestCaseSource(nameof(Settings))]
    public void The_GitHub_workflow_passes_the_schema_GitHubs_parser_and_actionlint(string[] builders, int k)
    {
        var file = Write("securebuild.yml", GitHubWorkflow.Generate(Make(builders, k)));
        var result = PipelineOracles.Validate("github-actions", file, "--actionlint", "--json");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("\"valid\": true").And.Contain("\"warnings\": []"), result.Output);
    }

    [Test]
    public void The_GitHub_validator_rejects_a_workflow_that_lost_a_needed_key()
    {
        var text = GitHubWorkflow.Generate(Make(new[] { "ubuntu-24.04", "ubuntu-22.04" }, 2));
        var broken = Write("broken.yml", text.Replace("    runs-on: ubuntu-24.04\n    timeout-minutes: 15\n    permissions:\n      contents: read\n", "    timeout-minutes: 15\n    permissions:\n      contents: read\n"));
        Assert.That(broken, Does.Not.EqualTo(text));
        var result = PipelineOracles.Validate("github-actions", broken, "--actionlint");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Output, Does.Contain("INVALID").And.Contain("runs-on"), result.Output);
    }

    [TestCaseSource(nameof(Settings))]
    public void The_Tekton_tasks_and_pipeline_pass_the_v1_schemas_and_webhook_rules(string[] builders, int k)
    {
        var file = Write("securebuild.yaml", TektonPipeline.Generate(Make(builders, k)));
        var result = PipelineOracles.Validate("tekton", file, "--warnings-as-errors", "--no-round-trip");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("OK").And.Contain("Task/securebuild-build").And.Contain("Task/securebuild-compare").And.Contain("Pipeline/securebuild"), result.Output);
    }

    [Test]
    public void The_Tekton_validator_rejects_a_result_reference_to_an_undeclared_result()
    {
        var text = TektonPipeline.Generate(Make(new[] { "ubuntu-24.04" }, 1));
        var file = Write("broken.yaml", text.Replace("$(results.outputs-digest.path)", "$(results.outputs-digests.path)"));
        var result = PipelineOracles.Validate("tekton", file);
        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Output, Does.Contain("outputs-digests"), result.Output);
    }

    [TestCaseSource(nameof(Settings))]
    public void The_Azure_pipeline_passes_the_published_schema(string[] builders, int k)
    {
        var file = Write("azure-pipelines.yml", AzurePipeline.Generate(Make(builders, k)));
        var result = PipelineOracles.Validate("azure-pipelines", file);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
    }

    [Test]
    public void The_Azure_validator_rejects_an_unknown_task_input()
    {
        var text = AzurePipeline.Generate(Make(new[] { "ubuntu-24.04" }, 1));
        var file = Write("broken.yml", text.Replace("          useGlobalJson: true\n", "          useGlobalJson: true\n          useGlobalJsn: true\n"));
        var result = PipelineOracles.Validate("azure-pipelines", file);
        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
    }

    internal static PipelineSettings Make(string[] builders, int k) =>
        new() { Builders = builders.Select(PipelineBuilder.Parse).ToList(), Threshold = k, SecureBuildVersion = "0.1.0" };

    // One scratch folder for the fixture, deleted when it ends; each file gets its own subfolder (the tests run in parallel).
    private static readonly Lazy<string> Scratch = new(() => ScratchDirectory.Create("securebuild-pipeline-oracle"));

    [OneTimeTearDown]
    public void DeleteScratch()
    {
        if (Scratch.IsValueCreated)
        {
            ScratchDirectory.TryDelete(Scratch.Value);
        }
    }

    private static string Write(string name, string text)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Scratch.Value, Guid.NewGuid().ToString("N"))).FullName;
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
