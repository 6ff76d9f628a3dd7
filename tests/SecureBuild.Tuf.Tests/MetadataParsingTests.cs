using System.Text;
using SecureBuild.Core.Tuf;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Tuf.Tests;

/// <summary>The metadata parser: malformed input is SB5200 (never a crash, never accepted), and a fuzz campaign on real files.</summary>
public class MetadataParsingTests
{
    private static string Data => Path.Combine(AppContext.BaseDirectory, "TestData", "sigstore-tuf", "metadata");

    private static byte[] Timestamp => File.ReadAllBytes(Path.Combine(Data, "timestamp.json"));

    private static TufRootMetadata Root15 => (TufRootMetadata)TufMetadata.Parse(File.ReadAllBytes(Path.Combine(Data, "root_history", "15.root.json")), "root", "15.root.json");

    private static string Edit(string from, string to)
    {
        string text = Encoding.UTF8.GetString(Timestamp);
        Assert.That(text, Does.Contain(from));
        return text.Replace(from, to);
    }

    [TestCase("", TestName = "empty")]
    [TestCase("{\"signed\":", TestName = "truncated")]
    [TestCase("[]", TestName = "not an object")]
    [TestCase("{\"signatures\":[],\"signed\":{}}", TestName = "signed without fields")]
    [TestCase("{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\"},\"extra\":1}", TestName = "unknown top-level field")]
    public void Malformed_text_is_SB5200(string text)
    {
        var error = Assert.Throws<TufException>(() => TufMetadata.Parse(Encoding.UTF8.GetBytes(text), "timestamp", "t.json"))!;
        Assert.That(error.Code, Is.EqualTo(TufException.Malformed));
    }

    [TestCase("\"_type\": \"timestamp\"", "\"_type\": \"snapshot\"", "is 'snapshot' where 'timestamp'")]
    [TestCase("\"spec_version\": \"1.0\"", "\"spec_version\": \"2.0\"", "not a supported TUF version")]
    [TestCase("\"version\": 762", "\"version\": \"762\"", "must be an integer")]
    [TestCase("\"version\": 762", "\"version\": 0", "at least 1")]
    [TestCase("\"version\": 762", "\"version\": 7.5", "must be an integer")]
    [TestCase("\"version\": 762", "\"version\": 99999999999999999999", "64-bit")]
    [TestCase("\"expires\": \"2026-08-28T19:25:56Z\"", "\"expires\": \"next week\"", "RFC 3339")]
    [TestCase("\"version\": 165", "\"version\": -1", "at least 1")]
    [TestCase("\"snapshot.json\"", "\"other.json\"", "exactly \\\"snapshot.json\\\"")]
    public void Malformed_fields_are_SB5200_naming_the_field(string from, string to, string message)
    {
        var error = Assert.Throws<TufException>(() => TufMetadata.Parse(Encoding.UTF8.GetBytes(Edit(from, to)), "timestamp", "t.json"))!;
        Assert.That(error.Code, Is.EqualTo(TufException.Malformed));
        Assert.That(error.Message, Does.Contain(message.Replace("\\\"", "\"")));
    }

    [Test]
    public void Root_roles_with_duplicate_keyids_or_threshold_zero_are_SB5200()
    {
        string root = File.ReadAllText(Path.Combine(Data, "root_history", "15.root.json"));
        string dup = root.Replace("\"keyids\": [\n     \"0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5\"\n    ]",
            "\"keyids\": [\n     \"0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5\", \"0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7bab73fa04a2e0fc64af6f5\"\n    ]");
        Assert.That(dup, Is.Not.EqualTo(root));
        Assert.That(Assert.Throws<TufException>(() => TufMetadata.Parse(Encoding.UTF8.GetBytes(dup), "root", "r"))!.Message, Does.Contain("twice"));
        string zero = root.Replace("\"threshold\": 3", "\"threshold\": 0");
        Assert.That(Assert.Throws<TufException>(() => TufMetadata.Parse(Encoding.UTF8.GetBytes(zero), "root", "r"))!.Message, Does.Contain("threshold must be at least 1"));
    }

    [Test]
    public void Whitespace_and_key_order_do_not_matter_but_a_changed_value_breaks_the_signature()
    {
        var root = Root15;
        var compact = TufMetadata.Parse(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Timestamp).Replace("\n", "").Replace("  ", "")), "timestamp", "t");
        Assert.DoesNotThrow(() => compact.VerifyThreshold(root.Roles["timestamp"], root.Keys, "timestamp", "root 15"));
        var changed = TufMetadata.Parse(Encoding.UTF8.GetBytes(Edit("\"version\": 165", "\"version\": 166")), "timestamp", "t");
        Assert.That(Assert.Throws<TufException>(() => changed.VerifyThreshold(root.Roles["timestamp"], root.Keys, "timestamp", "root 15"))!.Code, Is.EqualTo(TufException.ThresholdNotMet));
    }

    [Test]
    public void Fuzzed_metadata_is_refused_cleanly_and_never_verifies_with_changed_content()
    {
        var root = Root15;
        var corpus = new[] { "timestamp.json", "snapshot.json", "targets.json", "registry.npmjs.org.json", "root_history/15.root.json", "root_history/2.root.json" }
            .Select(f => (f, File.ReadAllBytes(Path.Combine(Data, f)))).ToList();
        var canonicalOriginals = corpus.Select(c => TufMetadata.Parse(c.Item2, Type(c.f), c.f).CanonicalSigned).ToList();
        var problems = FuzzRun.Run("tuf-metadata", corpus, 300, Mutator.Json, bytes =>
        {
            foreach (string type in new[] { "root", "timestamp", "snapshot", "targets" })
            {
                TufMetadata parsed;
                try
                {
                    parsed = TufMetadata.Parse(bytes, type, "fuzzed");
                }
                catch (TufException e) when (e.Code == TufException.Malformed)
                {
                    continue;
                }

                string role = type == "targets" ? "targets" : type;
                try
                {
                    parsed.VerifyThreshold(root.Roles[role], root.Keys, role, "root 15");
                }
                catch (TufException e) when (e.Code == TufException.ThresholdNotMet)
                {
                    continue;
                }

                if (!canonicalOriginals.Any(c => c.AsSpan().SequenceEqual(parsed.CanonicalSigned)))
                {
                    return "a changed signed part verified";
                }
            }

            return null;
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static string Type(string file) => file switch
    {
        "timestamp.json" => "timestamp",
        "snapshot.json" => "snapshot",
        var f when f.Contains("root") => "root",
        _ => "targets",
    };
}
