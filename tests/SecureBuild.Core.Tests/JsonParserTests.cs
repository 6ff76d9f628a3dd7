using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tests;

public class JsonParserTests
{
    private static JsonFormatException Fails(byte[] input) => Assert.Throws<JsonFormatException>(() => JsonParser.Parse(input))!;

    private static JsonFormatException Fails(string utf8Text) => Fails(Encoding.UTF8.GetBytes(utf8Text));

    [Test]
    public void ParsesAllValueKinds()
    {
        var node = JsonParser.Parse(" {\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\"i\":-12,\"f\":1.5e3,\"t\":true,\"n\":null,\"a\":[false,{}],\"z\":0}\r\n");
        var obj = (JsonMap)node;
        Assert.That(((JsonString)obj["s"]).Value, Is.EqualTo("a\"b\\c/d\b\f\n\r\té\U0001F600"));
        Assert.That(((JsonNumber)obj["i"]).AsInt64(), Is.EqualTo(-12));
        Assert.That(((JsonNumber)obj["f"]).IsInteger, Is.False);
        Assert.That(((JsonNumber)obj["f"]).RawText, Is.EqualTo("1.5e3"));
        Assert.That(((JsonBool)obj["t"]).Value, Is.True);
        Assert.That(obj["n"], Is.InstanceOf<JsonNull>());
        Assert.That(((JsonList)obj["a"]).Count, Is.EqualTo(2));
        Assert.That(obj.Keys, Is.EqualTo(new[] { "s", "i", "f", "t", "n", "a", "z" }), "insertion order is kept");
    }

    [Test]
    public void RawUtf8AndAstralCharactersDecode()
    {
        var node = (JsonString)JsonParser.Parse(Encoding.UTF8.GetBytes("\"Grüße \U0001F600 \uFFFD\""));
        Assert.That(node.Value, Is.EqualTo("Grüße \U0001F600 \uFFFD"));
    }

    [Test]
    public void BigIntegersKeepTheirDigits()
    {
        var n = (JsonNumber)JsonParser.Parse("123456789012345678901234567890");
        Assert.That(n.IsInteger, Is.True);
        Assert.That(n.RawText, Is.EqualTo("123456789012345678901234567890"));
        Assert.Throws<JsonFormatException>(() => n.AsInt64());
        Assert.That(Encoding.ASCII.GetString(CanonicalJson.Serialize(n)), Is.EqualTo("123456789012345678901234567890"));
    }

