namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// The lock checks before restore (SecureBuildVerifyLockBeforeRestore, once per target framework) and DownloadFile's
/// registration (_SecureBuildRegisterLockSettings, once per project instance) call no task when no lock can matter: no
/// securebuild.lock.json in the project's folder or above, none named, required or being written. Run in-process
/// from the source tree, where the task assembly does not exist: a target that called its task would fail.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LockSkipTests
{
    private static readonly string[] LockTargets = { "SecureBuildVerifyLockBeforeRestore", "_SecureBuildRegisterLockSettings" };

    /// <summary>Whether a securebuild.lock.json lies in <paramref name="directory"/> or a folder above it (as MSBuild's GetDirectoryNameOfFileAbove looks).</summary>
    private static bool LockAbove(string directory)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "securebuild.lock.json")))
            {
                return true;
            }
        }
        return false;
    }

    [Test]
    public void Without_a_lock_the_lock_targets_call_no_task()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var project = Path.Combine(evaluation.Directory, "App");
        Assume.That(LockAbove(project), Is.False, "a securebuild.lock.json above the temporary folder");

        Assert.That(evaluation.Property("_SecureBuildLockMayExist"), Is.Empty);
        Assert.That(evaluation.Property("_SecureBuildLockActive"), Is.EqualTo("true"), "the lock is active: only the missing lock skips the tasks");
        evaluation.Run(LockTargets);
    }

    [Test]
    public void A_lock_in_a_folder_above_the_project_makes_the_checks_run()
    {
        using var evaluation = SdkEvaluation.EvaluateXml(
            $"""
            <Project>
              <Import Project="{SdkEvaluation.SdkFolder}/Sdk.props" />
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <Import Project="{SdkEvaluation.SdkFolder}/Sdk.targets" />
            </Project>
            """,
            files: new Dictionary<string, string> { ["securebuild.lock.json"] = "{}" });

        Assert.That(evaluation.Property("_SecureBuildLockMayExist"), Is.EqualTo("true"));
    }

    [TestCase("SecureBuildLockUpdate", "true")]
    [TestCase("SecureBuildLockMode", "strict")]
    [TestCase("SecureBuildLockFile", "../locks/securebuild.lock.json")]
    [TestCase("SecureBuildRootDir", "..")]
    public void A_lock_being_written_required_named_or_a_root_given_makes_the_checks_run(string property, string value)
    {
        using var evaluation = SdkEvaluation.Evaluate(globalProperties: new Dictionary<string, string> { [property] = value });

        Assert.That(evaluation.Property("_SecureBuildLockMayExist"), Is.EqualTo("true"));
    }
}
