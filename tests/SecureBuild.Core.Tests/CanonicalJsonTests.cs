using System.Text;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tests;

public class CanonicalJsonTests
{
    public static IEnumerable<TestCaseData> Vectors()
    {
        foreach (string name in new[] { "restore.8fa97c41.link", "build.8fa97c41.link", "build.c0d891af.link", "pack.c0d891af.link" })
        {
            yield return new TestCaseData(new[] { "links", name }, name + ".signed.canonical").SetName("Vector_" + name);
        }

        yield return new TestCaseData(new[] { "root.layout" }, "root.layout.signed.canonical").SetName("Vector_root.layout");
    }

    [TestCaseSource(nameof(Vectors))]
    public void ReproducesReferenceCanonicalBytes(string[] file, string vector)
    {
        byte[] fileBytes = TestData.Bytes(new[] { "cases", "pass-baseline" }.Concat(file).ToArray());
        byte[] expected = TestData.Bytes("vectors", vector);
        var block = Metablock.Parse(fileBytes);
        byte[] actual = CanonicalJson.Serialize(block.Signed);
        Assert.That(actual, Is.EqualTo(expected));

        // And via the typed models: FromJson -> ToJson must not change a single signed byte.
        JsonMap retyped = block.Signed["_type"] is JsonString { Value: "link" }
            ? Link.FromJson(block.Signed).ToJson()
            : Layout.FromJson(block.Signed).ToJson();
        Assert.That(CanonicalJson.Serialize(retyped), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(Vectors))]
    public void JsonTextReproducesTheReferenceFileLayout(string[] file, string vector)
    {
        // in-toto writes json.dumps(indent=1, sort_keys=True) (ASCII escapes, no trailing newline).
        byte[] fileBytes = TestData.Bytes(new[] { "cases", "pass-baseline" }.Concat(file).ToArray());
        var node = JsonParser.Parse(fileBytes);
        Assert.That(JsonText.Write(node), Is.EqualTo(Encoding.UTF8.GetString(fileBytes)));
        Assert.That(JsonText.WriteUtf8(node), Is.EqualTo(fileBytes.Concat(new[] { (byte)'\n' }).ToArray()));
    }

    [Test]
    public void SortsKeysByCodePointNotUtf16()
    {
        var obj = new JsonMap
        {
            { "\U0001F600", 5 },
            { "\uFFFD", 4 },
            { "é", 3 },
            { "a", 2 },
            { "B", 1 },
        };
        string canonical = Encoding.UTF8.GetString(CanonicalJson.Serialize(obj));
        Assert.That(canonical, Is.EqualTo("{\"B\":1,\"a\":2,\"é\":3,\"\uFFFD\":4,\"\U0001F600\":5}"));

        // The same order in JsonText (escaped).
        Assert.That(JsonText.Write(obj, indented: false), Is.EqualTo("{\"B\":1,\"a\":2,\"\\u00e9\":3,\"\\ufffd\":4,\"\\ud83d\\ude00\":5}"));

        // Sanity: UTF-16 ordinal order would put the emoji first.
        Assert.That(string.CompareOrdinal("\U0001F600", "\uFFFD"), Is.LessThan(0));
        Assert.That(CodePointComparer.Instance.Compare("\U0001F600", "\uFFFD"), Is.GreaterThan(0));
    }

    [Test]
    public void CodePointOrderEqualsUtf8ByteOrder()
    {
        var random = new Random(1234);
        var strings = Enumerable.Range(0, 500).Select(_ => JsonFuzz.RandomString(random, 4)).ToList();
        var byCodePoint = strings.OrderBy(s => s, CodePointComparer.Instance).ToList();
        var byUtf8 = strings.OrderBy(s => Encoding.UTF8.GetBytes(s), Comparer<byte[]>.Create(CompareBytes)).ToList();
        Assert.That(byCodePoint, Is.EqualTo(byUtf8));
    }

    private static int CompareBytes(byte[]? x, byte[]? y) => ((ReadOnlySpan<byte>)x).SequenceCompareTo(y);

    [Test]
    public void EscapesOnlyBackslashAndQuote()
    {
        var node = new JsonString("q\" b\\ nl\n tab\t cr\r nul\0 del\u007f é \U0001F600 /");
        byte[] bytes = CanonicalJson.Serialize(node);
        Assert.That(bytes, Is.EqualTo(Encoding.UTF8.GetBytes("\"q\\\" b\\\\ nl\n tab\t cr\r nul\0 del\u007f é \U0001F600 /\"")));
    }

    [Test]
    public void NoWhitespaceAndLiterals()
    {
        var node = new JsonMap
        {
            { "b", new JsonList(1, JsonBool.True, JsonBool.False, JsonNull.Instance, new JsonMap(), new JsonList()) },
            { "a", -7 },
        };
        Assert.That(Encoding.UTF8.GetString(CanonicalJson.Serialize(node)), Is.EqualTo("{\"a\":-7,\"b\":[1,true,false,null,{},[]]}"));
    }

    [TestCase("1.5")]
    [TestCase("1.0")]
    [TestCase("1e3")]
    [TestCase("0.0")]
    public void RejectsFloats(string raw)
    {
        var node = new JsonMap { { "x", new JsonList(new JsonNumber(raw)) } };
        var e = Assert.Throws<JsonFormatException>(() => CanonicalJson.Serialize(node))!;
        Assert.That(e.Message, Does.Contain(raw).And.Contain("$.x[0]"));
        Assert.Throws<JsonFormatException>(() => CanonicalJson.Serialize(JsonParser.Parse("{\"a\": " + raw + "}")));
    }

    [Test]
    public void MinusZeroIsZero()
    {
        Assert.That(CanonicalJson.Serialize(JsonParser.Parse("-0")), Is.EqualTo(Encoding.ASCII.GetBytes("0")));
    }

    [Test]
    public void LoneSurrogatesCannotBeSerialized()
    {
        Assert.Throws<JsonFormatException>(() => CanonicalJson.Serialize(new JsonString("a\ud800b")));
        Assert.Throws<JsonFormatException>(() => CanonicalJson.Serialize(new JsonMap { { "\udc00", 1 } }));
        Assert.Throws<JsonFormatException>(() => JsonText.Write(new JsonString("\ud83d")));
    }

    [Test]
    public void JsonTextIsAsciiIndentedLikePython()
    {
        var node = new JsonMap
        {
            { "b", new JsonList("x\u0001\u007f", new JsonMap(), new JsonList()) },
            { "a", new JsonMap { { "k", "Grüße\n" } } },
        };
        string expected = "{\n \"a\": {\n  \"k\": \"Gr\\u00fc\\u00dfe\\n\"\n },\n \"b\": [\n  \"x\\u0001\\u007f\",\n  {},\n  []\n ]\n}";
        Assert.That(JsonText.Write(node), Is.EqualTo(expected));
        byte[] utf8 = JsonText.WriteUtf8(node);
        Assert.That(utf8.All(b => b < 0x80), Is.True);
        Assert.That(utf8[^1], Is.EqualTo((byte)'\n'));
        Assert.That(utf8.Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }));
    }
}
