using System.Text.Json;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>
/// X.509-SVID verification against the SPIFFE interop set (TestData/spiffe, copied in): the 21 cases with the verdict
/// and reason openssl reproduces, through Core and through `securebuild svid verify`; bundle forms; the short-lived
/// policy; SPIFFE ID syntax; unreadable input.
/// </summary>
[NonParallelizable]
public class SvidVerifyTests
{
    private static readonly string Root = TestPki.Root;

    private static readonly JsonElement Set = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "cases.json"))).RootElement;

    private static string F(string relative) => Path.Combine(Root, relative);

    private static DateTimeOffset ReferenceTime => DateTimeOffset.Parse(Set.GetProperty("referenceTime").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    public static IEnumerable<TestCaseData> Cases() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "spiffe", "cases.json"))).RootElement
            .GetProperty("cases").EnumerateArray().Select(c => new TestCaseData(c.GetProperty("name").GetString()).SetName("Svid case " + c.GetProperty("name").GetString()));

    private static JsonElement Case(string name) => Set.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static (IReadOnlyList<X509Certificate> Chain, DateTimeOffset At, string Expected, string Reason, string ExpectedId) Load(string name)
    {
        var c = Case(name);
        var chain = c.GetProperty("chain").EnumerateArray().SelectMany(p => SvidCertificates.ReadCertificates(File.ReadAllBytes(F(p.GetString()!)), p.GetString()!)).ToList();
        var at = c.TryGetProperty("evaluationTime", out var t) ? DateTimeOffset.Parse(t.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : ReferenceTime;
        string expectedId = c.TryGetProperty("expectedSpiffeId", out var e) ? e.GetString()! : Set.GetProperty("expectedSpiffeId").GetString()!;
        return (chain, at, c.GetProperty("expected").GetString()!, c.GetProperty("reason").GetString()!, expectedId);
    }

    private static Dictionary<string, IReadOnlyList<X509Certificate>> Bundle(string form = "pem") =>
        new() { ["example.org"] = SvidCertificates.ReadBundle(File.ReadAllBytes(F(Set.GetProperty("trustBundle").GetProperty(form).GetString()!)), form) };

    [TestCaseSource(nameof(Cases))]
    public void Core_gives_each_case_its_verdict_and_reason(string name)
    {
        var (chain, at, expected, reason, expectedId) = Load(name);
        var policy = new SvidPolicy { AllowedIds = new[] { SpiffePattern.Parse(expectedId) } };
        if (expected == "accept")
        {
            Assert.That(SvidVerifier.Verify(chain, Bundle(), at, policy).ToString(), Is.EqualTo(expectedId));
        }
        else
        {
            var e = Assert.Throws<SvidException>(() => SvidVerifier.Verify(chain, Bundle(), at, policy))!;
            Assert.That(e.Rule, Is.EqualTo(reason), e.Message);
            Assert.That(e.Code, Does.StartWith("SB52").And.Not.EqualTo(SvidException.Unreadable));
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void The_cli_gives_each_case_its_exit_code_and_names_the_rule(string name)
    {
        var c = Case(name);
        var (_, at, expected, reason, expectedId) = Load(name);
        string dir = ScratchDirectory.Create("svid-cli");
        try
        {
            string chainFile = Path.Combine(dir, "chain.pem");
            File.WriteAllText(chainFile, string.Concat(c.GetProperty("chain").EnumerateArray().Select(p => File.ReadAllText(F(p.GetString()!)))));
            var (code, output) = SigstoreTufTests.Cli("svid", "verify", chainFile, "--bundle", F("pki/bundle/example.org.bundle.pem"),
                "--spiffe-id", expectedId, "--at", at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            if (expected == "accept")
            {
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(output, Does.Contain("OK: " + expectedId));
            }
            else
            {
                Assert.That(code, Is.EqualTo(1), output);
                Assert.That(output, Does.Contain($"refused ({reason})"));
            }
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    [Test]
    public void The_bundle_reads_the_same_from_pem_der_and_jwks_and_an_empty_jwks_trusts_nothing()
    {
        var pem = Bundle("pem")["example.org"];
        var der = Bundle("der")["example.org"];
        var jwks = Bundle("jwks")["example.org"];
        Assert.That(pem, Has.Count.EqualTo(1));
        Assert.That(der.Single().GetEncoded(), Is.EqualTo(pem.Single().GetEncoded()));
        Assert.That(jwks.Single().GetEncoded(), Is.EqualTo(pem.Single().GetEncoded()));
        Assert.That(SvidVerifier.CaTrustDomain(pem.Single()), Is.EqualTo("example.org"));

        var (chain, at, _, _, _) = Load("valid");
        var empty = new Dictionary<string, IReadOnlyList<X509Certificate>> { ["example.org"] = SvidCertificates.ReadBundle("{\"keys\":[]}"u8.ToArray(), "empty") };
        Assert.That(Assert.Throws<SvidException>(() => SvidVerifier.Verify(chain, empty, at, new SvidPolicy()))!.Rule, Is.EqualTo("untrusted-issuer"));

        // A JWT authority and an x509-svid entry without x5c are ignored; an x509-svid entry with a kid is refused.
        string doc = File.ReadAllText(F("pki/bundle/example.org.jwks.json"));
        using var parsed = JsonDocument.Parse(doc);
        string x5c = parsed.RootElement.GetProperty("keys")[0].GetProperty("x5c")[0].GetString()!;
        string mixed = "{\"keys\":[{\"use\":\"jwt-svid\",\"kty\":\"EC\",\"kid\":\"a\"},{\"use\":\"x509-svid\",\"kty\":\"EC\"},{\"use\":\"x509-svid\",\"kty\":\"EC\",\"x5c\":[\"" + x5c + "\"]}]}";
        Assert.That(SvidCertificates.ReadBundle(System.Text.Encoding.UTF8.GetBytes(mixed), "mixed"), Has.Count.EqualTo(1));
        string withKid = "{\"keys\":[{\"use\":\"x509-svid\",\"kty\":\"EC\",\"kid\":\"k\",\"x5c\":[\"" + x5c + "\"]}]}";
        Assert.That(Assert.Throws<SvidException>(() => SvidCertificates.ReadBundle(System.Text.Encoding.UTF8.GetBytes(withKid), "kid"))!.Code, Is.EqualTo(SvidException.Unreadable));
    }

    [Test]
    public void A_one_year_svid_is_refused_as_not_short_lived_unless_the_policy_allows_it()
    {
        var leaf = TestPki.IssueLeaf("spiffe://example.org/ci/build", ReferenceTime.AddHours(-1), ReferenceTime.AddYears(1)).Cert;
        var chain = new[] { leaf };
        var e = Assert.Throws<SvidException>(() => SvidVerifier.Verify(chain, Bundle(), ReferenceTime, new SvidPolicy()))!;
        Assert.That(e.Code, Is.EqualTo(SvidException.NotShortLived));
        Assert.That(e.Rule, Is.EqualTo("not-short-lived"));
        Assert.That(e.Message, Does.Contain("24 h"));
        Assert.That(SvidVerifier.Verify(chain, Bundle(), ReferenceTime, new SvidPolicy { MaxTtl = TimeSpan.FromDays(400) }).Path, Is.EqualTo("/ci/build"));

        string dir = ScratchDirectory.Create("svid-ttl");
        try
        {
            string file = Path.Combine(dir, "year.pem");
            File.WriteAllText(file, Pem(leaf));
            string at = "2026-01-01T00:30:00Z";
            var (code, output) = SigstoreTufTests.Cli("svid", "verify", file, "--bundle", F("pki/bundle/example.org.jwks.json"), "--at", at);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("SB5229").And.Contain("not-short-lived"));
            (code, output) = SigstoreTufTests.Cli("svid", "verify", file, "--bundle", F("pki/bundle/example.org.bundle.der"), "--at", at, "--max-ttl", "400d");
            Assert.That(code, Is.EqualTo(0), output);
            (code, output) = SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem"), "--at", at, "--max-ttl", "30m");
            Assert.That(code, Is.EqualTo(1), "a 1 h SVID under a 30 min policy: " + output);
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    [Test]
    public void Identities_match_exactly_or_by_path_prefix_within_the_trust_domain()
    {
        var id = SpiffeId.Parse("spiffe://ci.example/builder/linux/x64");
        Assert.Multiple(() =>
        {
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/builder/*").Allows(id), Is.True);
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/*").Allows(id), Is.True);
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/builder/linux/x64").Allows(id), Is.True);
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/builder").Allows(id), Is.False, "exact means exact");
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/build/*").Allows(id), Is.False, "a prefix ends at a segment");
            Assert.That(SpiffePattern.Parse("spiffe://ci.example/builder/linux/x64/*").Allows(id), Is.False, "a prefix wants one more segment");
            Assert.That(SpiffePattern.Parse("spiffe://other.example/builder/*").Allows(id), Is.False, "another trust domain");
            Assert.That(SpiffeId.Parse("SPIFFE://CI.Example/builder").ToString(), Is.EqualTo("spiffe://ci.example/builder"), "scheme and trust domain are case-insensitive");
        });
    }

    [TestCase("https://example.org/a", true)]
    [TestCase("spiffe://", false)]
    [TestCase("spiffe:///path", false)]
    [TestCase("spiffe://example.org:8080/a", false)]
    [TestCase("spiffe://user@example.org/a", false)]
    [TestCase("spiffe://example.org/a?x=1", false)]
    [TestCase("spiffe://example.org/a#f", false)]
    [TestCase("spiffe://example.org/a/", false)]
    [TestCase("spiffe://example.org//a", false)]
    [TestCase("spiffe://example.org/a/../b", false)]
    [TestCase("spiffe://example.org/./b", false)]
    [TestCase("spiffe://example.org/a%20b", false)]
    [TestCase("spiffe://exa%6dple.org/a", false)]
    [TestCase("spiffe://exa mple.org/a", false)]
    public void Invalid_spiffe_ids_are_refused(string text, bool scheme)
    {
        Assert.That(SpiffeId.TryParse(text, out _, out string error, out bool schemeProblem), Is.False);
        Assert.That(error, Is.Not.Empty);
        Assert.That(schemeProblem, Is.EqualTo(scheme));
    }

    [Test]
    public void Unreadable_input_is_exit_2_with_SB5220_never_a_pass()
    {
        string dir = ScratchDirectory.Create("svid-bad");
        try
        {
            string valid = File.ReadAllText(F("pki/leaf/valid.cert.pem"));
            var inputs = new Dictionary<string, string>
            {
                ["empty.pem"] = "",
                ["text.pem"] = "hello",
                ["truncated.pem"] = valid.Substring(0, valid.Length / 2),
                ["badbase64.pem"] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                ["key-only.pem"] = File.ReadAllText(F("pki/leaf/valid.key.pem")),
                ["garbage.der"] = "\u0030\u0082\u00ff\u00ff",
            };
            foreach (var (file, content) in inputs)
            {
                string path = Path.Combine(dir, file);
                File.WriteAllText(path, content);
                var (code, output) = SigstoreTufTests.Cli("svid", "verify", path, "--bundle", F("pki/bundle/example.org.bundle.pem"), "--at", "2026-01-01T00:30:00Z");
                Assert.That(code, Is.EqualTo(2), file + ": " + output);
                Assert.That(output, Does.Contain("SB52"), file);

                (code, output) = SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", path, "--at", "2026-01-01T00:30:00Z");
                Assert.That(code, Is.EqualTo(2), "bundle " + file + ": " + output);
            }

            Assert.That(SigstoreTufTests.Cli("svid", "verify", Path.Combine(dir, "missing.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem")).Code, Is.EqualTo(2));
            Assert.That(SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem"), "--max-ttl", "-1h").Code, Is.EqualTo(2));
            Assert.That(SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem"), "--at", "yesterday").Code, Is.EqualTo(2));
            Assert.That(SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem"), "--spiffe-id", "https://x").Code, Is.EqualTo(2));
            Assert.That(SigstoreTufTests.Cli("svid", "verify", F("pki/leaf/valid.cert.pem"), "--bundle", F("pki/bundle/example.org.bundle.pem"), "--trust-domain", "Not A Domain").Code, Is.EqualTo(2));
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }

    private static string Pem(X509Certificate cert) =>
        "-----BEGIN CERTIFICATE-----\n" + Convert.ToBase64String(cert.GetEncoded(), Base64FormattingOptions.InsertLineBreaks) + "\n-----END CERTIFICATE-----\n";
}