    [Test]
    public void RejectsBom()
    {
        var e = Fails(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' });
        Assert.That(e.Message, Does.Contain("BOM"));
        Assert.That(e.Offset, Is.EqualTo(0));
        Assert.Throws<JsonFormatException>(() => JsonParser.Parse("\uFEFF{}"));
    }

    [Test]
    public void RejectsDuplicateKeysWithPosition()
    {
        var e = Fails("{\n \"a\": 1,\n \"a\": 2\n}");
        Assert.That(e.Message, Does.Contain("duplicate object key \"a\""));
        Assert.That(e.Line, Is.EqualTo(3));
        Assert.That(e.Column, Is.EqualTo(2));
        Assert.That(e.Offset, Is.EqualTo(12));
        Assert.That(e.Message, Does.Contain("line 3").And.Contain("byte offset 12"));
    }

    [Test]
    public void DuplicateKeysAreComparedAfterUnescaping() => Fails("{\"a\":1,\"\\u0061\":2}");

    [Test]
    public void GeneratedFilesAreReadAsTheirToolsReadThem_TheLastRepeatedKeyWinsAndABomIsSkipped()
    {
        // NuGet writes one source URL twice when a repository's NuGet.config names it under another key than the user's.
        var text = "\uFEFF{\"sources\": {\"https://feed/v3/index.json\": {\"n\": 1}, \"other\": {}, \"https://feed/v3/index.json\": {\"n\": 2}}}";
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Throws<JsonFormatException>(() => JsonParser.Parse(bytes), "what SecureBuild signs and verifies stays strict");
        var sources = (JsonMap)((JsonMap)JsonParser.ParseGenerated(bytes))["sources"];
        Assert.That(sources.Keys, Is.EqualTo(new[] { "https://feed/v3/index.json", "other" }));
        Assert.That(((JsonNumber)((JsonMap)sources["https://feed/v3/index.json"])["n"]).AsInt64(), Is.EqualTo(2), "the last value wins");
    }

    [TestCase("{\"a\":1,\"a\":}")]
    [TestCase("{\"a\":1,\"a\":2")]
    [TestCase("{\"a\":1} x")]
    [TestCase("\uFEFF\uFEFF{}")]
    public void GeneratedFilesWithBadSyntaxAreStillRejected(string text) =>
        Assert.Throws<JsonFormatException>(() => JsonParser.ParseGenerated(Encoding.UTF8.GetBytes(text)));

    [TestCase("", "empty")]
    [TestCase("   ", "empty")]
    [TestCase("{", "end of input")]
    [TestCase("{\"a\"", "end of input")]
    [TestCase("{\"a\":", "end of input")]
    [TestCase("{\"a\":1", "unterminated object")]
    [TestCase("{\"a\":1,", "end of input")]
    [TestCase("[1,2", "unterminated array")]
    [TestCase("[", "end of input")]
    [TestCase("\"abc", "unterminated string")]
    [TestCase("\"abc\\", "escape")]
    [TestCase("\"\\u12", "\\u escape")]
    [TestCase("tru", "literal")]
    [TestCase("nul", "literal")]
    [TestCase("-", "number")]
    public void RejectsTruncation(string text, string expected)
    {
        Assert.That(Fails(text).Message, Does.Contain(expected));
    }

    [TestCase("{} x", "trailing content")]
    [TestCase("{}{}", "trailing content")]
    [TestCase("1 2", "trailing content")]
    [TestCase("[1]]", "trailing content")]
    [TestCase("nullx", "trailing content")]
    [TestCase("0x10", "trailing content")]
    public void RejectsTrailingContent(string text, string expected)
    {
        Assert.That(Fails(text).Message, Does.Contain(expected));
    }

    [TestCase("\"\\x\"")]
    [TestCase("\"\\'\"")]
    [TestCase("\"\\U0041\"")]
    [TestCase("\"\\u00G1\"")]
    [TestCase("\"\\\"")]
    public void RejectsBadEscapes(string text) => Fails(text);

    [TestCase("\"\\ud800\"", "lone high surrogate")]
    [TestCase("\"\\ud800x\"", "lone high surrogate")]
    [TestCase("\"\\ud800\\u0041\"", "lone high surrogate")]
    [TestCase("\"\\udc00\"", "lone low surrogate")]
    [TestCase("\"\\ude00\\ud83d\"", "lone low surrogate")]
    public void RejectsLoneSurrogateEscapes(string text, string expected)
    {
        Assert.That(Fails(text).Message, Does.Contain(expected));
    }

    [Test]
    public void RejectsLoneSurrogatesInStringInput()
    {
        Assert.Throws<JsonFormatException>(() => JsonParser.Parse("\"\ud800\""));
        Assert.Throws<JsonFormatException>(() => JsonParser.Parse("\"\udc00\""));
    }

    [TestCase(new byte[] { 0x22, 0xFF, 0x22 }, TestName = "invalid byte FF")]
    [TestCase(new byte[] { 0x22, 0xC0, 0xAF, 0x22 }, TestName = "overlong 2-byte")]
    [TestCase(new byte[] { 0x22, 0xE0, 0x80, 0xAF, 0x22 }, TestName = "overlong 3-byte")]
    [TestCase(new byte[] { 0x22, 0xED, 0xA0, 0x80, 0x22 }, TestName = "encoded surrogate")]
    [TestCase(new byte[] { 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22 }, TestName = "above U+10FFFF")]
    [TestCase(new byte[] { 0x22, 0xC3, 0x22 }, TestName = "truncated sequence")]
    [TestCase(new byte[] { 0x22, 0x80, 0x22 }, TestName = "lone continuation")]
    [TestCase(new byte[] { 0x22, 0xC3 }, TestName = "truncated at end")]
    [TestCase(new byte[] { 0xC3, 0xA9 }, TestName = "non-ASCII outside string")]
    public void RejectsInvalidUtf8(byte[] input)
    {
        Fails(input);
    }

    [TestCase("\"a\tb\"")]
    [TestCase("\"a\nb\"")]
    [TestCase("\"\u0000\"")]
    [TestCase("\"\u001f\"")]
    public void RejectsRawControlCharacters(string text)
    {
        Assert.That(Fails(text).Message, Does.Contain("control character"));
    }

    [TestCase("01")]
    [TestCase("-01")]
    [TestCase("00")]
    [TestCase("[007]")]
    public void RejectsLeadingZeros(string text)
    {
        Assert.That(Fails(text).Message, Does.Contain("leading zeros"));
    }

    [TestCase("1.")]
    [TestCase(".5")]
    [TestCase("1e")]
    [TestCase("1e+")]
    [TestCase("+1")]
    [TestCase("NaN")]
    [TestCase("Infinity")]
    [TestCase("-Infinity")]
    [TestCase("[1,]")]
    [TestCase("{\"a\":1,}")]
    [TestCase("{a:1}")]
    [TestCase("{'a':1}")]
    [TestCase("[1 2]")]
    [TestCase("{\"a\" 1}")]
    [TestCase("/* c */ 1")]
    [TestCase("\u00a01")]
    public void RejectsOtherSyntaxErrors(string text) => Fails(text);

    [TestCase("0", true)]
    [TestCase("-0", true)]
    [TestCase("1.0", false)]
    [TestCase("1e5", false)]
    [TestCase("-2.5E-3", false)]
    public void AcceptsNumbers(string text, bool isInteger)
    {
        var n = (JsonNumber)JsonParser.Parse(text);
        Assert.That(n.IsInteger, Is.EqualTo(isInteger));
        Assert.That(n.RawText, Is.EqualTo(text));
    }

    [Test]
    public void NestingLimitIs256()
    {
        string ok = new string('[', 256) + new string(']', 256);
        Assert.That(JsonParser.Parse(ok), Is.InstanceOf<JsonList>());
        string objects = string.Concat(Enumerable.Repeat("{\"a\":", 255)) + "{}" + new string('}', 255);
        Assert.That(JsonParser.Parse(objects), Is.InstanceOf<JsonMap>());

        var e = Fails(new string('[', 257) + new string(']', 257));
        Assert.That(e.Message, Does.Contain("deeper than 256"));
        Fails(string.Concat(Enumerable.Repeat("{\"a\":", 256)) + "{}" + new string('}', 256));

        // Far too deep must still be a JsonFormatException, not a stack overflow.
        Fails(new string('[', 100_000));
    }

    [Test]
    public void ErrorMessagesDoNotEchoStringContent()
    {
        var e = Fails("{\"private\": \"secretvalue\\q\"}");
        Assert.That(e.Message, Does.Not.Contain("secretvalue"));
    }
}
