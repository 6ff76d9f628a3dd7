namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// How SecureBuildBaseImagePolicy hooks into a container publish, by evaluation: the check runs right after the .NET
/// SDK's ComputeContainerBaseImage (which PublishContainer depends on, so before any image is built), only with a
/// policy, and gets the base image the SDK resolved. The task itself runs against a real registry in
/// SecureBuild.Tasks.Tests (VerifyBaseImageTaskTests).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BaseImagePolicyTests
{
    [Test]
    public void The_check_runs_after_the_SDK_resolves_the_base_image_and_only_with_a_policy()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        Assert.That(evaluation.Project.Targets.ContainsKey("ComputeContainerBaseImage"), Is.True, "the .NET SDK's container targets are imported");
        var target = evaluation.Project.Targets["SecureBuildVerifyBaseImage"];
        Assert.That(target.AfterTargets, Is.EqualTo("ComputeContainerBaseImage"));
        Assert.That(target.Condition, Does.Contain("'$(SecureBuildBaseImagePolicy)' != ''"));
        Assert.That(evaluation.Property("SecureBuildBaseImagePolicy"), Is.Empty, "opt-in");
        Assert.That(evaluation.Project.Targets["ComputeContainerConfig"].DependsOnTargets, Does.Contain("ComputeContainerBaseImage"));
    }

    [Test]
    public void The_task_gets_the_policy_the_resolved_base_image_and_the_trusted_root()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var task = evaluation.Project.Targets["SecureBuildVerifyBaseImage"].Tasks.Single(t => t.Name == "VerifyBaseImage");
        Assert.That(task.Parameters["Policy"], Is.EqualTo("$(SecureBuildBaseImagePolicy)"));
        Assert.That(task.Parameters["BaseImage"], Is.EqualTo("$(ContainerBaseImage)"));
        Assert.That(task.Parameters["TrustedRoot"], Is.EqualTo("$(_SecureBuildTrustedRootPath)"));
        Assert.That(task.Parameters["ProjectDirectory"], Is.EqualTo("$(MSBuildProjectDirectory)"));

        var declared = evaluation.Project.Imports.SelectMany(i => i.ImportedProject.UsingTasks)
            .Where(u => u.TaskName == "SecureBuild.Tasks.VerifyBaseImage")
            .ToDictionary(u => u.TaskFactory, u => u.Condition);
        Assert.That(declared.Keys, Is.EquivalentTo(new[] { "", "TaskHostFactory" }));
    }
}
