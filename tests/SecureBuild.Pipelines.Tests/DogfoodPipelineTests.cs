using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// Issue #17, dogfooding: this repository's own CI definition (.github/workflows/securebuild.yml) and verification
/// policy (securebuild/policy.json) are the ones `securebuild init --ci github` generates for it, byte for byte, and the
/// workflow passes `pipeline check`. A hand edit, or a generator change without regenerating, fails here (as
/// `init --check` reports drift for a user). init's other edits (global.json's msbuild-sdks pin, Directory.Build.props
/// adoption) are not taken: this repository adopts the SDK from source through build.sh's bootstrap, not from a feed.
/// </summary>
public sealed class DogfoodPipelineTests
{
    [Test]
    public void The_repositorys_workflow_and_policy_are_what_init_generates_for_it()
    {
        var policyPath = RepositoryRoot.Combine(PipelineSettings.PolicyPath);
        var workflowPath = RepositoryRoot.Combine(CiEngines.DefinitionPath(CiEngine.GitHub));
        var policy = VerificationPolicy.Load(policyPath);
        var settings = new PipelineSettings
        {
            Builders = policy.Builders.Select(PipelineBuilder.Parse).ToList(),
            Threshold = policy.Threshold,
            SecureBuildVersion = InitCommand.ToolVersion(),
            Branch = "main",
        };
        settings.Validate();

        Assert.That(File.ReadAllText(workflowPath), Is.EqualTo(RepositoryInitializer.Definition(CiEngine.GitHub, settings)),
            "regenerate with `securebuild init --ci github --no-lock` in a scratch repository and copy .github/workflows/securebuild.yml");
        Assert.That(File.ReadAllBytes(policyPath), Is.EqualTo(VerificationPolicy.For(settings).ToBytes()));
        Assert.That(WorkflowChecker.Check(PipelineCommand.Read(workflowPath)), Is.Empty, "pipeline check finds nothing in it");
    }
}
