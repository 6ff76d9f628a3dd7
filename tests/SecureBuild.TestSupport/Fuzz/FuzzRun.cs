namespace SecureBuild.Testing.Fuzz;

/// <summary>
/// Runs a bounded fuzz campaign: each corpus input itself (files named regress-* are inputs that once crashed), then
/// <c>iterations</c> seeded mutations of it, through a check that returns null when the outcome was acceptable (the
/// parser's format exception, exit 1 or 2, ...) or what went wrong. Any other exception counts as a crash. Problems are
/// collected, not thrown one by one, and each names the seed, the iteration and the mutated input in base64, ready to
/// be added to the corpus as a regression input.
/// </summary>
public static class FuzzRun
{
    public static IReadOnlyList<string> Run(string campaign, IEnumerable<(string Name, byte[] Bytes)> corpus, int iterations, MutationDictionary dictionary, Func<byte[], string?> check)
    {
        var problems = new List<string>();
        foreach (var (name, original) in corpus)
        {
            if (Check(check, original) is { } own)
            {
                problems.Add($"{campaign}: corpus input {name} itself: {own}");
            }

            int seed = Mutator.StableSeed(campaign + "/" + name);
            var random = new Random(seed);
            for (int i = 0; i < iterations && problems.Count < 10; i++)
            {
                var mutated = Mutator.Mutate(original, random, dictionary);
                if (Check(check, mutated) is { } problem)
                {
                    problems.Add($"{campaign}: {name}, seed {seed}, iteration {i}: {problem}\n  input (base64): {Convert.ToBase64String(mutated)}");
                }
            }
        }

        return problems;
    }

    private static string? Check(Func<byte[], string?> check, byte[] input)
    {
        try
        {
            return check(input);
        }
        catch (Exception e)
        {
            return $"crashed: {e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }
    }

    /// <summary>The files of a corpus folder below the test's output directory (Fuzz/corpus/&lt;kind&gt;).</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> Corpus(string kind)
    {
        var dir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzz", "corpus", kind);
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal).ToList() : new List<string>();
        if (files.Count == 0)
        {
            Assert.Fail($"fuzz corpus {dir} is empty or missing");
        }

        return files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)));
    }
}
