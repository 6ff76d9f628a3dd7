using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;
using SecureBuild.Testing.Fuzz;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Bad input never passes and never crashes: malformed, truncated and mutated layouts and links, wrong types,
/// BOMs, duplicate keys, NaN, deep nesting, oversized files. Inspections are replaced by a recorded outcome of the
/// real one so that thousands of runs stay fast.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public class ParsingFuzzTests
{
    private static readonly Lazy<InspectionOutcome> BaselineInspection = new(RecordBaselineInspection);

    /// <summary>The baseline's inspection outcome, recorded once by really running it.</summary>
    private static InspectionOutcome RecordBaselineInspection()
    {
        string dir = TestData.NewTempDir("inspection");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            var outcome = new ProcessInspectionRunner().Run(new InspectionRequest("unzip-package",
                new[] { "python3", "-m", "zipfile", "-e", "dist/Hello.1.0.0.nupkg", "unpacked" }, Path.Combine(dir, "final"), TimeSpan.FromSeconds(30)));
            Assert.That(outcome.ReturnValue, Is.EqualTo(0));
            return outcome;
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    private sealed class RecordedRunner : IInspectionRunner
    {
        public InspectionOutcome Run(InspectionRequest request) => BaselineInspection.Value;
    }

    private static readonly DateTimeOffset Now = Ours.PinnedNow;

    /// <summary>Verifies the baseline with one file replaced by <paramref name="bytes"/>.</summary>
    private static VerificationResult VerifyWith(string file, byte[] bytes, Action<LayoutVerifierOptions>? configure = null)
    {
        string dir = TestData.NewTempDir("fuzz");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            File.WriteAllBytes(Path.Combine(dir, file), bytes);
            return VerifyDir(dir, configure);
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    private static VerificationResult VerifyDir(string dir, Action<LayoutVerifierOptions>? configure = null, string keyFile = "owner.pub")
    {
        var options = new LayoutVerifierOptions
        {
            LinkDirectory = Path.Combine(dir, "links"),
            WorkingDirectory = Path.Combine(dir, "final"),
            InspectionRunner = new RecordedRunner(),
            PersistInspectionLinks = false,
            Clock = () => Now,
        };
        configure?.Invoke(options);
        var key = PublicKey.Load(Path.Combine(dir, keyFile));
        // Verify(byte[]) must never throw; Verify(path) reads the same way the CLI does.
        return new LayoutVerifier(options).Verify(Path.Combine(dir, "root.layout"), new[] { key });
    }

    private static byte[] Original(string file) => File.ReadAllBytes(Path.Combine(TestData.Case("pass-baseline"), file));

    [Test]
    public void Baseline_passes_with_the_recorded_inspection()
    {
        string dir = TestData.NewTempDir("fuzz");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            var result = VerifyDir(dir);
            Assert.That(result.Passed, Is.True, Ours.Describe(result));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    public static IEnumerable<TestCaseData> MalformedDocuments()
    {
        string[] files = { "root.layout", "links/pack.c0d891af.link" };
        var cases = new (string Name, Func<string, string> Edit)[]
        {
            ("empty", _ => ""),
            ("null", _ => "null"),
            ("array", _ => "[]"),
            ("empty-object", _ => "{}"),
            ("signed-is-a-list", _ => "{\"signatures\": [], \"signed\": []}"),
            ("signed-type-unknown", t => t.Replace("\"_type\": \"link\"", "\"_type\": \"step\"").Replace("\"_type\": \"layout\"", "\"_type\": \"step\"")),
            ("signed-type-missing", t => t.Replace("\"_type\": \"link\",", "").Replace("\"_type\": \"layout\",", "")),
            ("signatures-not-a-list", t => t.Replace("\"signatures\": [", "\"signatures\": {\"x\": [").Replace("\n ],\n \"signed\"", "\n ]},\n \"signed\"")),
            ("sig-not-hex", t => ReplaceFirstSig(t, "zz")),
            ("keyid-not-hex", t => t.Replace("\"keyid\": \"", "\"keyid\": \"xyz")),
            ("nan", t => t.Replace("\"readme\": \"", "\"readme\": NaN, \"r\": \"").Replace("\"return-value\": 0", "\"return-value\": NaN")),
            ("float", t => t.Replace("\"threshold\": 1", "\"threshold\": 1.0").Replace("\"return-value\": 0", "\"return-value\": 0.5")),
            ("duplicate-keys", t => t.Replace("\"signed\": {", "\"signed\": {\"_type\": \"x\",")),
            ("lone-surrogate", t => t.Replace("\"readme\": \"", "\"readme\": \"\\ud800").Replace("\"stdout\": \"\"", "\"stdout\": \"\\ud800\"")),
            ("invalid-escape", t => t.Replace("\"readme\": \"", "\"readme\": \"\\q").Replace("\"stdout\": \"\"", "\"stdout\": \"\\q\"")),
            ("trailing-garbage", t => t + "}"),
            ("materials-list", t => t.Replace("\"materials\": {", "\"materials\": [{").Replace("\n  },\n  \"name\"", "\n  }],\n  \"name\"")),
            ("hash-not-hex", t => t.Replace("\"sha256\": \"", "\"sha256\": \"g")),
            ("hash-number", t => ReplaceFirstHash(t)),
            ("threshold-string", t => t.Replace("\"threshold\": 1", "\"threshold\": \"1\"")),
            ("threshold-bool", t => t.Replace("\"threshold\": 1", "\"threshold\": true")),
            ("rule-unknown", t => t.Replace("\"DISALLOW\"", "\"FORBID\"")),
            ("rule-too-long", t => t.Replace("\"DISALLOW\",", "\"DISALLOW\", \"x\",")),
            ("rule-not-strings", t => t.Replace("\"DISALLOW\",", "\"DISALLOW\", 1, ")),
            ("match-without-from", t => t.Replace("\"FROM\"", "\"OF\"")),
            ("match-bad-type", t => t.Replace("\"MATERIALS\"", "\"ARTIFACTS\"")),
            ("steps-object", t => t.Replace("\"steps\": [", "\"steps\": {\"a\": [").Replace("\n  ]\n }\n}", "\n  ]}\n }\n}")),
            ("expires-offset", t => t.Replace("T00:00:00Z", "T00:00:00+00:00")),
            ("expires-fraction", t => t.Replace("T00:00:00Z", "T00:00:00.5Z")),
            ("expires-bogus-date", t => t.Replace("2036-01-01T", "2036-02-30T")),
            ("private-key-in-layout", t => t.Replace("\"public\": \"", "\"private\": \"abcd\", \"public\": \"")),
            ("deep-nesting", t => t.Replace("\"environment\": {}", "\"environment\": " + new string('[', 5000) + new string(']', 5000)).Replace("\"readme\": \"", "\"readme\": " + new string('[', 5000) + new string(']', 5000) + ", \"r\": \"")),
            ("step-name-number", t => t.Replace("\"name\": \"restore\"", "\"name\": 5")),
            ("duplicate-step-name", t => t.Replace("\"name\": \"pack\"", "\"name\": \"build\"")),
            ("huge-number", t => t.Replace("\"threshold\": 1", "\"threshold\": 123456789012345678901234567890").Replace("\"return-value\": 0", "\"return-value\": 1e999")),
        };
        foreach (string file in files)
        {
            string original = Encoding.UTF8.GetString(Original(file));
            foreach (var (name, edit) in cases)
            {
                if (edit(original) == original)
                {
                    continue; // does not apply to this kind of file
                }

                yield return new TestCaseData(file, name, edit).SetName($"Malformed_{(file.EndsWith(".link") ? "link" : "layout")}_{name}");
            }
        }
    }

    private static string ReplaceFirstSig(string text, string sig)
    {
        int i = text.IndexOf("\"sig\": \"", StringComparison.Ordinal);
        int end = text.IndexOf('"', i + 8);
        return text.Substring(0, i + 8) + sig + text.Substring(end);
    }

    private static string ReplaceFirstHash(string text)
    {
        int i = text.IndexOf("\"sha256\": \"", StringComparison.Ordinal);
        if (i < 0)
        {
            return text.Replace("\"threshold\": 1", "\"threshold\": []");
        }

        int end = text.IndexOf('"', i + 11);
        return text.Substring(0, i + 10) + "12345" + text.Substring(end + 1);
    }

    [TestCaseSource(nameof(MalformedDocuments))]
    public void Malformed_input_fails_without_crashing(string file, string name, Func<string, string> edit)
    {
        string original = Encoding.UTF8.GetString(Original(file));
        string edited = edit(original);
        Assert.That(edited, Is.Not.EqualTo(original), $"{name} must change {file}");

        var result = VerifyWith(file, Encoding.UTF8.GetBytes(edited));
        Assert.That(result.Passed, Is.False, $"{name} on {file} passed");
        Assert.That(result.Failures.Single().Message, Is.Not.Empty);
        Assert.That(result.Failures.Single().Message, Does.Not.StartWith("Verification could not be completed"), "an unexpected exception was caught");
    }

    [Test]
    public void Bom_invalid_utf8_and_every_truncation_fail([Values("root.layout", "links/build.c0d891af.link")] string file)
    {
        var bytes = Original(file);
        var failures = new List<string>();
        void Expect(string what, byte[] data)
        {
            var result = VerifyWith(file, data);
            if (result.Passed)
            {
                failures.Add($"{what} passed");
            }
            else if (result.Failures[0].Message.StartsWith("Verification could not be completed", StringComparison.Ordinal))
            {
                failures.Add($"{what}: {result.Failures[0].Message}");
            }
        }

        Expect("BOM", new byte[] { 0xEF, 0xBB, 0xBF }.Concat(bytes).ToArray());
        Expect("invalid UTF-8", bytes.Take(40).Concat(new byte[] { 0xC3, 0x28 }).Concat(bytes.Skip(40)).ToArray());
        Expect("UTF-16", Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(bytes)));
        for (int cut = 0; cut < bytes.Length - 2; cut += Math.Max(1, bytes.Length / 60))
        {
            Expect($"truncated at {cut}", bytes.Take(cut).ToArray());
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    /// <summary>
    /// Seeded random mutations (byte flips, deletions, insertions, duplications) of the layout and of links. A
    /// mutation may only pass when it left the JSON meaning unchanged, or when in-toto-verify also passes it (for
    /// example a renamed field that the reference drops and then re-adds with the same default).
    /// </summary>
    [Test]
    public void Random_mutations_never_crash_and_only_pass_when_the_reference_does([Values(1, 2)] int seed)
    {
        var rng = new Random(seed * 7919);
        string[] files = { "root.layout", "links/restore.8fa97c41.link", "links/build.c0d891af.link", "links/pack.c0d891af.link" };
        var problems = new List<string>();
        int passes = 0;
        for (int i = 0; i < 150; i++)
        {
            string file = files[rng.Next(files.Length)];
            var original = Original(file);
            var mutated = Mutator.Mutate(original, rng, Mutator.Json);
            var result = VerifyWith(file, mutated);
            if (!result.Passed && result.Failures[0].Message.StartsWith("Verification could not be completed", StringComparison.Ordinal))
            {
                problems.Add($"mutation {i} of {file} crashed: {result.Failures[0].Message}");
                continue;
            }

            if (!result.Passed)
            {
                continue;
            }

            passes++;
            if (SameJson(original, mutated))
            {
                continue;
            }

            // Passed although the JSON changed: the reference must agree.
            string dir = TestData.NewTempDir("mutation");
            try
            {
                TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
                File.WriteAllBytes(Path.Combine(dir, file), mutated);
                var reference = Reference.Verify(Path.Combine(dir, "final"), "../root.layout", new[] { ("../owner.pub", "rsa") }, "../links");
                if (!reference.Passed)
                {
                    problems.Add($"mutation {i} of {file} passed here but the reference says {reference}: {Encoding.UTF8.GetString(mutated)}");
                }
            }
            finally
            {
                TestData.DeleteDirectory(dir);
            }
        }

        TestContext.Out.WriteLine($"{passes} of 150 mutations passed (semantically neutral)");
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static bool SameJson(byte[] a, byte[] b)
    {
        try
        {
            return JsonItem.DeepEquals(JsonParser.Parse(a), JsonParser.Parse(b));
        }
        catch (JsonFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// `securebuild verify` on mutated layouts, links and layout keys (PEM): every run ends in exit 0, 1 or 2 without a
    /// stack trace or an internal error (SB3900), and exit 0 only when the mutation left the meaning unchanged.
    /// </summary>
    [Test]
    [NonParallelizable] // the CLI runs inspections in the process's current directory
    public void Cli_verify_on_mutated_inputs_exits_1_or_2_and_never_crashes()
    {
        string dir = TestData.NewTempDir("cli-fuzz");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            var ownerKeyId = PublicKey.Load(Path.Combine(dir, "owner.pub")).KeyId;
            var problems = new List<string>();
            foreach (var (file, dictionary) in new[] { ("root.layout", Mutator.Json), ("links/pack.c0d891af.link", Mutator.Json), ("owner.pub", Mutator.Pem) })
            {
                var original = File.ReadAllBytes(Path.Combine(dir, file));
                problems.AddRange(FuzzRun.Run("cli-verify", new[] { (file, original) }, 40, dictionary, bytes =>
                {
                    File.WriteAllBytes(Path.Combine(dir, file), bytes);
                    try
                    {
                        var (code, _, stderr) = Cli.Run(Path.Combine(dir, "final"), "verify", "-l", "../root.layout", "-k", "../owner.pub", "-d", "../links", "-q");
                        if (stderr.Contains("SB3900", StringComparison.Ordinal) || stderr.Contains("   at ", StringComparison.Ordinal) || code is < 0 or > 2)
                        {
                            return $"exit {code}: {stderr}";
                        }

                        bool unchanged = file == "owner.pub" ? SameKey(bytes, ownerKeyId) : SameJson(original, bytes);
                        return code == 0 && !unchanged ? "a changed input passed" : null;
                    }
                    finally
                    {
                        File.WriteAllBytes(Path.Combine(dir, file), original);
                    }
                }));
            }

            Assert.That(problems, Is.Empty, string.Join("\n", problems));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    private static bool SameKey(byte[] bytes, string keyId)
    {
        try
        {
            return PublicKey.Parse(Encoding.UTF8.GetString(bytes), "key").KeyId == keyId;
        }
        catch (KeyFormatException)
        {
            return false;
        }
    }

    [Test]
    public void Oversized_link_is_refused_before_reading()
    {
        string dir = TestData.NewTempDir("huge");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            string link = Path.Combine(dir, "links", "pack.c0d891af.link");
            using (var fs = new FileStream(link, FileMode.Create))
            {
                fs.SetLength(LayoutVerifierOptions.DefaultMaxMetadataFileBytes + 1); // sparse: nothing is written
            }

            var started = DateTime.UtcNow;
            var result = VerifyDir(dir);
            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.FormatError));
            Assert.That(result.Failures[0].Message, Does.Contain("more than the limit"));
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(10)));

            // A lower limit applies to the layout too.
            var small = VerifyDir(dir, o => o.MaxMetadataFileBytes = 1000);
            Assert.That(small.Failures.Single().Message, Does.Contain("root.layout").And.Contain("more than the limit"));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    public void Link_file_that_is_a_directory_counts_as_missing()
    {
        string dir = TestData.NewTempDir("dirlink");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            string link = Path.Combine(dir, "links", "pack.c0d891af.link");
            File.Delete(link);
            Directory.CreateDirectory(link);
            var result = VerifyDir(dir);
            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.LinkNotFoundError));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    public void No_layout_keys_and_missing_layout_fail_cleanly()
    {
        var none = new LayoutVerifier().Verify(Original("root.layout"), "root.layout", Array.Empty<PublicKey>());
        Assert.That(none.Failures.Single().Kind, Is.EqualTo(FailureKind.SignatureVerificationError));
        Assert.That(none.Failures[0].Message, Does.Contain("requires at least one key"));

        var missing = new LayoutVerifier().Verify("/nonexistent/root.layout", new[] { PublicKey.Load(TestData.PublicKeyFile("owner")) });
        Assert.That(missing.Failures.Single().Kind, Is.EqualTo(FailureKind.FormatError));

        var link = new LayoutVerifier().Verify(Original("links/pack.c0d891af.link"), "pack.link", new[] { PublicKey.Load(TestData.PublicKeyFile("owner")) });
        Assert.That(link.Failures.Single().Message, Does.Contain("is a link, not a layout"));
    }
}
