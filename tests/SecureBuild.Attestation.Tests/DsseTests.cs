using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Attestation.Tests;

/// <summary>DSSE envelopes and in-toto statements against the in-toto attestation vectors in TestData/in-toto/attestation (see TestData/README.md).</summary>
public class DsseTests
{
    private static string Vector(string name) => Path.Combine(TestData.InToto, "attestation", name);

    private static SigningKey Alice() => SigningKey.Load(Path.Combine(TestData.InToto, "keys", "alice"));

    [TestCase("build.link-v0.3")]
    [TestCase("pack.provenance-v1")]
    [TestCase("build.classic-link")]
    public void PaeMatchesTheVectorByteForByte(string name)
    {
        var envelope = DsseEnvelope.Parse(File.ReadAllBytes(Vector(name + ".dsse.json")));
        byte[] payload = File.ReadAllBytes(Vector(name + ".payload.json"));
        Assert.That(envelope.Payload, Is.EqualTo(payload));
        Assert.That(DsseEnvelope.Pae(envelope.PayloadType, payload), Is.EqualTo(File.ReadAllBytes(Vector(name + ".pae.bin"))));
    }

    [TestCase("build.link-v0.3")]
    [TestCase("pack.provenance-v1")]
    [TestCase("build.classic-link")]
    public void AlicesDeterministicSignatureIsReproduced(string name)
    {
        var vector = DsseEnvelope.Parse(File.ReadAllBytes(Vector(name + ".dsse.json")));
        var signed = DsseEnvelope.Sign(vector.PayloadType, File.ReadAllBytes(Vector(name + ".payload.json")), Alice());
        Assert.That(signed.Signatures[0].Signature, Is.EqualTo(vector.Signatures[0].Signature));
        Assert.That(signed.Signatures[0].KeyId, Is.EqualTo(vector.Signatures[0].KeyId));
        Assert.That(JsonItem.DeepEquals(signed.ToJson(), JsonParser.Parse(File.ReadAllBytes(Vector(name + ".dsse.json")))), Is.True);
        Assert.That(vector.Verify(Alice().Public, DsseEnvelope.InTotoPayloadType, requireSingleSignature: true).Verified, Is.True);
    }

    [Test]
    public void StatementVectorsParse()
    {
        var link = InTotoStatement.Parse(File.ReadAllBytes(Vector("build.link-v0.3.payload.json")));
        Assert.That(link.PredicateType, Is.EqualTo("https://in-toto.io/attestation/link/v0.3"));
        Assert.That(link.Subjects[0].Name, Is.EqualTo("bin/Hello.dll"));
        Assert.That(link.HasSubjectDigest("sha256", "959abb9f076b2ae39f034c6093b392d62f21ed72bd8c3c6ea18f8ce0f6bbfb46"), Is.True);
        var provenance = InTotoStatement.Parse(File.ReadAllBytes(Vector("pack.provenance-v1.payload.json")));
        Assert.That(provenance.PredicateType, Is.EqualTo("https://slsa.dev/provenance/v1"));
        Assert.That(provenance.Predicate!.ContainsKey("buildDefinition"), Is.True);
        InTotoStatement.Parse(File.ReadAllBytes(Vector("test-result.payload.json")));
        InTotoStatement.Parse(File.ReadAllBytes(Vector("runtime-trace.payload.json")));
        Assert.Throws<AttestationFormatException>(() => InTotoStatement.Parse(File.ReadAllBytes(Vector("build.classic-link.payload.json"))));
    }

