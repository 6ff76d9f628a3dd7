using System.Text;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// GlobPattern against Python's fnmatch (the interpreter in-toto-verify runs under, /usr/bin/python3): hand-picked
/// edge cases plus seeded random names and patterns over an alphabet full of metacharacters, all decided by Python in
/// one batch.
/// </summary>
[TestFixture]
public class FnmatchTests
{
    private static readonly (string Name, string Pattern)[] EdgeCases =
    {
        ("src/a/b.cs", "src/*"), ("src/a/b.cs", "*.cs"), (".hidden", "*"), ("a\nb", "a*b"), ("a\nb", "a?b"),
        ("", "*"), ("", ""), ("", "?"), ("x", ""), ("abc", "abc"), ("abc", "ABC"), ("ABC", "abc"),
        ("[Content_Types].xml", "[Content_Types].xml"), ("C.xml", "[Content_Types].xml"), ("[Content_Types].xml", "[[]Content_Types].xml"),
        ("a]", "a]"), ("]", "[]]"), ("a", "[]a]"), ("!", "[!]"), ("[!]", "[!]"), ("b", "[!a]"), ("a", "[!a]"), ("]", "[!]]"),
        ("-", "[a-]"), ("-", "[-a]"), ("b", "[a-c]"), ("-", "[a-c]"), ("b", "[c-a]"), ("b", "[!c-a]"), ("-", "[a--]"), ("a", "[a--]"),
        ("-", "[--a]"), ("5", "[--a]"), ("-", "[a-b-c]"), ("c", "[a-b-c]"), ("x", "[a-b-c]"), ("d", "[a-b-c-e]"), ("-", "[!a-b-c]"),
        ("\\", "[\\]"), ("\\", "\\"), ("a\\b", "a\\b"), ("a", "\\a"), ("^", "[^]"), ("a", "[^a]"), ("&", "[&&]"), ("~", "[~~]"), ("|", "[a||]"),
        ("[", "["), ("[a", "[a"), ("ab", "[ab"), ("x[", "x["), ("[[", "[[]["), ("(", "("), (".", "."), ("x", "."), ("$", "$"), ("a+", "a+"),
        ("a{1}", "a{1}"), ("aaa", "a*a*a"), ("aa", "a*a*a"), ("abcabcabd", "*abd"), ("mississippi", "*sip*"), ("mississippi", "m*s*p*i"),
        ("a/b/c", "a/*/c"), ("a/c", "a/*/c"), ("a//c", "a/*/c"), ("x.link", "*.link*"), ("😀", "?"), ("😀x", "??"), ("😀", "[😀]"),
        ("😀", "[!a]"), ("é", "[à-ÿ]"), ("ü", "?"), ("a😀b", "a*b"), ("dir/file", "dir?file"), ("*", "[*]"), ("?", "[?]"), ("a", "[*]"),
        ("**", "**"), ("abc", "a**c"), ("unpacked/lib/net8.0/Hello.dll", "unpacked/lib/*"), ("[", "[[]"), ("]", "[]-a]"), ("_", "[]-a]"),
    };

    [Test]
    public void Hand_picked_edge_cases_match_python()
    {
        CheckAgainstPython(EdgeCases.ToList());
    }

    [Test]
    public void Random_names_and_patterns_match_python([Values(20250101, 7)] int seed)
    {
        var rng = new Random(seed);
        const string nameAlphabet = "ab/.-]![\\^😀é\n";
        const string patternAlphabet = "ab/.*?[]!-^\\😀é";
        var pairs = new List<(string, string)>();
        for (int i = 0; i < 4000; i++)
        {
            string name = RandomString(rng, nameAlphabet, rng.Next(0, 7));
            string pattern = RandomString(rng, patternAlphabet, rng.Next(0, 7));
            if (rng.Next(4) == 0)
            {
                // Derive the pattern from the name so that a good share matches.
                var sb = new StringBuilder();
                foreach (var r in Runes(name))
                {
                    int k = rng.Next(8);
                    sb.Append(k == 0 ? "?" : k == 1 ? "*" : k == 2 ? "[" + r + "]" : k == 3 ? "[!" + r + "]" : r);
                }

                pattern = sb.ToString();
            }

            pairs.Add((name, pattern));
        }

        CheckAgainstPython(pairs);
    }

    [Test]
    public void Fast_paths_are_classified()
    {
        Assert.That(GlobPattern.Compile("*").MatchesEverything, Is.True);
        Assert.That(GlobPattern.Compile("***").MatchesEverything, Is.True);
        Assert.That(GlobPattern.Compile("src/Program.cs").IsLiteral, Is.True);
        Assert.That(GlobPattern.Compile("src/Program.cs").Literal, Is.EqualTo("src/Program.cs"));
        Assert.That(GlobPattern.Compile("[x]").IsLiteral, Is.False);
        Assert.That(GlobPattern.Compile("a[").IsLiteral, Is.True, "an unclosed '[' is literal");
        Assert.That(GlobPattern.Compile("a[").Literal, Is.EqualTo("a["));
    }

    private static IEnumerable<string> Runes(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length)
            {
                yield return s.Substring(i++, 2);
            }
            else
            {
                yield return s[i].ToString();
            }
        }
    }

    private static string RandomString(Random rng, string alphabet, int length)
    {
        var runes = Runes(alphabet).ToArray();
        var sb = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            sb.Append(runes[rng.Next(runes.Length)]);
        }

        return sb.ToString();
    }

    private static void CheckAgainstPython(List<(string Name, string Pattern)> pairs)
    {
        var expected = PythonFnmatch(pairs);
        Assert.That(expected, Has.Length.EqualTo(pairs.Count));
        Assert.That(expected, Has.Some.True.And.Some.False, "the oracle should decide both ways");
        var mismatches = new List<string>();
        for (int i = 0; i < pairs.Count; i++)
        {
            bool ours = GlobPattern.Compile(pairs[i].Pattern).IsMatch(pairs[i].Name);
            if (ours != expected[i])
            {
                mismatches.Add($"fnmatch({Show(pairs[i].Name)}, {Show(pairs[i].Pattern)}): python {expected[i]}, ours {ours}");
            }
        }

        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(30)));
    }

    private static string Show(string s) => new JsonString(s).ToString();

    /// <summary>fnmatch.filter([name], pattern) in /usr/bin/python3 (what in-toto 1.3.1 calls), batched through JSON.</summary>
    private static bool[] PythonFnmatch(List<(string Name, string Pattern)> pairs)
    {
        string dir = TestData.NewTempDir("fnmatch");
        try
        {
            string input = Path.Combine(dir, "in.json");
            var array = new JsonList(pairs.Select(p => (JsonItem)new JsonList(p.Name, p.Pattern)));
            File.WriteAllBytes(input, JsonText.WriteUtf8(array));
            const string script = "import fnmatch, json, sys\n"
                + "pairs = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                + "print(json.dumps([bool(fnmatch.filter([n], p)) for n, p in pairs]))\n";
            Reference.EnsureInstalled();
            var (code, output) = Reference.RunProcess("/usr/bin/python3", new[] { "-c", script, input }, dir, TimeSpan.FromMinutes(2));
            Assert.That(code, Is.EqualTo(0), output);
            var result = (JsonList)JsonParser.Parse(output.Trim());
            return result.Select(n => ((JsonBool)n).Value).ToArray();
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }
}
