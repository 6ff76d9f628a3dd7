using System.Globalization;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// The verifier reads artifact maps ({"path": {"sha256": "hex"}, ...}) on a fast path: the hex check happens while
/// the value is scanned, the canonical order is detected while the keys are read (maps already in order are copied
/// as they are), and rules look paths up by the hash code their map already has. These tests pin those paths on
/// maps large enough to span several internal chunks, in every spelling that takes a different branch: values
/// that are not hex at any position, keys in and out of canonical order, escaped keys, and MATCH rules with every
/// combination of source and destination prefixes (decided by in-toto-verify too).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public class ArtifactMapParsingTests
{
    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);

    private static string Hash(int i, bool upper = false)
    {
        var sb = new StringBuilder(64);
        uint x = (uint)i * 2654435761u;
        while (sb.Length < 64)
        {
            x = (x * 1103515245u) + 12345u;
            sb.Append(((x >> 16) & 0xFFFF).ToString(upper ? "X4" : "x4", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static JsonMap Map(IEnumerable<(string Path, string Hash)> entries)
    {
        var o = new JsonMap();
        foreach (var (p, h) in entries)
        {
            o[p] = new JsonMap { { "sha256", h } };
        }

        return o;
    }

    private static JsonMap BigMap(int n, Func<int, string>? hash = null) =>
        Map(Enumerable.Range(0, n).Select(i => ($"src/d{i % 7}/f{i:D5}.cs", hash is null ? Hash(i) : hash(i))));

    /// <summary>JSON text with the keys of every object in the order <paramref name="order"/> gives, optionally escaping keys.</summary>
    private static string Spell(JsonItem node, Func<IEnumerable<KeyValuePair<string, JsonItem>>, IEnumerable<KeyValuePair<string, JsonItem>>> order, bool escapeKeys = false)
    {
        var sb = new StringBuilder();
        Write(node, 0);
        return sb.ToString();

        void Write(JsonItem n, int depth)
        {
            switch (n)
            {
                case JsonMap o:
                    sb.Append('{');
                    bool first = true;
                    foreach (var kv in order(o))
                    {
                        sb.Append(first ? "\n" : ",\n").Append(' ', depth + 1);
                        first = false;
                        sb.Append(escapeKeys ? EscapeAll(kv.Key) : new JsonString(kv.Key).ToString()).Append(": ");
                        Write(kv.Value, depth + 1);
                    }

                    sb.Append(first ? "}" : "\n" + new string(' ', depth) + "}");
                    break;
                case JsonList a:
                    sb.Append('[');
                    int i = 0;
                    foreach (var item in a)
                    {
                        sb.Append(i++ == 0 ? "" : ", ");
                        Write(item, depth + 1);
                    }

                    sb.Append(']');
                    break;
                default:
                    sb.Append(n.ToString());
                    break;
            }
        }

        static string EscapeAll(string s) => "\"" + string.Concat(s.Select(c => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture))) + "\"";
    }

    private static IEnumerable<KeyValuePair<string, JsonItem>> AsIs(IEnumerable<KeyValuePair<string, JsonItem>> members) => members;

    private static IEnumerable<KeyValuePair<string, JsonItem>> Reversed(IEnumerable<KeyValuePair<string, JsonItem>> members) => members.Reverse();

    private static IEnumerable<KeyValuePair<string, JsonItem>> Utf16Order(IEnumerable<KeyValuePair<string, JsonItem>> members) =>
        members.OrderBy(kv => kv.Key, StringComparer.Ordinal);

    private static IEnumerable<KeyValuePair<string, JsonItem>> CodePointOrder(IEnumerable<KeyValuePair<string, JsonItem>> members) =>
        members.OrderBy(kv => Encoding.UTF8.GetBytes(kv.Key), Comparer<byte[]>.Create((a, b) =>
        {
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                if (a[i] != b[i])
                {
                    return a[i] - b[i];
                }
            }

            return a.Length - b.Length;
        }));

    /// <summary>
    /// One step "s" by alice with the given artifacts and rules; the link is written by <paramref name="spell"/> from
    /// the signed metablock (signed over <paramref name="signedMaterials"/> when given, to tamper after signing).
    /// </summary>
    private static string WriteChain(JsonMap materials, JsonMap products, Func<JsonMap, string> spell,
        string[]? materialRules = null, string[]? productRules = null, JsonMap? signedMaterials = null)
    {
        var alice = TestData.Functionary("alice");
        string dir = TestData.NewTempDir("artmap");
        Directory.CreateDirectory(Path.Combine(dir, "links"));
        Directory.CreateDirectory(Path.Combine(dir, "final"));
        var block = Meta.Block(Meta.Link("s", signedMaterials ?? materials, products, "cmd"), alice);
        ((JsonMap)block["signed"])["materials"] = materials;
        File.WriteAllText(Path.Combine(dir, "links", $"s.{alice.KeyId.Substring(0, 8)}.link"), spell(block), new UTF8Encoding(false));
        var step = Meta.Step("s", new[] { alice.Public }, 1, Meta.Rules(materialRules ?? new[] { "ALLOW *" }), Meta.Rules(productRules ?? new[] { "ALLOW *" }), "cmd");
        Meta.Save(Path.Combine(dir, "root.layout"), Meta.Block(Meta.Layout(new[] { alice.Public }, new[] { step }), Owner));
        Meta.WriteKey(dir, "owner", Owner);
        return dir;
    }

    private static VerificationResult Verify(string dir)
    {
        try
        {
            return Ours.Verify(Path.Combine(dir, "final"), "../root.layout", new[] { "../owner.pub" }, "../links", Ours.PinnedNow);
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    public void A_value_that_is_not_hex_is_reported_at_its_entry([Values(0, 1, 1023, 1024, 2500)] int at, [Values("", "g", "0123456789abcdeg", "abc def", "ab\\u0067d", "é0")] string bad)
    {
        // Escaped or not, empty, with the bad character first, last or in the middle, in the first or a later chunk.
        var materials = BigMap(2600);
        string path = $"src/d{at % 7}/f{at:D5}.cs";
        string text = Spell(Meta.Block(Meta.Link("s", materials, new JsonMap(), "cmd"), TestData.Functionary("alice")), AsIs)
            .Replace($"\"sha256\": \"{Hash(at)}\"", $"\"sha256\": \"{bad}\"");
        string dir = WriteChain(materials, new JsonMap(), _ => text);
        var result = Verify(dir);
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.FormatError));
        Assert.That(result.Failures[0].Message, Does.EndWith($".link: materials[\"{path}\"][\"sha256\"] must be a hex string."));
    }

    private static IEnumerable<char> NonHexAscii() =>
        Enumerable.Range(0x20, 0x5F).Select(c => (char)c).Where(c => c != '"' && c != '\\' && !Uri.IsHexDigit(c));

    [Test]
    public void Every_ascii_character_that_is_not_a_hex_digit_is_caught_anywhere_in_the_value([ValueSource(nameof(NonHexAscii))] char c)
    {
        // At the positions around each eight-byte word of a 64-digit value (the scan looks at eight bytes at a time).
        var materials = BigMap(8);
        string text = Spell(Meta.Block(Meta.Link("s", materials, new JsonMap(), "cmd"), TestData.Functionary("alice")), AsIs);
        foreach (int at in new[] { 0, 1, 6, 7, 8, 9, 15, 16, 31, 32, 47, 55, 56, 62, 63 })
        {
            int entry = at % 8;
            string h = Hash(entry);
            string bad = text.Replace($"\"sha256\": \"{h}\"", $"\"sha256\": \"{h.Substring(0, at)}{c}{h.Substring(at + 1)}\"");
            var result = Verify(WriteChain(materials, new JsonMap(), _ => bad));
            Assert.That(result.Failures, Is.Not.Empty, $"'{c}' at {at}");
            Assert.That(result.Failures[0].Message, Does.EndWith($".link: materials[\"src/d{entry % 7}/f{entry:D5}.cs\"][\"sha256\"] must be a hex string."), $"'{c}' at {at}");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Names_that_are_not_normalized_paths_are_counted_while_parsing(bool escapeKeys)
    {
        var unusual = new[] { "a/./b", "../x", "/abs", "a\\b", "a/", "", "a//b", "\u00e9/../x", "x/..", "x/.", ".", "..", "/" };
        var usual = new[] { ".hidden", "...", "a/..b", "a/b..", "a/.é", ".é/x", "é", "a.b/c.d", "x/...y" };
        var rng = new Random(5);
        var names = unusual.Select(n => n.Replace("\\u00e9", "é")).Concat(usual).Concat(Enumerable.Range(0, 1500).Select(i => $"src/f{i}.cs"))
            .OrderBy(_ => rng.Next()).ToList();
        var materials = Map(names.Select((n, i) => (n, Hash(i))));
        var products = Map(new[] { ("ok/1", Hash(1)), ("./2", Hash(2)) });
        var result = Verify(WriteChain(materials, products, b => Spell(b, AsIs, escapeKeys)));
        Assert.That(result.Passed, Is.True, Ours.Describe(result));
        string firstUnusual = names.First(n => unusual.Select(u => u.Replace("\\u00e9", "é")).Contains(n));
        var warning = result.Warnings.Single(w => w.Message.Contains("not normalized relative paths", StringComparison.Ordinal));
        Assert.That(warning.Message, Does.EndWith($".link records {unusual.Length + 1} artifact name(s) that are not normalized relative paths, e.g. '{firstUnusual}'; rules compare names as plain strings, so such names match only patterns written for them."));
    }

    [Test]
    public void The_first_bad_value_is_the_one_reported()
    {
        var materials = BigMap(3000);
        string text = Spell(Meta.Block(Meta.Link("s", materials, new JsonMap(), "cmd"), TestData.Functionary("alice")), AsIs)
            .Replace($"\"sha256\": \"{Hash(2999)}\"", "\"sha256\": \"zz\"")
            .Replace($"\"sha256\": \"{Hash(1500)}\"", "\"sha256\": \"\"");
        var result = Verify(WriteChain(materials, new JsonMap(), _ => text));
        Assert.That(result.Failures[0].Message, Does.EndWith(".link: materials[\"src/d2/f01500.cs\"][\"sha256\"] must be a hex string."));
    }

    [Test]
    public void Upper_and_mixed_case_hex_values_verify_and_count_as_different_hashes()
    {
        var materials = BigMap(2100, i => i % 3 == 0 ? Hash(i, upper: true) : Hash(i));
        Assert.That(Verify(WriteChain(materials, materials, b => Spell(b, AsIs))).Passed, Is.True);

        // Python compares hex digests as strings: "AB" != "ab", so the artifact was modified.
        var products = BigMap(2100, i => i == 2050 ? Hash(i, upper: true) : Hash(i));
        var result = Verify(WriteChain(BigMap(2100), products, b => Spell(b, AsIs), productRules: new[] { "MATCH * WITH MATERIALS FROM s", "DISALLOW *" }));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.RuleVerificationError));
        Assert.That(result.Failures[0].Artifacts, Is.EqualTo(new[] { "src/d6/f02050.cs" }));
    }

    [Test]
    public void Any_key_order_and_key_spelling_gives_the_same_canonical_bytes([Values("as-is", "reversed", "utf16", "codepoint")] string order, [Values(false, true)] bool escapeKeys)
    {
        Func<IEnumerable<KeyValuePair<string, JsonItem>>, IEnumerable<KeyValuePair<string, JsonItem>>> o = order switch
        {
            "reversed" => Reversed,
            "utf16" => Utf16Order,
            "codepoint" => CodePointOrder,
            _ => AsIs,
        };

        // Keys whose UTF-16 order differs from their code point order, prefixes of each other, and bytes above 0x7F.
        var odd = new[] { "a", "a/b", "a0", "a/", "aé", "a\uFFFD", "a\U0001F600", "b", "a\u007F", "\uFFFF", "\U0010FFFF" };
        var entries = odd.Select((p, i) => (p, Hash(i))).Concat(Enumerable.Range(0, 2100).Select(i => ($"src/f{i:D5}", Hash(i + 100)))).ToList();
        var materials = Map(entries);
        Assert.That(Verify(WriteChain(materials, materials, b => Spell(b, o, escapeKeys))).Passed, Is.True, $"{order}, escaped keys {escapeKeys}");

        // The same spelling over a changed hash must not verify (signed over the original).
        var changed = Map(entries.Select((e, i) => i == 2000 ? (e.Item1, Hash(99999)) : e));
        var result = Verify(WriteChain(changed, materials, b => Spell(b, o, escapeKeys), signedMaterials: materials));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.ThresholdVerificationError));
    }

    [Test]
    public void A_duplicate_path_in_a_big_map_is_rejected([Values(false, true)] bool escaped)
    {
        var materials = BigMap(2000);
        string dup = escaped ? "\"src\\/d3\\/f00010.cs\"" : "\"src/d3/f00010.cs\"";
        string text = Spell(Meta.Block(Meta.Link("s", materials, new JsonMap(), "cmd"), TestData.Functionary("alice")), AsIs)
            .Replace("\"src/d0/f01995.cs\"", dup);
        var result = Verify(WriteChain(materials, new JsonMap(), _ => text));
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.FormatError));
        Assert.That(result.Failures[0].Message, Does.Contain("duplicate object key \"src/d3/f00010.cs\""));
    }

    [Test]
    public void A_map_that_changes_shape_after_many_entries_is_read_in_full()
    {
        // 1,500 compact entries, then one with two hash algorithms: the compact entries become ordinary members.
        var materials = BigMap(1500);
        materials["zz/two"] = new JsonMap { { "sha256", Hash(1) }, { "sha512", Hash(2) + Hash(3) } };
        materials["zz/three"] = new JsonMap { { "sha256", Hash(4) } };
        Assert.That(Verify(WriteChain(materials, materials, b => Spell(b, Reversed), productRules: new[] { "MATCH * WITH MATERIALS FROM s", "DISALLOW *" })).Passed, Is.True);

        var bad = BigMap(1500);
        bad["zz/two"] = new JsonMap { { "sha256", Hash(1) }, { "sha512", "not hex" } };
        var result = Verify(WriteChain(bad, bad, b => Spell(b, AsIs)));
        Assert.That(result.Failures[0].Message, Does.EndWith(".link: materials[\"zz/two\"][\"sha512\"] must be a hex string."));
    }

    [Test]
    public void Buffers_reused_between_verifications_never_carry_one_files_bytes_into_another()
    {
        // Link files of exactly the same length get the same pooled buffers; verdicts must not depend on what a buffer
        // held before, also with verifications running at the same time.
        var materials = BigMap(3000);
        string good = WriteChain(materials, materials, b => Spell(b, AsIs), productRules: new[] { "MATCH * WITH MATERIALS FROM s", "DISALLOW *" });
        var changed = BigMap(3000, i => i == 2999 ? Hash(i).Substring(0, 63) + (Hash(i)[63] == '0' ? "1" : "0") : Hash(i));
        string tampered = WriteChain(changed, materials, b => Spell(b, AsIs), productRules: new[] { "MATCH * WITH MATERIALS FROM s", "DISALLOW *" }, signedMaterials: materials);
        var sameSignature = BigMap(3000, i => i == 7 ? Hash(i).Substring(0, 63) + (Hash(i)[63] == '0' ? "1" : "0") : Hash(i));
        string mismatch = WriteChain(sameSignature, materials, b => Spell(b, AsIs), productRules: new[] { "MATCH * WITH MATERIALS FROM s", "DISALLOW *" });
        try
        {
            var files = new[] { good, tampered, mismatch }.Select(d => new FileInfo(Directory.GetFiles(Path.Combine(d, "links"))[0]).Length).Distinct().ToList();
            Assert.That(files, Has.Count.EqualTo(1), "the three links must have the same length");
            var expected = new[] { (FailureKind?)null, FailureKind.ThresholdVerificationError, FailureKind.RuleVerificationError };
            var dirs = new[] { good, tampered, mismatch };
            var results = new FailureKind?[30];
            Parallel.For(0, 30, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
            {
                var r = Ours.Verify(Path.Combine(dirs[i % 3], "final"), "../root.layout", new[] { "../owner.pub" }, "../links", Ours.PinnedNow);
                results[i] = r.Passed ? null : r.Failures[0].Kind;
            });
            for (int i = 0; i < 30; i++)
            {
                Assert.That(results[i], Is.EqualTo(expected[i % 3]), $"verification {i}");
            }
        }
        finally
        {
            TestData.DeleteDirectory(good);
            TestData.DeleteDirectory(tampered);
            TestData.DeleteDirectory(mismatch);
        }
    }

    // MATCH with every prefix combination, decided by both verifiers. Materials of "b" are matched against products of
    // "a": src/ and lib/ hold the same files, some with the other side's hash changed.
    [TestCase("MATCH *.cs IN src WITH PRODUCTS IN src FROM a")]
    [TestCase("MATCH *.cs IN src/ WITH PRODUCTS IN src FROM a")]
    [TestCase("MATCH *.cs IN src WITH PRODUCTS IN src/ FROM a")]
    [TestCase("MATCH *.cs IN src WITH PRODUCTS IN lib FROM a")]
    [TestCase("MATCH *.cs IN src/ WITH PRODUCTS IN lib/ FROM a")]
    [TestCase("MATCH d1/* IN src WITH PRODUCTS IN lib/ FROM a")]
    [TestCase("MATCH * WITH PRODUCTS IN lib FROM a")]
    [TestCase("MATCH src/* WITH PRODUCTS IN lib FROM a")]
    [TestCase("MATCH * IN lib WITH PRODUCTS FROM a")]
    [TestCase("MATCH * IN src WITH PRODUCTS IN sr FROM a")]
    [TestCase("MATCH src/d1/f00001.cs WITH PRODUCTS FROM a")]
    [TestCase("MATCH f00001.cs IN src/d1 WITH PRODUCTS IN lib/d1 FROM a")]
    [TestCase("MATCH * WITH MATERIALS FROM b")]
    public void Match_rules_with_prefixes_agree_with_in_toto_verify(string rule)
    {
        var alice = TestData.Functionary("alice");
        var bob = TestData.Functionary("bob");
        string dir = TestData.NewTempDir("artmap-match");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "links"));
            Directory.CreateDirectory(Path.Combine(dir, "final"));
            var files = Enumerable.Range(0, 1200).Select(i => (Name: $"d{i % 3}/f{i:D5}.cs", Hash: Hash(i))).ToList();
            var aProducts = Map(files.Select(f => ("src/" + f.Name, f.Hash))
                .Concat(files.Where((_, i) => i % 4 != 1).Select(f => ("lib/" + f.Name, f.Hash)))
                .Concat(new[] { ("sr/c/x.cs", Hash(5000)) }));
            var bMaterials = Map(files.Select((f, i) => ("src/" + f.Name, i % 5 == 2 ? Hash(i + 7000) : f.Hash))
                .Concat(files.Take(300).Select(f => ("lib/" + f.Name, f.Hash)))
                .Concat(new[] { ("src/c/x.cs", Hash(5000)), ("d1/f00001.cs", Hash(1)) }));
            File.WriteAllBytes(Path.Combine(dir, "links", $"a.{alice.KeyId.Substring(0, 8)}.link"), JsonText.WriteUtf8(Meta.Block(Meta.Link("a", new JsonMap(), aProducts, "cmd"), alice)));
            File.WriteAllBytes(Path.Combine(dir, "links", $"b.{bob.KeyId.Substring(0, 8)}.link"), JsonText.WriteUtf8(Meta.Block(Meta.Link("b", bMaterials, new JsonMap(), "cmd"), bob)));
            var steps = new[]
            {
                Meta.Step("a", new[] { alice.Public }, 1, Meta.Rules("ALLOW *"), Meta.Rules("ALLOW *"), "cmd"),
                Meta.Step("b", new[] { bob.Public }, 1, Meta.Rules(rule, "DISALLOW *"), Meta.Rules("ALLOW *"), "cmd"),
            };
            Meta.Save(Path.Combine(dir, "root.layout"), Meta.Block(Meta.Layout(new[] { alice.Public, bob.Public }, steps), Owner));
            Meta.WriteKey(dir, "owner", Owner);
            var outcome = Both.Run(dir, new[] { ("owner.pub", "ed25519") });
            Assert.That(outcome.Agree, Is.True, outcome.ToString());
            if (!outcome.Ours.Passed)
            {
                // The same artifacts were left for DISALLOW * (the reference lists them as a Python list).
                string output = outcome.Reference.Output;
                int open = output.IndexOf("matched the following artifacts: [", StringComparison.Ordinal);
                Assert.That(open, Is.GreaterThanOrEqualTo(0), outcome.ToString());
                int start = output.IndexOf('[', open) + 1;
                var theirs = output.Substring(start, output.IndexOf(']', start) - start)
                    .Split(", ").Select(a => a.Trim('\'')).OrderBy(a => a, StringComparer.Ordinal).ToList();
                Assert.That(outcome.Result.Failures[0].Artifacts, Is.EqualTo(theirs), rule);
            }
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }
}
