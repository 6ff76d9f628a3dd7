namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// SB2501/SB2502, what cannot be made deterministic, said once per compilation by _SecureBuildCheckDeterminism (run
/// in-process); a build with nothing to say does not run the target at all (its condition is the warnings' own).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class DeterminismWarningTests
{
    private const string Target = "_SecureBuildCheckDeterminism";

    /// <summary>What running the target alone logs for a project evaluated with <paramref name="globalProperties"/>.</summary>
    private static string Warnings(IDictionary<string, string> globalProperties)
    {
        using var evaluation = SdkEvaluation.Evaluate(globalProperties: globalProperties);
        evaluation.Run(out var log, Target);
        return log;
    }

    [Test]
    public void A_deterministic_debug_build_says_nothing()
    {
        var log = Warnings(new Dictionary<string, string>());
        Assert.That(log, Does.Not.Contain("SB2501").And.Not.Contain("SB2502"));
    }

    [Test]
    public void SB2501_when_the_compiler_is_not_deterministic()
    {
        var log = Warnings(new Dictionary<string, string> { ["Deterministic"] = "false" });
        Assert.That(log, Does.Contain("SB2501"));
        Assert.That(log, Does.Not.Contain("SB2502"));
    }

    [Test]
    public void SB2502_when_a_release_build_keeps_absolute_source_paths()
    {
        var log = Warnings(new Dictionary<string, string> { ["Configuration"] = "Release", ["ContinuousIntegrationBuild"] = "false" });
        Assert.That(log, Does.Contain("SB2502"));
        Assert.That(log, Does.Not.Contain("SB2501"));
    }

    [Test]
    public void Nothing_when_determinism_is_turned_off()
    {
        var log = Warnings(new Dictionary<string, string> { ["SecureBuildDeterministic"] = "false", ["Deterministic"] = "false" });
        Assert.That(log, Does.Not.Contain("SB2501").And.Not.Contain("SB2502"));
    }
}
