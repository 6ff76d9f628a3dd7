using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tests;

/// <summary>Random JSON generation shared by the property tests and the oracle cross-check.</summary>
internal static class JsonFuzz
{
    private static readonly string[] Pieces =
    {
        "a", "B", "z", "0", " ", "\"", "\\", "/", "\n", "\t", "\r", "\u0000", "\u001f", "\u007f", "é", "ß", "\u00a0",
        "\u2028", "\uFEFF", "\uFFFD", "\uFFFF", "\uE000", "中", "\U0001F600", "\U00010000", "\U0010FFFF", "{", "}", "[", "]", ":", ",",
    };

    public static string RandomString(Random r, int maxPieces = 6)
    {
        var sb = new StringBuilder();
        int n = r.Next(maxPieces + 1);
        for (int i = 0; i < n; i++)
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
        }

        return sb.ToString();
    }

    public static JsonItem RandomTree(Random r, int depth = 0, bool integersOnly = true)
    {
        int kind = depth > 4 ? r.Next(5) : r.Next(7);
        switch (kind)
        {
            case 0:
                return new JsonString(RandomString(r));
            case 1:
                return r.Next(4) switch
                {
                    0 => new JsonNumber(r.Next(-1000, 1000)),
                    1 => new JsonNumber(long.MinValue + r.Next(10)),
                    2 => new JsonNumber(long.MaxValue - r.Next(10)),
                    _ => integersOnly ? new JsonNumber("123456789012345678901234567890") : new JsonNumber("-1.25e-7"),
                };
            case 2:
                return r.Next(2) == 0 ? JsonBool.True : JsonBool.False;
            case 3:
                return JsonNull.Instance;
            case 4:
                return new JsonString("");
            case 5:
            {
                var array = new JsonList();
                int n = r.Next(5);
                for (int i = 0; i < n; i++)
                {
                    array.Add(RandomTree(r, depth + 1, integersOnly));
                }

                return array;
            }

            default:
            {
                var obj = new JsonMap();
                int n = r.Next(6);
                for (int i = 0; i < n; i++)
                {
                    string key = RandomString(r, 3);
                    if (!obj.ContainsKey(key))
                    {
                        obj.Add(key, RandomTree(r, depth + 1, integersOnly));
                    }
                }

                return obj;
            }
        }
    }
}

public class JsonFuzzTests
{
    [Test]
    public void RandomTreesRoundTripThroughJsonText([Values(false, true)] bool indented)
    {
        var random = new Random(20240611 + (indented ? 1 : 0));
        for (int i = 0; i < 2000; i++)
        {
            var tree = JsonFuzz.RandomTree(random);
            string text = JsonText.Write(tree, indented);
            Assert.That(text.All(c => c < 0x80), Is.True, "JsonText output must be ASCII");
            var reparsed = JsonParser.Parse(Encoding.UTF8.GetBytes(text));
            Assert.That(JsonItem.DeepEquals(tree, reparsed), Is.True, text);
            Assert.That(CanonicalJson.Serialize(reparsed), Is.EqualTo(CanonicalJson.Serialize(tree)), text);
            Assert.That(JsonText.Write(reparsed, indented), Is.EqualTo(text), "JsonText is deterministic");
        }
    }

    [Test]
    public void A_lone_surrogate_is_refused_with_where_it_is()
    {
        var tree = new JsonMap { { "a", new JsonList { 1, new JsonMap { { "ok", "fine" }, { "b", "x\ud800y" } } } } };
        var e = Assert.Throws<JsonFormatException>(() => JsonText.Write(tree, indented: false));
        Assert.That(e!.Message, Does.Contain("at $.a[1].b:").And.Contain("U+D800 at character index 1"));

        var key = new JsonMap { { "list", new JsonList { new JsonMap { { "\udfff", 1 } } } } };
        e = Assert.Throws<JsonFormatException>(() => JsonText.Write(key));
        Assert.That(e!.Message, Does.Contain("at $.list[0].\udfff:").And.Contain("U+DFFF"));
    }

    [Test]
    public void RandomMutationsOnlyEverThrowJsonFormatException()
    {
        var seeds = new List<byte[]>
        {
            TestData.Bytes("cases", "pass-baseline", "root.layout"),
            TestData.Bytes("cases", "pass-baseline", "links", "build.c0d891af.link"),
            TestData.Bytes("keys", "test-only-private", "bob"),
            Encoding.UTF8.GetBytes("{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\ud83d\\ude00\u00e9\",{}],\"b\":{\"c\":\"\"}}"),
        };
        var random = new Random(4242);
        byte[] interesting = Encoding.ASCII.GetBytes("{}[]\",:\\-0123456789.eE+tfnu \t\r\n").Concat(new byte[] { 0x00, 0x1F, 0x80, 0xBF, 0xC3, 0xED, 0xEF, 0xF0, 0xF4, 0xFF }).ToArray();
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < 20000; i++)
        {
            byte[] seed = seeds[random.Next(seeds.Count)];
            var bytes = new List<byte>(seed);
            int mutations = 1 + random.Next(4);
            for (int m = 0; m < mutations && bytes.Count > 0; m++)
            {
                int pos = random.Next(bytes.Count);
                switch (random.Next(5))
                {
                    case 0: bytes[pos] = interesting[random.Next(interesting.Length)]; break;
                    case 1: bytes.Insert(pos, interesting[random.Next(interesting.Length)]); break;
                    case 2: bytes.RemoveAt(pos); break;
                    case 3: bytes.RemoveRange(pos, bytes.Count - pos); break;
                    default: bytes[pos] = (byte)random.Next(256); break;
                }
            }

            byte[] input = bytes.ToArray();
            try
            {
                var node = JsonParser.Parse(input);
                parsed++;

                // Whatever parses must survive the writers (or fail with JsonFormatException for floats).
                JsonParser.Parse(JsonText.WriteUtf8(node));
                try
                {
                    CanonicalJson.Serialize(node);
                }
                catch (JsonFormatException)
                {
                }
            }
            catch (JsonFormatException e)
            {
                rejected++;
                Assert.That(e.Message, Does.StartWith("Invalid JSON at line "));
            }
            catch (Exception e)
            {
                Assert.Fail($"Mutation {i} threw {e.GetType().Name}: {e.Message}\ninput (base64): {Convert.ToBase64String(input)}");
            }
        }

        Assert.That(parsed, Is.GreaterThan(100), "some mutations should stay valid (e.g. changed digits)");
        Assert.That(rejected, Is.GreaterThan(10000));
    }
}
