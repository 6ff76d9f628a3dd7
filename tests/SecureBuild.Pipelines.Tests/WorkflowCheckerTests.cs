using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// `securebuild pipeline check`: a clean hand-written workflow passes, each hardening rule fires alone on a workflow
/// broken in exactly that way (and names the place), the generated workflows pass every rule, and files that are not
/// workflows are exit 2 with SB5508.
/// </summary>
public sealed class WorkflowCheckerTests
{
    private const string Checkout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";

    /// <summary>A small workflow that follows every rule: build without secrets, publish in a separate job.</summary>
    private const string Clean = $$$"""
name: ci
on:
  push:
  pull_request:
permissions: {}
concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: {{{Checkout}}}
        with:
          persist-credentials: false
      - run: dotnet build -c Release
      - run: echo "$TITLE"
        env:
          TITLE: ${{ github.event.pull_request.title }}
  publish:
    needs: build
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    permissions:
      id-token: write
    steps:
      - run: echo publish
        env:
          KEY: ${{ secrets.NUGET_KEY }}
      - run: cosign sign-blob --yes out.nupkg

""";

    public static IEnumerable<TestCaseData> Rules()
    {
        TestCaseData Case(string code, string name, string from, string to, string where, string from2 = "", string to2 = "") =>
            new TestCaseData(code, from, to, where, from2, to2).SetName($"{code} {name}");
        yield return Case("SB5500", "an action pinned by tag", Checkout, "actions/checkout@v4", "jobs.build.steps[0]");
        yield return Case("SB5500", "a docker image without digest", "      - run: dotnet build -c Release\n", "      - uses: docker://alpine:3.20\n      - run: dotnet build -c Release\n", "jobs.build.steps[1]");
        yield return Case("SB5501", "permissions write-all", "permissions: {}\n", "permissions: write-all\n", "permissions");
        yield return Case("SB5501", "a write scope for every job", "permissions: {}\n", "permissions:\n  packages: write\n", "permissions.packages");
        yield return Case("SB5501", "a job with the default token", "permissions: {}\n", "", "jobs.build",
            "    timeout-minutes: 30\n    permissions:\n      contents: read\n", "    timeout-minutes: 30\n");
        yield return Case("SB5502", "pull_request_target checking out the head", "on:\n  push:\n  pull_request:\n", "on:\n  push:\n  pull_request_target:\n", "jobs.build.steps[0]",
            "          persist-credentials: false\n", "          persist-credentials: false\n          ref: ${{ github.event.pull_request.head.sha }}\n");
        yield return Case("SB5503", "a secret in a build step", "      - run: dotnet build -c Release\n", "      - run: dotnet build -c Release\n        env:\n          TOKEN: ${{ secrets.NUGET_KEY }}\n", "jobs.build.steps[1]");
        yield return Case("SB5503", "a secret for every job", "permissions: {}\n", "permissions: {}\nenv:\n  KEY: ${{ secrets.NUGET_KEY }}\n", "env");
        yield return Case("SB5503", "an OIDC token for the build job", "    permissions:\n      contents: read\n", "    permissions:\n      contents: read\n      id-token: write\n", "jobs.build.permissions");
        yield return Case("SB5504", "a job without timeout", "    timeout-minutes: 30\n", "", "jobs.build");
        yield return Case("SB5505", "no concurrency group", "concurrency:\n  group: ci-${{ github.ref }}\n  cancel-in-progress: true\n", "", "concurrency");
        yield return Case("SB5506", "checkout keeping the token", "        with:\n          persist-credentials: false\n", "", "jobs.build.steps[0]");
        yield return Case("SB5509", "keyless signing without an OIDC token", "    permissions:\n      id-token: write\n", "    permissions:\n      contents: read\n", "jobs.publish.steps[1]");
        yield return Case("SB5509", "actions/attest without an OIDC token", "    permissions:\n      id-token: write\n", "    permissions:\n      contents: read\n", "jobs.publish.steps[1]",
            "      - run: cosign sign-blob --yes out.nupkg\n", "      - uses: actions/attest-build-provenance@e8998f949152b193b063cb0ec769d69d929409be\n        with:\n          subject-path: out.nupkg\n");
        yield return Case("SB5507", "a PR title expanded in a script", "      - run: echo \"$TITLE\"\n", "      - run: echo \"${{ github.event.pull_request.title }}\"\n", "jobs.build.steps[2]");
    }

    [Test]
    public void A_workflow_that_follows_every_rule_passes()
    {
        var (exit, stdout, _) = Check(Clean);
        Assert.That(exit, Is.EqualTo(0), stdout);
        Assert.That(stdout, Does.EndWith(": OK\n").Or.EndWith(": OK\r\n"));
    }

    [TestCaseSource(nameof(Rules))]
    public void Each_rule_fires_alone_on_a_workflow_broken_that_way(string code, string from, string to, string where, string from2, string to2)
    {
        Assert.That(Clean, Does.Contain(from), "the mutation must apply");
        var broken = Clean.Replace(from, to);
        if (from2.Length > 0)
        {
            Assert.That(broken, Does.Contain(from2));
            broken = broken.Replace(from2, to2);
        }

        GeneratedYaml.AssertOnlyRule(WorkflowChecker.Check(GeneratedYaml.Parse(broken)), broken, code, where);
    }

