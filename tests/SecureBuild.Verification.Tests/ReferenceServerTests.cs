using System.Globalization;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// The differential test's forked in-toto-verify (<see cref="ReferenceServer"/>) must decide exactly as a fresh
/// <c>in-toto-verify</c> process: the same exit code and failure kind on the same generated cases, and argparse's exit
/// 2 on wrong arguments. (Not the same message: Python prints sets in an order that differs between two fresh runs.)
/// </summary>
[TestFixture]
[NonParallelizable]
public class ReferenceServerTests
{
    [Test]
    public void A_forked_run_decides_as_a_fresh_in_toto_verify_process()
    {
        Reference.EnsureInstalled();
        var keys = GeneratorKeys.Create();
        string root = TestData.NewTempDir("reference-server-test");
        var verdicts = new HashSet<string>();
        try
        {
            using var server = new ReferenceServer.Pool();
            foreach (int seed in Enumerable.Range(1_000, 12))
            {
                string dir = Path.Combine(root, "case-" + seed.ToString(CultureInfo.InvariantCulture));
                var generated = ChainGenerator.Generate(seed, dir, keys);
                var refKeys = generated.LayoutKeys.Select(k => (Path.Combine("..", k.Path), k.Type)).ToList();
                var fresh = Run(dir, ".fresh", cwd => Reference.Verify(cwd, "../root.layout", refKeys, "../links"));
                var forked = Run(dir, ".forked", cwd => server.Verify(cwd, "../root.layout", refKeys, "../links"));
                verdicts.Add(fresh.ToString());
                Assert.Multiple(() =>
                {
                    string context = $"seed {seed} ({generated})\nfresh: {fresh}\n{fresh.Output}\nforked: {forked}\n{forked.Output}";
                    Assert.That(forked.ExitCode, Is.EqualTo(fresh.ExitCode), context);
                    Assert.That(forked.Kind, Is.EqualTo(fresh.Kind), context);
                });
            }

            var noKeys = Array.Empty<(string, string)>();
            var wrong = server.Verify(root, "root.layout", noKeys, "links");
            var wrongFresh = Reference.Verify(root, "root.layout", noKeys, "links");
            Assert.That(wrongFresh.ExitCode, Is.EqualTo(2), wrongFresh.Output);
            Assert.That(wrong.ExitCode, Is.EqualTo(2), wrong.Output);
            Assert.That(wrong.Output, Does.Contain("in-toto-verify: error:"));
        }
        finally
        {
            TestData.DeleteDirectory(root);
        }

        Assert.That(verdicts, Has.Count.GreaterThanOrEqualTo(3), "the cases must cover passing and several failure kinds: " + string.Join(", ", verdicts));
    }

    /// <summary>Runs <paramref name="verify"/> in the final/ folder of a copy of <paramref name="dir"/> named dir+suffix.</summary>
    private static Verdict Run(string dir, string suffix, Func<string, Verdict> verify)
    {
        string copy = dir + suffix;
        TestData.CopyDirectory(dir, copy);
        string cwd = Path.Combine(copy, "final");
        Directory.CreateDirectory(cwd);
        return verify(cwd);
    }
}
