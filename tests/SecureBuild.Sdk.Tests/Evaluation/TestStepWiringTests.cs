namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// How `dotnet test` is hooked, by evaluation: VSTest is SecureBuild's (with the OnError that records a failed run) only in
/// a VSTest test project that records; the trx logger goes into obj/ unless the user gave one; materials are hashed right
/// before vstest.console starts and the step is recorded after VSTest. Real runs: SecureBuild.IntegrationTests (TestStepTests).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class TestStepWiringTests
{
    private const string TestProject = "<IsTestProject>true</IsTestProject>";

    [Test]
    public void In_a_test_project_VSTest_records_the_step_when_a_test_fails()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject);
        var vstest = evaluation.Project.Targets["VSTest"];

        Assert.That(vstest.FullPath, Does.EndWith("SecureBuild.Test.VSTest.targets"));
        Assert.That(vstest.OnErrorChildren.Select(o => o.ExecuteTargets), Is.EqualTo(new[] { "SecureBuildRecordTest" }));
        Assert.That(vstest.DependsOnTargets, Is.EqualTo("ShowInfoMessageIfProjectHasNoIsTestProjectProperty"));
        Assert.That(vstest.Tasks.Where(t => t.Name == "CallTarget").Select(t => t.Parameters["Targets"]), Is.EqualTo(new[] { "_VSTestConsole", "_VSTestMSBuild" }));
        Assert.That(evaluation.Project.Targets["SecureBuildRecordTest"].AfterTargets, Is.EqualTo("VSTest"));
        Assert.That(evaluation.Project.Targets["SecureBuildRecordTestMaterials"].BeforeTargets, Is.EqualTo("_TestRunStart;ShowCallOfVSTestTaskWithParameter"));
        Assert.That(evaluation.Property("SecureBuildRecordTest"), Is.EqualTo("true"));
    }

    [TestCase("", "")]
    [TestCase(TestProject, "<SecureBuildRecordTest>false</SecureBuildRecordTest>")]
    [TestCase(TestProject, "<SecureBuildEnabled>false</SecureBuildEnabled>")]
    [TestCase(TestProject, "<IsTestingPlatformApplication>true</IsTestingPlatformApplication>")]
    public void Elsewhere_VSTest_stays_Microsofts(string testProject, string setting)
    {
        using var evaluation = SdkEvaluation.Evaluate(testProject + setting);

        Assert.That(evaluation.Project.Targets["VSTest"].FullPath, Does.EndWith("Microsoft.TestPlatform.targets"));
    }

    [Test]
    public void Under_Microsoft_Testing_Platform_dotnet_test_warns_that_the_step_is_not_recorded()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject + "<IsTestingPlatformApplication>true</IsTestingPlatformApplication>");
        var target = evaluation.Project.Targets["_SecureBuildWarnTestNotRecorded"];

        Assert.That(target.AfterTargets, Is.EqualTo("_MTPBuild"));
        Assert.That(target.Tasks.Single().Parameters["Code"], Is.EqualTo("SB5464"));
        evaluation.Run(out var log, "_SecureBuildWarnTestNotRecorded");
        Assert.That(log, Does.Contain("SB5464"));
    }

    [Test]
    public void Without_a_logger_the_sdk_adds_a_trx_logger_writing_into_obj()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject);
        var instance = evaluation.Run("_SecureBuildAddTestLogger");

        var expected = Path.Combine(evaluation.Directory, "App", "obj", "Debug", "net10.0", "securebuild", "test.trx");
        Assert.That(instance.GetPropertyValue("VSTestLogger"), Is.EqualTo("trx;LogFileName=" + expected));
        Assert.That(instance.GetPropertyValue("_SecureBuildTestSdkLogger"), Is.EqualTo("true"));
        Assert.That(instance.GetPropertyValue("SecureBuildTestStepName"), Is.EqualTo("test"));
    }

    [Test]
    public void Another_logger_from_the_command_line_is_kept_and_the_trx_logger_added()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject, new Dictionary<string, string> { ["VSTestLogger"] = "console%3Bverbosity=normal" });
        var instance = evaluation.Run("_SecureBuildAddTestLogger");

        Assert.That(instance.GetPropertyValue("VSTestLogger"), Does.StartWith("console;verbosity=normal;trx;LogFileName="));
    }

    [Test]
    public void A_trx_logger_the_user_gave_is_left_alone_and_its_file_looked_for()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject, new Dictionary<string, string> { ["VSTestLogger"] = "trx%3BLogFileName=mine.trx" });
        var instance = evaluation.Run("_SecureBuildAddTestLogger");

        Assert.That(instance.GetPropertyValue("VSTestLogger"), Is.EqualTo("trx;LogFileName=mine.trx"));
        Assert.That(instance.GetPropertyValue("_SecureBuildTestSdkLogger"), Is.EqualTo("false"));
        var resolve = evaluation.Project.Targets["SecureBuildRecordTest"].Tasks.Single(t => t.Name == "ResolveTestResults");
        Assert.That(resolve.Parameters["SdkLogger"], Is.EqualTo("$(_SecureBuildTestSdkLogger)"));
        Assert.That(resolve.Parameters["Loggers"], Is.EqualTo("$(VSTestLogger)"));
        Assert.That(instance.GetPropertyValue("_SecureBuildTestResultsDirectory"), Is.EqualTo(Path.Combine(evaluation.Directory, "App", "TestResults") + Path.DirectorySeparatorChar));
    }

    [Test]
    public void A_multi_targeted_test_project_records_one_step_per_framework()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject + "<TargetFrameworks>net8.0;net10.0</TargetFrameworks>");
        var instance = evaluation.Run("_SecureBuildResolveTestSettings");

        Assert.That(instance.GetPropertyValue("SecureBuildTestStepName"), Is.EqualTo("test-net10.0"));
    }

    [Test]
    public void The_link_records_the_trx_and_the_attestation_is_signed_like_the_links()
    {
        using var evaluation = SdkEvaluation.Evaluate(TestProject);
        var target = evaluation.Project.Targets["SecureBuildRecordTest"];
        var products = target.Tasks.Single(t => t.Name == "RecordStepProducts");
        var attestation = target.Tasks.Single(t => t.Name == "WriteTestResultAttestation");

        Assert.That(products.Parameters["Products"], Is.EqualTo("$(_SecureBuildTestResults)"));
        Assert.That(products.Parameters["MaterialsFile"], Is.EqualTo("$(_SecureBuildTestMaterialsFile)"));
        Assert.That(products.Parameters["WriteProvenance"], Is.EqualTo("false"));
        foreach (var name in new[] { "Settings", "ArtifactRoots", "HashCacheFile", "StepName" })
        {
            Assert.That(attestation.Parameters[name], Is.EqualTo(products.Parameters[name]), name);
        }
        Assert.That(attestation.Parameters["TestAssemblies"], Is.EqualTo("$(TargetPath)"));
    }

    [Test]
    public void The_tasks_are_declared_in_process_and_for_the_task_host()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        foreach (var task in new[] { "SecureBuild.Tasks.ResolveTestResults", "SecureBuild.Tasks.WriteTestResultAttestation" })
        {
            var declared = evaluation.Project.Imports.SelectMany(i => i.ImportedProject.UsingTasks).Where(u => u.TaskName == task).Select(u => u.TaskFactory);
            Assert.That(declared, Is.EquivalentTo(new[] { "", "TaskHostFactory" }), task);
        }
    }
}
