using SecureBuild.Cli;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>
/// Corrupted assemblies, PDBs and packages (Fuzz/corpus/diff, regress-* inputs once crashed the differ) never crash
/// the differ: every comparison ends in a report that explains the difference, and `securebuild diff` exits 0, 1 or 2
/// without a stack trace or an internal error.
/// </summary>
public sealed class FuzzTests
{
    private const int Iterations = 150;

    [TestCase("S.dll")]
    [TestCase("S.pdb")]
    [TestCase("S.nupkg")]
    public void Mutated_inputs_always_give_a_report_with_an_explanation(string file)
    {
        var original = FuzzRun.Corpus("diff").Single(c => c.Name == file).Bytes;
        var problems = FuzzRun.Run("diff-report", new[] { (file, original) }, Iterations, Mutator.Binary, mutated =>
        {
            var report = ArtifactDiffer.CompareContents(file, original, mutated);
            return !original.AsSpan().SequenceEqual(mutated) && report.Differences.Count == 0 ? "differs but nothing was reported" : null;
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    /// <summary>Each regress-&lt;what&gt;.&lt;base&gt; input once crashed the differ when compared with &lt;base&gt;.</summary>
    [Test]
    public void Regression_inputs_give_a_report_and_exit_1()
    {
        var corpus = FuzzRun.Corpus("diff").ToDictionary(c => c.Name, c => c.Bytes);
        var regressions = corpus.Keys.Where(n => n.StartsWith("regress-", StringComparison.Ordinal)).ToList();
        Assert.That(regressions, Is.Not.Empty);
        using var dir = new TempDirectory();
        foreach (var name in regressions)
        {
            var baseName = name.Substring(name.IndexOf('.') + 1);
            var report = ArtifactDiffer.CompareContents(baseName, corpus[baseName], corpus[name]);
            Assert.That(report.Differences, Is.Not.Empty, name);
            var stderr = new StringWriter();
            int exit = CliApplication.Run(new[] { "diff", dir.Write("a/" + baseName, corpus[baseName]), dir.Write("b/" + baseName, corpus[name]) }, new StringWriter(), stderr);
            Assert.That(exit, Is.EqualTo(1), $"{name}: {stderr}");
        }
    }

    [TestCase("S.dll")]
    [TestCase("S.pdb")]
    [TestCase("S.nupkg")]
    public void Cli_diff_on_mutated_inputs_exits_0_1_or_2_without_a_stack_trace(string file)
    {
        using var dir = new TempDirectory();
        var original = FuzzRun.Corpus("diff").Single(c => c.Name == file).Bytes;
        var left = dir.Write("a/" + file, original);
        var problems = FuzzRun.Run("diff-cli", new[] { (file, original) }, Iterations / 3, Mutator.Binary, mutated =>
        {
            var right = dir.Write("b/" + file, mutated);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = CliApplication.Run(new[] { "diff", left, right, "--format", "json" }, stdout, stderr);
            return exit is < 0 or > 2 || stderr.ToString().Contains("SB3900", StringComparison.Ordinal) || stderr.ToString().Contains("   at ", StringComparison.Ordinal)
                ? $"exit {exit}: {stderr}"
                : null;
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }
}
