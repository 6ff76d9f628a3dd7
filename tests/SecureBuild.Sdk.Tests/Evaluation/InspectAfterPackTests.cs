namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// How -p:SecureBuildInspect=true hooks into pack, by evaluation: the target runs after Pack, only when asked, and
/// passes the attestations folder, the policy and the mode to the task. The build itself is exercised end to end in
/// SecureBuild.Inspection.Tests (SdkBuiltPackageTests).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class InspectAfterPackTests
{
    [Test]
    public void The_inspection_target_runs_after_pack_and_only_when_SecureBuildInspect_is_true()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var target = evaluation.Project.Targets["SecureBuildInspectPackage"];

        Assert.That(target.AfterTargets, Is.EqualTo("Pack"));
        Assert.That(target.Condition, Does.Contain("'$(SecureBuildInspect)' == 'true'"));
        Assert.That(evaluation.Property("SecureBuildInspect"), Is.EqualTo("false"), "inspection is opt-in");
        Assert.That(evaluation.Property("SecureBuildInspectPolicy"), Is.Empty, "no policy file: the built-in policy");
    }

    [Test]
    public void The_task_gets_the_policy_the_mode_and_the_project_settings_item_for_the_attestations_folder_and_the_signing_key()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        foreach (var name in new[] { "SecureBuildInspectPackage", "SecureBuildInspectPublish" })
        {
            var target = evaluation.Project.Targets[name];
            var task = target.Tasks.Single(t => t.Name == "InspectPackage");

            Assert.That(target.DependsOnTargets, Does.Contain("_SecureBuildResolveSettings"), name);
            Assert.That(task.Parameters["Settings"], Is.EqualTo("@(_SecureBuildSettings)"), name);
            Assert.That(task.Parameters["Policy"], Is.EqualTo("$(SecureBuildInspectPolicy)"), name);
            Assert.That(task.Parameters["WarnOnly"], Is.EqualTo("$(SecureBuildInspectWarnOnly)"), name);
            // The attestations folder, the signing key and the policy's base folder come from the item (ResolvedSettingsTests pins its metadata).
            Assert.That(task.Parameters.Keys, Has.None.AnyOf("LinkDirectory", "SigningKey", "PolicyBaseDirectory"), name);
        }
        Assert.That(evaluation.Project.Targets["SecureBuildInspectPackage"].Tasks.Single(t => t.Name == "InspectPackage").Parameters["Packages"], Is.EqualTo("@(NuGetPackOutput)"));
    }

    [Test]
    public void The_task_is_declared_in_process_and_for_the_task_host()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var declared = evaluation.Project.Imports.SelectMany(i => i.ImportedProject.UsingTasks)
            .Where(u => u.TaskName == "SecureBuild.Tasks.InspectPackage")
            .ToDictionary(u => u.TaskFactory, u => u.Condition);

        Assert.That(declared.Keys, Is.EquivalentTo(new[] { "", "TaskHostFactory" }));
        Assert.That(declared[""], Is.EqualTo("'$(_SecureBuildTaskHost)' != 'true'"));
        Assert.That(declared["TaskHostFactory"], Is.EqualTo("'$(_SecureBuildTaskHost)' == 'true'"));
    }
}
