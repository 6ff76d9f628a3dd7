using Microsoft.Build.Framework;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// No exception leaves a SecureBuild task: an unexpected one is error SB1900 with its cause on one line (MSBuild
/// would otherwise show MSB4018 and a stack trace), and known bad inputs get their own code.
/// </summary>
public sealed class FailClosedTaskTests
{
    private sealed class ThrowingTask : CodedTask
    {
        protected override bool ExecuteTask() => throw new InvalidCastException("Unable to cast object of type 'X' to type 'Y'.");
    }

    [Test]
    public void An_unexpected_exception_is_SB1900_with_its_cause_and_the_stack_trace_only_at_low_importance()
    {
        var engine = new FakeBuildEngine();
        var task = new ThrowingTask { BuildEngine = engine };

        Assert.That(task.Execute(), Is.False);

        var error = engine.Errors.Single();
        Assert.That(error.Code, Is.EqualTo("SB1900"));
        Assert.That(error.Message, Does.Contain("ThrowingTask stopped on an internal error: InvalidCastException: Unable to cast object of type 'X' to type 'Y'."));
        Assert.That(error.Message, Does.Contain("report it"));
        if (Environment.GetEnvironmentVariable("SECUREBUILD_DEBUG") is null)
        {
            Assert.That(error.Message, Does.Not.Contain(" at "), "no stack trace in the error");
            Assert.That(engine.Messages.Any(m => m.Importance == MessageImportance.Low && m.Message!.Contains(nameof(ThrowingTask) + ".ExecuteTask")), Is.True, "the stack trace is logged at diagnostic verbosity");
        }
    }

    [TestCase("123456789012345678901234567890")]
    [TestCase("-99999999999999999999")]
    [TestCase("1e400")]
    public void A_lock_whose_version_is_not_a_small_integer_is_SB1400(string version)
    {
        using var dir = new TempDirectory();
        var project = dir.Write("repo/App/App.csproj", "<Project />");
        Directory.CreateDirectory(dir.Path("repo/.git"));
        var lockFile = dir.Write("repo/securebuild.lock.json", "{\"digest\": \"sha256:00\", \"version\": " + version + "}\n");
        var engine = new FakeBuildEngine();
        var task = new VerifyLockBeforeRestore { BuildEngine = engine, ProjectFile = project, LockFile = lockFile, Mode = "strict" };

        Assert.That(task.Execute(), Is.False, engine.Log);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB1400" }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("$.version"));
    }
}