    [Test]
    public void UrlSafeAndUnpaddedBase64AreAccepted()
    {
        var vector = DsseEnvelope.Parse(File.ReadAllBytes(Vector("build.link-v0.3.dsse.json")));
        string urlSafe(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string json = $"{{\"payload\":\"{urlSafe(vector.Payload)}\",\"payloadType\":\"{vector.PayloadType}\",\"signatures\":[{{\"sig\":\"{urlSafe(vector.Signatures[0].Signature)}\"}}]}}";
        var parsed = DsseEnvelope.Parse(json);
        Assert.That(parsed.Payload, Is.EqualTo(vector.Payload));
        Assert.That(parsed.Signatures[0].KeyId, Is.Null);
        Assert.That(parsed.Verify(Alice().Public).Verified, Is.True);
    }

    [Test]
    public void WrongPayloadTypeFails()
    {
        var vector = DsseEnvelope.Parse(File.ReadAllBytes(Vector("build.link-v0.3.dsse.json")));
        var pinned = vector.Verify(Alice().Public, "application/vnd.in-toto.link+json");
        Assert.That(pinned.Verified, Is.False);
        Assert.That(pinned.Failure, Does.Contain("payloadType"));

        // Changing the type after signing breaks the PAE signature even without a pin.
        var retyped = new DsseEnvelope("application/json", vector.Payload, vector.Signatures);
        Assert.That(retyped.Verify(Alice().Public).Verified, Is.False);
    }

    [Test]
    public void TamperedPayloadOrWrongKeyFails()
    {
        var vector = DsseEnvelope.Parse(File.ReadAllBytes(Vector("build.link-v0.3.dsse.json")));
        byte[] payload = (byte[])vector.Payload.Clone();
        payload[payload.Length / 2] ^= 1;
        Assert.That(new DsseEnvelope(vector.PayloadType, payload, vector.Signatures).Verify(Alice().Public).Verified, Is.False);
        Assert.That(vector.Verify(SigningKey.Generate(KeyType.Ed25519).Public).Verified, Is.False);
    }

    [Test]
    public void SignatureCountRules()
    {
        var alice = Alice();
        var other = SigningKey.Generate(KeyType.Ecdsa);
        byte[] payload = Encoding.UTF8.GetBytes("{\"x\":1}");
        var a = DsseEnvelope.Sign("application/json", payload, alice);
        var b = DsseEnvelope.Sign("application/json", payload, other);
        var two = new DsseEnvelope("application/json", payload, a.Signatures.Concat(b.Signatures));
        Assert.That(two.Verify(alice.Public).Verified, Is.True);
        var single = two.Verify(alice.Public, requireSingleSignature: true);
        Assert.That(single.Verified, Is.False);
        Assert.That(single.Failure, Does.Contain("exactly one signature"));
        Assert.That(two.Verify(new[] { alice.Public, other.Public }, 2).Verified, Is.True);
        Assert.That(a.Verify(new[] { alice.Public, other.Public }, 2).Verified, Is.False);

        // The same key listed twice counts once.
        Assert.That(a.Verify(new[] { alice.Public, alice.Public }, 2).Verified, Is.False);

        var zero = "{\"payload\":\"e30=\",\"payloadType\":\"application/json\",\"signatures\":[]}";
        Assert.That(Assert.Throws<AttestationFormatException>(() => DsseEnvelope.Parse(zero))!.Message, Does.Contain("not signed"));
    }

    [TestCase("", "empty")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"AAAA\"}]", "not valid JSON")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"A A\"}]}", "not valid base64")]
    [TestCase("{\"payload\":\"e3$=\",\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"AAAA\"}]}", "not valid base64")]
    [TestCase("{\"payload\":\"e30\",\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"AAAAA\"}]}", "truncated")]
    [TestCase("{\"payload\":\"e3-/\",\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"AAAA\"}]}", "mixes")]
    [TestCase("{\"payloadType\":\"application/json\",\"signatures\":[{\"sig\":\"AAAA\"}]}", "\"payload\" is missing")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":7,\"signatures\":[{\"sig\":\"AAAA\"}]}", "must be a string")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":{}}", "must be an array")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"\"}]}", "empty")]
    [TestCase("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\",\"extra\":1}]}", "unexpected field")]
    [TestCase("{\"payload\":\"e30=\",\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}", "not valid JSON")]
    [TestCase("[]", "must be a JSON object")]
    public void MalformedEnvelopesAreRejected(string json, string expected)
    {
        var e = Assert.Throws<AttestationFormatException>(() => DsseEnvelope.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.That(e!.Message, Does.Contain(expected));
    }

    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"digest\":{\"sha256\":\"" + Hash + "\"}}],\"predicateType\":\"x\"}", "_type")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],\"predicateType\":\"x\"}", "empty")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\"}],\"predicateType\":\"x\"}", "digest")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\",\"uri\":\"https://x\"}],\"predicateType\":\"x\"}", "no \"digest\"")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"abc\"}}],\"predicateType\":\"x\"}", "64 hex")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":1}}],\"predicateType\":\"x\"}", "must be a string")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"" + Hash + "\"}}]}", "predicateType")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"" + Hash + "\"}}],\"predicateType\":\"x\",\"predicate\":[]}", "must be an object")]
    [TestCase("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"" + Hash + "\"}}],\"predicateType\":\"x\"", "not valid JSON")]
    public void MalformedStatementsAreRejected(string json, string expected)
    {
        var e = Assert.Throws<AttestationFormatException>(() => InTotoStatement.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.That(e!.Message, Does.Contain(expected));
    }

    [Test]
    public void StatementRoundTripsAndIgnoresUnknownFields()
    {
        string json = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a.nupkg\",\"digest\":{\"sha256\":\"" + Hash + "\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"k\":1},\"futureField\":true}";
        var s = InTotoStatement.Parse(Encoding.UTF8.GetBytes(json));
        var again = InTotoStatement.Parse(s.ToPayload());
        Assert.That(again.Subjects.Single().Name, Is.EqualTo("a.nupkg"));
        Assert.That(again.HasSubjectDigest("sha256", Hash.ToUpperInvariant()), Is.True);
        Assert.That(JsonItem.DeepEquals(again.Predicate, s.Predicate), Is.True);
    }

    internal const string Hash = "4472eca02ac01c8ef978622fd3b9d79970f95b804b3414171b4a5a85e90fb000";
}
