using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// `securebuild pipeline check` on Tekton files: a clean Task and Pipeline pass, each rule (SB5520-SB5525) fires alone
/// on a file broken in exactly that way and names the place, inline specs of PipelineRuns are checked too, the generated
/// Tekton file passes every rule (a tekton.dev document without a spec: WorkflowCheckerTests, SB5508).
/// </summary>
public sealed class TektonCheckerTests
{
    private const string Image = "mcr.microsoft.com/dotnet/sdk@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private const string Clean = $$"""
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  results:
    - name: CHAINS-GIT_URL
      type: string
    - name: CHAINS-GIT_COMMIT
      type: string
    - name: pkg-ARTIFACT_OUTPUTS
      type: object
      properties:
        uri:
          type: string
        digest:
          type: string
  stepTemplate:
    securityContext:
      runAsNonRoot: true
      runAsUser: 1654
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
  steps:
    - name: build
      image: {{Image}}
      script: |
        dotnet pack -c Release -o /tmp/out
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: ci
spec:
  results:
    - name: pkg-ARTIFACT_OUTPUTS
      type: object
      value: $(tasks.build.results.pkg-ARTIFACT_OUTPUTS[*])
  tasks:
    - name: build
      taskRef:
        name: build

""";

    public static IEnumerable<TestCaseData> Rules()
    {
        TestCaseData Case(string code, string name, string from, string to, string where) =>
            new TestCaseData(code, from, to, where).SetName($"{code} {name}");
        yield return Case("SB5520", "an ARTIFACT_OUTPUTS result of the default string type", "    - name: pkg-ARTIFACT_OUTPUTS\n      type: object\n      properties:",
            "    - name: pkg-ARTIFACT_OUTPUTS\n      properties:", "Task/build.spec.results[2]");
        yield return Case("SB5520", "an ARTIFACT_OUTPUTS object without digest", "        digest:\n          type: string\n", "        sha:\n          type: string\n", "Task/build.spec.results[2]");
        yield return Case("SB5520", "a hint spelled in lower case", "    - name: CHAINS-GIT_COMMIT\n      type: string\n",
            "    - name: CHAINS-GIT_COMMIT\n      type: string\n    - name: pkg-artifact_uri\n      type: string\n", "Task/build.spec.results[2]");
        yield return Case("SB5520", "an ARTIFACT_URI without its ARTIFACT_DIGEST", "    - name: CHAINS-GIT_COMMIT\n      type: string\n",
            "    - name: CHAINS-GIT_COMMIT\n      type: string\n    - name: nupkg-ARTIFACT_URI\n      type: string\n", "Task/build.spec.results[2]");
        yield return Case("SB5520", "CHAINS-GIT_URL without CHAINS-GIT_COMMIT", "    - name: CHAINS-GIT_COMMIT\n      type: string\n", "", "Task/build.spec.results[0]");
        yield return Case("SB5520", "an IMAGE_DIGEST of type array", "    - name: CHAINS-GIT_COMMIT\n      type: string\n",
            "    - name: CHAINS-GIT_COMMIT\n      type: string\n    - name: IMAGE_URL\n      type: string\n    - name: IMAGE_DIGEST\n      type: array\n", "Task/build.spec.results[3]");
        yield return Case("SB5521", "a build Task without an output hint", "    - name: pkg-ARTIFACT_OUTPUTS\n      type: object\n      properties:\n        uri:\n          type: string\n        digest:\n          type: string\n",
            "", "Task/build.spec");
        yield return Case("SB5521", "a Pipeline that does not surface the hint", "  results:\n    - name: pkg-ARTIFACT_OUTPUTS\n      type: object\n      value: $(tasks.build.results.pkg-ARTIFACT_OUTPUTS[*])\n",
            "", "Pipeline/ci.spec");
        yield return Case("SB5522", "an image by tag", Image, "mcr.microsoft.com/dotnet/sdk:10.0", "Task/build.spec.steps[0]");
        yield return Case("SB5523", "no runAsNonRoot and no user", "      runAsNonRoot: true\n      runAsUser: 1654\n", "", "Task/build.spec.steps[0]");
        yield return Case("SB5523", "a step running as uid 0", "      script: |\n", "      securityContext:\n        runAsUser: 0\n      script: |\n", "Task/build.spec.steps[0]");
        yield return Case("SB5524", "a writable root file system", "      readOnlyRootFilesystem: true\n", "      readOnlyRootFilesystem: false\n", "Task/build.spec.steps[0]");
        yield return Case("SB5525", "privilege escalation allowed by default", "      allowPrivilegeEscalation: false\n", "", "Task/build.spec.steps[0]");
        yield return Case("SB5525", "a privileged step", "      script: |\n", "      securityContext:\n        privileged: true\n      script: |\n", "Task/build.spec.steps[0]");
    }

    [Test]
    public void A_Tekton_file_that_follows_every_rule_passes()
    {
        var (exit, stdout, stderr) = Check(Clean);
        Assert.That(exit, Is.EqualTo(0), stdout + stderr);
        Assert.That(stdout, Does.EndWith(": OK\n").Or.EndWith(": OK\r\n"));
    }

    [TestCaseSource(nameof(Rules))]
    public void Each_rule_fires_alone_on_a_file_broken_that_way(string code, string from, string to, string where)
    {
        Assert.That(Clean, Does.Contain(from), "the mutation must apply");
        var broken = Clean.Replace(from, to);
        GeneratedYaml.AssertOnlyRule(TektonChecker.Check(GeneratedYaml.ParseAll(broken)), broken, code, where);
    }

    [Test]
    public void The_inline_specs_of_a_PipelineRun_are_checked()
    {
        var run = $$"""
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  generateName: ci-
spec:
  pipelineSpec:
    tasks:
      - name: build
        taskSpec:
          steps:
            - name: build
              image: {{Image}}
              script: dotnet build
              securityContext:
                runAsNonRoot: true
                readOnlyRootFilesystem: true
                allowPrivilegeEscalation: false
            - name: lint
              image: alpine:3.20
              securityContext:
                runAsNonRoot: true
                readOnlyRootFilesystem: true
                allowPrivilegeEscalation: false

""";
        var findings = TektonChecker.Check(GeneratedYaml.ParseAll(run));
        Assert.That(findings.Select(f => (f.Code, f.Where)), Is.EquivalentTo(new[]
        {
            ("SB5522", "PipelineRun/ci-.spec.pipelineSpec.tasks[0].taskSpec.steps[1]"),
            ("SB5521", "PipelineRun/ci-.spec.pipelineSpec"),
        }), string.Join("\n", findings.Select(f => f.Format("run.yaml"))));
    }

    [TestCase(3, "lists only 2: it can never pass")]
    [TestCase(0, "asks no builder to agree")]
    public void A_compare_threshold_the_builders_cannot_meet_is_SB5526(int k, string message)
    {
        var generated = TektonPipeline.Generate(GeneratedPipelineOracleTests.Make(new[] { "ubuntu-24.04", "ubuntu-22.04" }, 2));
        Assert.That(generated, Does.Contain("        - name: threshold\n          value: \"2\"\n"));
        var broken = generated.Replace("        - name: threshold\n          value: \"2\"\n", $"        - name: threshold\n          value: \"{k}\"\n");
        GeneratedYaml.AssertOnlyRule(TektonChecker.Check(GeneratedYaml.ParseAll(broken)), broken, "SB5526", "Pipeline/securebuild.spec.tasks[2]");
        Assert.That(GeneratedYaml.Check(broken).Out, Does.Contain(message));
        var atRunTime = generated.Replace("          value: \"2\"\n", "          value: $(params.threshold)\n");
        Assert.That(TektonChecker.Check(GeneratedYaml.ParseAll(atRunTime)), Is.Empty, "a value given at run time is not judged");
    }

    [TestCaseSource(typeof(GeneratedPipelineOracleTests), nameof(GeneratedPipelineOracleTests.Settings))]
    public void The_generated_Tekton_file_passes_every_rule(string[] builders, int k)
    {
        var text = TektonPipeline.Generate(GeneratedPipelineOracleTests.Make(builders, k));
        var findings = TektonChecker.Check(GeneratedYaml.ParseAll(text));
        Assert.That(findings, Is.Empty, string.Join("\n", findings.Select(f => f.Format("securebuild.yaml"))));
        var (exit, stdout, _) = Check(text);
        Assert.That(exit, Is.EqualTo(0), stdout);
    }

    [Test]
    public void Other_Kubernetes_documents_beside_the_Tekton_ones_are_left_alone()
    {
        var (exit, stdout, stderr) = Check("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  image: alpine:3.20\n---\n" + Clean);
        Assert.That(exit, Is.EqualTo(0), stdout + stderr);
    }

    private static (int Exit, string Out, string Err) Check(string text) => GeneratedYaml.Check(text);
}