    [Test]
    public void Signing_with_a_stored_key_needs_no_OIDC_token()
    {
        var keyed = Clean.Replace("    permissions:\n      id-token: write\n", "    permissions:\n      contents: read\n")
            .Replace("cosign sign-blob --yes out.nupkg", "cosign sign-blob --key env://COSIGN_KEY --yes out.nupkg");
        Assert.That(keyed, Does.Contain("--key env://"));
        var findings = WorkflowChecker.Check(GeneratedYaml.Parse(keyed));
        Assert.That(findings, Is.Empty, string.Join("\n", findings.Select(f => f.Format("w.yml"))));
    }

    [TestCaseSource(typeof(GeneratedPipelineOracleTests), nameof(GeneratedPipelineOracleTests.Settings))]
    public void The_generated_workflow_passes_every_rule(string[] builders, int k)
    {
        var findings = WorkflowChecker.Check(GeneratedYaml.Parse(GitHubWorkflow.Generate(GeneratedPipelineOracleTests.Make(builders, k))));
        Assert.That(findings, Is.Empty, string.Join("\n", findings.Select(f => f.Format("securebuild.yml"))));
    }

    [TestCase(4, "compare can never pass")]
    [TestCase(0, "below 1")]
    public void A_compare_threshold_the_matrix_cannot_meet_is_SB5510(int k, string message)
    {
        var generated = GitHubWorkflow.Generate(GeneratedPipelineOracleTests.Make(new[] { "ubuntu-24.04", "ubuntu-22.04", "container" }, 2));
        Assert.That(generated, Does.Contain("compare --threshold 2 "));
        var broken = generated.Replace("compare --threshold 2 ", $"compare --threshold {k} ");
        GeneratedYaml.AssertOnlyRule(WorkflowChecker.Check(GeneratedYaml.Parse(broken)), broken, "SB5510", "jobs.compare.steps[4]");
        Assert.That(GeneratedYaml.Check(broken).Out, Does.Contain(message));
    }

    [TestCase("        include:\n", "        builder: [a, b, c]\n        include:\n", "3 builders and an include: not counted")]
    [TestCase("      matrix:\n        include:\n", "      matrix: ${{ fromJSON(needs.plan.outputs.builders) }}\n      x:\n        include:\n", "an expression matrix")]
    [TestCase("    needs: build\n    runs-on: ubuntu-24.04\n    timeout-minutes: 15\n    permissions:\n      contents: read\n", "    runs-on: ubuntu-24.04\n    timeout-minutes: 15\n    permissions:\n      contents: read\n", "no needs")]
    public void A_threshold_is_not_judged_when_the_builders_cannot_be_counted(string from, string to, string why)
    {
        var generated = GitHubWorkflow.Generate(GeneratedPipelineOracleTests.Make(new[] { "ubuntu-24.04", "ubuntu-22.04" }, 2));
        Assert.That(generated, Does.Contain(from), why);
        var edited = generated.Replace(from, to).Replace("compare --threshold 2 ", "compare --threshold 3 ");
        Assert.That(WorkflowChecker.Check(GeneratedYaml.Parse(edited)).Where(f => f.Code == "SB5510"), Is.Empty, why);
        var counted = generated.Replace("compare --threshold 2 ", "compare --threshold 3 ");
        Assert.That(WorkflowChecker.Check(GeneratedYaml.Parse(counted)).Select(f => f.Code), Is.EqualTo(new[] { "SB5510" }), "the same k is judged where the builders can be counted");
    }

    [TestCase("jobs: [\n", "not valid YAML")]
    [TestCase("a: 1\na: 2\n", "Duplicate key")]
    [TestCase("a: &a [*a]\n", "refers to itself")]
    [TestCase("name: x\non: push\n", "not a GitHub Actions workflow")]
    [TestCase("- 1\n", "not a GitHub Actions workflow")]
    [TestCase("a: 1\n---\nb: 2\n", "2 YAML documents")]
    [TestCase("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\n", "no kind or no spec")]
    [TestCase("apiVersion: tekton.dev/v1\nmetadata:\n  name: t\nspec: {}\n", "no kind or no spec")]
    [TestCase("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: tekton.dev/v1\nkind: Task\nspec: []\n", "no kind or no spec")]
    [TestCase("", "0 YAML documents")]
    public void A_file_that_is_no_workflow_nor_Tekton_file_is_exit_2_with_SB5508(string text, string reason)
    {
        var (exit, _, stderr) = Check(text);
        Assert.That(exit, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB5508").And.Contain(reason));
    }

    [Test]
    public void An_alias_bomb_is_refused_without_expanding_it()
    {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i < 10; i++)
        {
            text += $"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n";
        }

        var (exit, _, stderr) = Check(text);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB5508").And.Contain("more than 200000 YAML nodes"));
    }

    [Test]
    public void A_missing_file_is_exit_2_and_the_other_files_are_still_checked()
    {
        var dir = ScratchDirectory.Create("securebuild-pipeline-check");
        try
        {
            var good = Path.Combine(dir, "good.yml");
            File.WriteAllText(good, Clean);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = CliApplication.Run(new[] { "pipeline", "check", Path.Combine(dir, "missing.yml"), good }, stdout, stderr);
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString(), Does.Contain("SB5508").And.Contain("missing.yml"));
            Assert.That(stdout.ToString(), Does.Contain("good.yml: OK"));
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    private static (int Exit, string Out, string Err) Check(string text) => GeneratedYaml.Check(text);
}
