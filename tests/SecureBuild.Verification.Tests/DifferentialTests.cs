using System.Collections.Concurrent;
using System.Globalization;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Differential test: seeded random supply chains (<see cref="ChainGenerator"/>) written to disk and verified by our
/// LayoutVerifier and by /usr/bin/in-toto-verify (forked from the <see cref="ReferenceServer"/>s of its workers, so Python's
/// start-up and imports are paid once per worker, not per case). Verdicts must be equal, and so must the failure kind when both
/// fail (Python crashes such as KeyError count as FormatError). On a mismatch the seed and the kept case directory
/// are printed; rerun one seed with SECUREBUILD_DIFF_SEED=&lt;seed&gt; (SECUREBUILD_DIFF_CASES sets the count,
/// SECUREBUILD_DIFF_BASE_SEED the first seed).
/// </summary>
[TestFixture]
[NonParallelizable]
public class DifferentialTests
{
    private const int DefaultCases = 200;
    private const int DefaultBaseSeed = 1_000;

    [Test]
    public void Random_supply_chains_get_the_same_verdict_as_in_toto_verify()
    {
        Reference.EnsureInstalled();
        var seeds = Seeds();
        var keys = GeneratorKeys.Create();
        string root = TestData.NewTempDir("differential");
        var mismatches = new ConcurrentBag<string>();
        var verdicts = new ConcurrentDictionary<string, int>();
        int kept = 0;

        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, seed =>
        {
            string dir = Path.Combine(root, "case-" + seed.ToString(CultureInfo.InvariantCulture));
            GeneratedCase generated;
            Both.Outcome outcome;
            try
            {
                generated = ChainGenerator.Generate(seed, dir, keys);
                outcome = Both.Run(dir, generated.LayoutKeys);
            }
            catch (Exception e)
            {
                mismatches.Add($"seed {seed}: the test harness failed: {e}");
                Interlocked.Increment(ref kept);
                return;
            }

            if (Environment.GetEnvironmentVariable("SECUREBUILD_DIFF_VERBOSE") == "1")
            {
                TestContext.Progress.WriteLine($"seed {seed}: {outcome.Ours} | {string.Join("; ", generated.Notes)} | {outcome.Ours.Output.Split('\n')[0]}");
            }

            verdicts.AddOrUpdate(outcome.Reference.Passed ? "pass" : outcome.Reference.NormalizedKind(), 1, (_, n) => n + 1);
            if (!outcome.Agree)
            {
                Interlocked.Increment(ref kept);
                mismatches.Add($"MISMATCH seed {seed}, case dir {dir}\n  {generated}\n  {outcome.ToString().Replace("\n", "\n  ")}");
            }
            else
            {
                TestData.DeleteDirectory(dir);
            }
        });

        string summary = $"{seeds.Count} cases (seeds {seeds.Min()}..{seeds.Max()}): "
            + string.Join(", ", verdicts.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}"));
        TestContext.Out.WriteLine(summary);
        if (kept == 0)
        {
            TestData.DeleteDirectory(root);
        }

        Assert.That(mismatches, Is.Empty, summary + "\n" + string.Join("\n\n", mismatches.OrderBy(m => m)));

        // The generator must exercise both verdicts and several failure kinds to mean anything.
        if (seeds.Count >= 100)
        {
            Assert.That(verdicts.GetValueOrDefault("pass"), Is.GreaterThan(seeds.Count / 10), summary);
            Assert.That(verdicts.Keys.Count(k => k != "pass"), Is.GreaterThanOrEqualTo(5), summary);
        }
    }

    private static List<int> Seeds()
    {
        string? one = Environment.GetEnvironmentVariable("SECUREBUILD_DIFF_SEED");
        if (!string.IsNullOrEmpty(one))
        {
            return new List<int> { int.Parse(one, CultureInfo.InvariantCulture) };
        }

        int count = int.TryParse(Environment.GetEnvironmentVariable("SECUREBUILD_DIFF_CASES"), out int c) && c > 0 ? c : DefaultCases;
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("SECUREBUILD_DIFF_BASE_SEED"), out int b) ? b : DefaultBaseSeed;
        return Enumerable.Range(baseSeed, count).ToList();
    }
}
