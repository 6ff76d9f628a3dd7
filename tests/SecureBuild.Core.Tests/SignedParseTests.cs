using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tests;

/// <summary>
/// <see cref="JsonParser.ParseSigned(byte[])"/> is the verifier's specialisation of the one JSON stack (strings kept as
/// slices of the file, artifact maps kept as <see cref="ArtifactMapSlices"/>). It must accept and reject exactly what
/// <see cref="JsonParser.Parse(byte[])"/> does, give equal trees and the same canonical bytes, and stay correct when
/// its tree is changed afterwards.
/// </summary>
public class SignedParseTests
{
    private static readonly string[] Documents =
    {
        "{\"materials\": {\"a\": {\"sha256\": \"00ff\"}, \"b/c\": {\"sha256\": \"AB01\"}}, \"name\": \"x\"}",
        "{\"m\": {\"z\": {\"sha256\": \"01\"}, \"a\": {\"sha512\": \"02\"}, \"\\u00e9\\\"q\": {\"sha256\": \"03\"}}}",
        "{\"m\": {\"a\": {\"sha256\": \"01\"}, \"b\": {\"sha256\": \"not hex\"}, \"c\": {\"x\": 1}, \"d\": {\"sha256\": \"04\"}}}",
        "{\"m\": {\"a\": {\"sha256\": \"01\", \"sha512\": \"02\"}}, \"e\": {\"k\": {\"v\": \"\\u0041\\n\"}}}",
        "{\"m\": {\"\\ud83d\\ude00\": {\"sha256\": \"01\"}, \"\\u007f\": {\"sha256\": \"02\"}, \"\": {\"sha256\": \"\"}}}",
        "[{\"a\": {\"b\": \"c\"}}, {}, [], \"s\\\\t\", -0, 12, true, false, null]",
        "{\"b\": 1, \"a\": [\"x\", {\"y\": {\"z\": \"w\"}}], \"c\": {\"d\": {\"e\": \"f\"}, \"g\": {\"h\": \"i\"}}}",
    };

    [Test]
    public void A_signed_parse_is_equal_to_a_plain_parse_and_has_the_same_canonical_bytes([Range(0, 6)] int index)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Documents[index]);
        var plain = JsonParser.Parse(bytes);
        var signed = JsonParser.ParseSigned(bytes);

        Assert.That(CanonicalJson.Serialize(signed), Is.EqualTo(CanonicalJson.Serialize(plain)));
        Assert.That(JsonItem.DeepEquals(signed, plain), Is.True);
        Assert.That(signed.ToString(), Is.EqualTo(plain.ToString()));
    }

    [Test]
    public void Artifact_maps_stay_sliced_until_something_changes_them()
    {
        var root = (JsonMap)JsonParser.ParseSigned(Encoding.UTF8.GetBytes(Documents[0]));
        var materials = (JsonMap)root["materials"];
        Assert.That(materials.Slices, Is.Not.Null);
        Assert.That(materials.Slices!.Count, Is.EqualTo(2));

        // Reading members makes them without dropping the slices.
        Assert.That(((JsonString)((JsonMap)materials["b/c"])["sha256"]).Value, Is.EqualTo("AB01"));
        Assert.That(materials.Slices, Is.Not.Null);

        // A change drops them, so the canonical writer writes what the object now holds.
        materials["b/c"] = new JsonMap { { "sha256", "ee" } };
        materials.Add("0", new JsonMap { { "sha256", "11" } });
        Assert.That(materials.Slices, Is.Null);
        Assert.That(
            Encoding.UTF8.GetString(CanonicalJson.Serialize(root)),
            Is.EqualTo("{\"materials\":{\"0\":{\"sha256\":\"11\"},\"a\":{\"sha256\":\"00ff\"},\"b/c\":{\"sha256\":\"ee\"}},\"name\":\"x\"}"));

        var again = (JsonMap)((JsonMap)JsonParser.ParseSigned(Encoding.UTF8.GetBytes(Documents[0])))["materials"];
        Assert.That(again.Remove("a"), Is.True);
        Assert.That(Encoding.UTF8.GetString(CanonicalJson.Serialize(again)), Is.EqualTo("{\"b/c\":{\"sha256\":\"AB01\"}}"));
    }

    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\"}, \"a\": {\"sha256\": \"01\"}}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\"}, \"\\u0061\": {\"sha256\": \"02\"}}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\"}, \"b\": 1, \"a\": {\"sha256\": \"01\"}}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\"}, \"b\": {\"sha256\": \"0\\ud800\"}}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\"}, \"b\": {\"sha256\": \"01\"}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": \"01\",}}}")]
    [TestCase("{\"m\": {\"a\": {\"sha256\": 01}}}")]
    [TestCase("\u00ef\u00bb\u00bf{}")]
    public void A_signed_parse_rejects_what_a_plain_parse_rejects(string text)
    {
        byte[] bytes = text.StartsWith("\u00ef", StringComparison.Ordinal)
            ? new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' }
            : Encoding.UTF8.GetBytes(text);
        var plain = Assert.Throws<JsonFormatException>(() => JsonParser.Parse(bytes))!;
        var signed = Assert.Throws<JsonFormatException>(() => JsonParser.ParseSigned(bytes))!;
        Assert.That(signed.Message, Is.EqualTo(plain.Message));
    }
}
