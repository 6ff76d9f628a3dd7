using System.Globalization;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// The verifier parses and canonicalizes with its own zero-copy reader (artifact maps kept compact). These tests pin
/// it to Core's CanonicalJson, which signed the files: random JSON in every signed field (artifact-map shapes that
/// break halfway, several hash algorithms, escapes, quotes, backslashes, control characters, non-ASCII and astral
/// characters, big integers), written with random key order, whitespace and escaping, must verify; any change of a
/// signed value must not.
/// </summary>
[TestFixture]
public class CanonicalEquivalenceTests
{
    private const string Alphabet = "ab/._-\"\\\n\t\u0001 éü€😀[]*?";

    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);

    [Test]
    public void Random_signed_content_in_any_json_spelling_verifies([Values(11, 12, 13)] int seed)
    {
        var rng = new Random(seed);
        var alice = TestData.Functionary("alice");
        var bob = TestData.Functionary("bob");
        var problems = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            string dir = TestData.NewTempDir("canon");
            try
            {
                var key = i % 2 == 0 ? alice : bob;
                var link = Meta.Link("s", RandomArtifacts(rng), RandomArtifacts(rng), "cmd", RandomString(rng));
                ((JsonMap)link["byproducts"])["extra"] = RandomValue(rng, 0);
                link["environment"] = RandomObject(rng, 0);
                var file = Meta.Block(link, key);
                Directory.CreateDirectory(Path.Combine(dir, "links"));
                File.WriteAllBytes(Path.Combine(dir, "links", $"s.{key.KeyId.Substring(0, 8)}.link"), Encode(file, rng));
                var layout = Meta.Layout(new[] { key.Public }, new[] { Meta.Step("s", new[] { key.Public }, 1, Meta.Rules("ALLOW *"), Meta.Rules("ALLOW *"), "cmd") });
                File.WriteAllBytes(Path.Combine(dir, "root.layout"), Encode(Meta.Block(layout, Owner), rng));
                var result = Verify(dir);
                if (!result.Passed)
                {
                    problems.Add($"seed {seed} #{i}: {Ours.Describe(result)}\n{File.ReadAllText(Path.Combine(dir, "links", $"s.{key.KeyId.Substring(0, 8)}.link"))}");
                    continue;
                }

                // Change one signed string value: the signature must break.
                var tampered = (JsonMap)file.DeepClone();
                ((JsonMap)((JsonMap)tampered["signed"])["byproducts"])["stdout"] = "changed";
                File.WriteAllBytes(Path.Combine(dir, "links", $"s.{key.KeyId.Substring(0, 8)}.link"), Encode(tampered, rng));
                var broken = Verify(dir);
                if (broken.Passed || broken.Failures[0].Kind != FailureKind.ThresholdVerificationError)
                {
                    problems.Add($"seed {seed} #{i}: a tampered link gave {(broken.Passed ? "pass" : broken.Failures[0].ToString())}");
                }
            }
            finally
            {
                TestData.DeleteDirectory(dir);
            }
        }

        Assert.That(problems, Is.Empty, string.Join("\n\n", problems.Take(5)));
    }

    [Test]
    public void Duplicate_paths_in_an_artifact_map_are_refused_even_in_the_compact_form()
    {
        string dir = TestData.NewTempDir("dup");
        try
        {
            TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
            string path = Path.Combine(dir, "links", "restore.8fa97c41.link");
            string text = File.ReadAllText(path);
            // Repeat the last material under the same (escaped) name: "src/Ressourcen/Gr\u00fc\u00dfe.txt".
            int at = text.IndexOf("\"src/Ressourcen/Gr", StringComparison.Ordinal);
            int end = text.IndexOf('}', at) + 1;
            string entry = text.Substring(at, end - at);
            text = text.Insert(at, entry.Replace("\\u00fc", "ü") + ",\n   ");
            File.WriteAllText(path, text);
            var result = Verify(dir, "owner.pub");
            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.FormatError));
            Assert.That(result.Failures[0].Message, Does.Contain("duplicate object key"));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    private static VerificationResult Verify(string dir, string? ownerKeyFile = null)
    {
        var key = ownerKeyFile is null ? Owner.Public : PublicKey.Load(Path.Combine(dir, ownerKeyFile));
        var options = new LayoutVerifierOptions
        {
            LinkDirectory = Path.Combine(dir, "links"),
            WorkingDirectory = dir,
            Clock = () => Ours.PinnedNow,
            PersistInspectionLinks = false,
        };
        if (ownerKeyFile is not null)
        {
            options.WorkingDirectory = Path.Combine(dir, "final");
        }

        return new LayoutVerifier(options).Verify(Path.Combine(dir, "root.layout"), new[] { key });
    }

    private static string RandomString(Random rng)
    {
        var sb = new StringBuilder();
        var runes = new List<string>();
        for (int i = 0; i < Alphabet.Length; i++)
        {
            runes.Add(char.IsHighSurrogate(Alphabet[i]) ? Alphabet.Substring(i++, 2) : Alphabet[i].ToString());
        }

        for (int i = 0, n = rng.Next(0, 12); i < n; i++)
        {
            sb.Append(runes[rng.Next(runes.Count)]);
        }

        return sb.ToString();
    }

    private static string Hex(Random rng, int bytes)
    {
        var b = new byte[bytes];
        rng.NextBytes(b);
        return Convert.ToHexString(b).ToLowerInvariant();
    }

    private static JsonMap RandomArtifacts(Random rng)
    {
        var o = new JsonMap();
        for (int i = 0, n = rng.Next(0, 30); i < n; i++)
        {
            string path = RandomString(rng) + i.ToString(CultureInfo.InvariantCulture);
            var hashes = new JsonMap { { "sha256", Hex(rng, 32) } };
            switch (rng.Next(12))
            {
                case 0:
                    hashes["sha512"] = Hex(rng, 64); // two algorithms: not the compact shape
                    break;
                case 1:
                    hashes = new JsonMap { { "md5", Hex(rng, 16) } };
                    break;
            }

            o[path] = hashes;
        }

        return o;
    }

    private static JsonMap RandomObject(Random rng, int depth)
    {
        var o = new JsonMap();
        for (int i = 0, n = rng.Next(0, 5); i < n; i++)
        {
            o[RandomString(rng) + i.ToString(CultureInfo.InvariantCulture)] = rng.Next(3) == 0
                ? new JsonMap { { RandomString(rng), RandomString(rng) } } // artifact-map shaped member
                : RandomValue(rng, depth + 1);
        }

        return o;
    }

    private static JsonItem RandomValue(Random rng, int depth) => (depth > 3 ? rng.Next(4) : rng.Next(7)) switch
    {
        0 => RandomString(rng),
        1 => new JsonNumber(rng.Next(3) == 0 ? "-0" : rng.Next(3) == 0 ? "123456789012345678901234567890" : rng.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture)),
        2 => rng.Next(2) == 0 ? JsonBool.True : JsonNull.Instance,
        3 => JsonBool.False,
        4 => RandomObject(rng, depth),
        5 => new JsonList(Enumerable.Range(0, rng.Next(0, 4)).Select(_ => RandomValue(rng, depth + 1))),
        _ => RandomArtifacts(rng),
    };

    // Three spellings: Core's sorted ASCII-escaped file format; and compact/indented text with members in random
    // order, raw UTF-8 or \u escapes, and escaped '/' now and then.
    private static byte[] Encode(JsonItem node, Random rng)
    {
        if (rng.Next(3) == 0)
        {
            return JsonText.WriteUtf8(node);
        }

        var sb = new StringBuilder();
        bool escapeAll = rng.Next(2) == 0;
        Write(node, sb, rng, escapeAll);
        return new UTF8Encoding(false).GetBytes(sb.ToString());
    }

    private static void Write(JsonItem node, StringBuilder sb, Random rng, bool escapeAll)
    {
        string ws = rng.Next(3) == 0 ? " \n\t\r" [..rng.Next(1, 4)] : "";
        switch (node)
        {
            case JsonMap o:
                sb.Append('{').Append(ws);
                var members = o.OrderBy(_ => rng.Next()).ToList();
                for (int i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',').Append(ws);
                    }

                    WriteString(members[i].Key, sb, rng, escapeAll);
                    sb.Append(ws).Append(':').Append(ws);
                    Write(members[i].Value, sb, rng, escapeAll);
                }

                sb.Append(ws).Append('}');
                break;
            case JsonList a:
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',').Append(ws);
                    }

                    Write(a[i], sb, rng, escapeAll);
                }

                sb.Append(']');
                break;
            case JsonString s:
                WriteString(s.Value, sb, rng, escapeAll);
                break;
            default:
                sb.Append(node.ToString());
                break;
        }
    }

    private static void WriteString(string s, StringBuilder sb, Random rng, bool escapeAll)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (c == '"' || c == '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c < 0x20 || (escapeAll && c > 0x7E) || (c == '/' && rng.Next(4) == 0))
            {
                sb.Append(c == '/' ? "\\/" : $"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }
}
