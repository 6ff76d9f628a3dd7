using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport.Spiffe;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Steps whose functionaries are SPIFFE IDs (in-toto-golang's rootcas + cert_constraints): links signed with an
/// X.509-SVID whose chain travels in the signature's "cert" count when the SVID is valid, chains to the layout's roots
/// and its ID meets the step's constraint; thresholds count distinct SPIFFE IDs.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public class CertificateFunctionaryTests
{
    private const string Builders = "spiffe://ci.example/builder/*";
    private static readonly SvidTestPki Ci = SvidTestPki.Create("ci.example");
    private static readonly SvidTestPki Other = SvidTestPki.Create("other.example");

    private sealed class Case : IDisposable
    {
        public Case(long threshold = 1, params string[] allowed)
        {
            Dir = TestData.NewTempDir("certfunc");
            Owner = SigningKey.Generate(KeyType.Ecdsa);
            var layout = new Layout { Expires = DateTimeOffset.UtcNow.AddDays(30) };
            layout.AddRootCa(LayoutCertificate.From(Ci.Ca));
            layout.Steps.Add(new Step("build")
            {
                Threshold = threshold,
                CertConstraints = { CertificateConstraint.ForSpiffeIds(allowed.Length == 0 ? new[] { Builders } : allowed) },
                ExpectedProducts = { new[] { "ALLOW", "*" } },
            });
            Layout = layout;
        }

        public string Dir { get; }

        public SigningKey Owner { get; }

        public Layout Layout { get; }

        public string LayoutFile => Path.Combine(Dir, "root.layout");

        /// <summary>Signs a "build" link with <paramref name="key"/>, carrying <paramref name="chain"/> in "cert"; returns its file.</summary>
        public string AddLink(SigningKey key, IEnumerable<X509Certificate> chain, string product = "app.dll")
        {
            var link = new Link("build") { Products = new ArtifactMap { { product, HashDict.Sha256(new string('a', 64)) } } };
            var block = new Metablock(link.ToJson());
            block.Sign(key, SvidCertificates.ToPem(chain));
            string file = Path.Combine(Dir, $"build.{key.KeyId.Substring(0, 8)}.link");
            block.Save(file);
            return file;
        }

        public SigningKey AddSvidLink(SvidTestPki pki, string id, TimeSpan? lifetime = null)
        {
            var (cert, keyDer) = pki.Issue(id, lifetime ?? TimeSpan.FromHours(1));
            var key = SigningKey.Parse(SvidCertificates.PrivateKeyPem(keyDer), "svid.key");
            AddLink(key, new[] { cert });
            return key;
        }

        public VerificationResult Verify(Action<LayoutVerifierOptions>? configure = null)
        {
            var block = new Metablock(Layout.ToJson());
            block.Sign(Owner);
            block.Save(LayoutFile);
            var options = new LayoutVerifierOptions { LinkDirectory = Dir, WorkingDirectory = Dir, PersistInspectionLinks = false };
            configure?.Invoke(options);
            return new LayoutVerifier(options).Verify(LayoutFile, new[] { Owner.Public });
        }

        public void Dispose() => TestData.DeleteDirectory(Dir);
    }

    private static string Dropped(VerificationResult result) => string.Join("\n", result.DroppedLinks.Select(d => d.Message));

    private static void AssertRefused(VerificationResult result, params string[] parts)
    {
        Assert.That(result.Passed, Is.False, "verification passed");
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.ThresholdVerificationError), result.Failures[0].Message);
        Assert.That(result.DroppedLinks.Select(d => d.Reason), Is.All.EqualTo(DropReason.CertificateNotAccepted));
        foreach (string part in parts)
        {
            Assert.That(Dropped(result), Does.Contain(part));
            Assert.That(string.Join("\n", result.Failures[0].Details), Does.Contain(part), "the failure's details name it too");
        }
    }

    [Test]
    public void An_svid_of_an_allowed_id_chaining_to_the_layout_root_performs_the_step()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        var result = c.Verify();
        Assert.That(result.Passed, Is.True, Ours.Describe(result));
        Assert.That(result.PerformedBy["build"], Is.EqualTo(new[] { "spiffe://ci.example/builder/linux" }));
    }

    [Test]
    public void The_layout_with_rootcas_and_cert_constraints_reads_back_unchanged()
    {
        using var c = new Case();
        var json = c.Layout.ToJson();
        var again = Layout.FromJson(json);
        Assert.That(Core.Json.CanonicalJson.Serialize(again.ToJson()), Is.EqualTo(Core.Json.CanonicalJson.Serialize(json)));
        Assert.That(again.Steps[0].CertConstraints.Single().Uris, Is.EqualTo(new[] { Builders }));
        Assert.That(again.RootCas.Single().Value.Certificate, Is.EqualTo(Ci.Ca));
    }

    [Test]
    public void An_svid_of_another_trust_domain_is_refused_naming_it()
    {
        using var c = new Case();
        c.AddSvidLink(Other, "spiffe://other.example/builder/linux");
        AssertRefused(c.Verify(), "spiffe://other.example/builder/linux", "SB5226");
    }

    [Test]
    public void An_svid_whose_id_the_constraint_does_not_allow_is_refused_naming_the_id_and_the_constraint()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/tester/linux");
        AssertRefused(c.Verify(), "spiffe://ci.example/tester/linux", "uris: " + Builders);
    }

    [Test]
    public void An_svid_that_expired_before_the_signing_time_is_refused()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        AssertRefused(c.Verify(o => o.CertificateTime = DateTimeOffset.UtcNow.AddHours(3)), "SB5228");
    }

    [Test]
    public void A_later_check_passes_when_it_names_the_signing_time()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        var signedAt = DateTimeOffset.UtcNow;
        var result = c.Verify(o =>
        {
            o.Clock = () => signedAt.AddDays(2);
            o.CertificateTime = signedAt;
        });
        Assert.That(result.Passed, Is.True, Ours.Describe(result));
    }

    [Test]
    public void A_long_lived_svid_is_refused_as_not_short_lived()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux", TimeSpan.FromDays(365));
        AssertRefused(c.Verify(), "SB5229");
    }

    [Test]
    public void A_ca_certificate_as_the_leaf_is_refused()
    {
        using var c = new Case();
        var now = DateTimeOffset.UtcNow;
        var (cert, keyDer) = SvidTestPki.IssueLeaf(Ci.Ca, Ci.CaKey, "spiffe://ci.example/builder/linux", now.AddMinutes(-1), now.AddHours(1), isCa: true);
        c.AddLink(SigningKey.Parse(SvidCertificates.PrivateKeyPem(keyDer), "svid.key"), new[] { cert });
        AssertRefused(c.Verify(), "SB5223");
    }

    [Test]
    public void A_certificate_that_is_not_the_signing_keys_is_refused()
    {
        using var c = new Case();
        var (cert, _) = Ci.Issue("spiffe://ci.example/builder/linux", TimeSpan.FromHours(1));
        c.AddLink(SigningKey.Generate(KeyType.Ecdsa), new[] { cert });
        AssertRefused(c.Verify(), "the certificate it carries is for the key");
    }

    [Test]
    public void A_signature_altered_after_signing_is_refused()
    {
        using var c = new Case();
        var key = c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        string file = Path.Combine(c.Dir, $"build.{key.KeyId.Substring(0, 8)}.link");
        File.WriteAllText(file, File.ReadAllText(file).Replace("app.dll", "evil.dll"));
        var result = c.Verify();
        Assert.That(result.Passed, Is.False);
        Assert.That(result.DroppedLinks.Single().Reason, Is.EqualTo(DropReason.BadSignature));
    }

    [Test]
    public void Two_links_by_one_spiffe_id_count_once_for_a_threshold_of_two()
    {
        using var c = new Case(threshold: 2);
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        var result = c.Verify();
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures[0].Kind, Is.EqualTo(FailureKind.ThresholdVerificationError));
        Assert.That(result.Failures[0].Message, Does.Contain("Only found '1'"));
        Assert.That(result.Failures[0].Details, Has.Some.Contains("same functionary"));
    }

    [Test]
    public void Two_links_by_two_spiffe_ids_meet_a_threshold_of_two()
    {
        using var c = new Case(threshold: 2);
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/linux");
        c.AddSvidLink(Ci, "spiffe://ci.example/builder/windows");
        var result = c.Verify();
        Assert.That(result.Passed, Is.True, Ours.Describe(result));
        Assert.That(result.PerformedBy["build"], Is.EquivalentTo(new[] { "spiffe://ci.example/builder/linux", "spiffe://ci.example/builder/windows" }));
    }

    [Test]
    public void A_link_without_a_certificate_does_not_count_for_a_spiffe_step()
    {
        using var c = new Case();
        var key = SigningKey.Generate(KeyType.Ecdsa);
        var block = new Metablock(new Link("build").ToJson());
        block.Sign(key);
        block.Save(Path.Combine(c.Dir, $"build.{key.KeyId.Substring(0, 8)}.link"));
        File.WriteAllText(Path.Combine(c.Dir, "build.deadbeef.link"), "not json");
        var result = c.Verify();
        Assert.That(result.Passed, Is.False);
        Assert.That(Dropped(result), Does.Contain("no signature with a certificate"));
        Assert.That(Dropped(result), Does.Contain("build.deadbeef.link"), "an unreadable file is dropped, not fatal");
    }

    [Test]
    public void A_changed_constraint_breaks_the_layout_signature()
    {
        using var c = new Case();
        c.AddSvidLink(Ci, "spiffe://ci.example/tester/linux");
        c.Verify();
        string text = File.ReadAllText(c.LayoutFile).Replace("builder/*", "tester/*");
        File.WriteAllText(c.LayoutFile, text);
        var result = new LayoutVerifier(new LayoutVerifierOptions { LinkDirectory = c.Dir, WorkingDirectory = c.Dir, PersistInspectionLinks = false })
            .Verify(c.LayoutFile, new[] { c.Owner.Public });
        Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.SignatureVerificationError));
    }

    [TestCase("rootcas", "[]", "\"rootcas\" must be an object")]
    [TestCase("rootcas", "{\"ab\": {\"keyval\": {\"certificate\": \"not pem\"}}}", "keyval.certificate")]
    [TestCase("cert_constraints", "[{\"uris\": [\"*\"], \"colour\": \"red\"}]", "unexpected field \"colour\"")]
    [TestCase("cert_constraints", "{}", "\"cert_constraints\" must be a list")]
    public void A_malformed_certificate_field_is_a_format_error(string field, string json, string message)
    {
        using var c = new Case();
        var signed = c.Layout.ToJson();
        var value = Core.Json.JsonParser.Parse(System.Text.Encoding.UTF8.GetBytes(json));
        if (field == "rootcas")
        {
            signed["rootcas"] = value;
        }
        else
        {
            ((Core.Json.JsonMap)((Core.Json.JsonList)signed["steps"])[0])["cert_constraints"] = value;
        }

        var block = new Metablock(signed);
        block.Sign(c.Owner);
        block.Save(c.LayoutFile);
        var result = new LayoutVerifier(new LayoutVerifierOptions { LinkDirectory = c.Dir, WorkingDirectory = c.Dir, PersistInspectionLinks = false })
            .Verify(c.LayoutFile, new[] { c.Owner.Public });
        Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.FormatError));
        Assert.That(result.Failures.Single().Message, Does.Contain(message));
    }

    // ---- against Debian's in-toto-verify 1.3.1, which knows neither "cert", "rootcas" nor "cert_constraints" ----

    private static string CaseWithSvidLink(bool certificateStep, out SigningKey svidKey)
    {
        string dir = TestData.NewTempDir("certfunc-ref");
        var owner = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(Path.Combine(dir, "owner.pub"), owner.ExportPublic());
        var (cert, keyDer) = Ci.Issue("spiffe://ci.example/builder/linux", TimeSpan.FromHours(1));
        svidKey = SigningKey.Parse(SvidCertificates.PrivateKeyPem(keyDer), "svid.key");
        var layout = new Layout { Expires = DateTimeOffset.UtcNow.AddDays(30) };
        var step = new Step("build") { ExpectedProducts = { new[] { "ALLOW", "*" } } };
        if (certificateStep)
        {
            layout.AddRootCa(LayoutCertificate.From(Ci.Ca));
            step.CertConstraints.Add(CertificateConstraint.ForSpiffeIds(new[] { Builders }));
        }
        else
        {
            step.PubKeys.Add(layout.AddKey(svidKey.Public));
        }

        layout.Steps.Add(step);
        var block = new Metablock(layout.ToJson());
        block.Sign(owner);
        block.Save(Path.Combine(dir, "root.layout"));
        var link = new Link("build") { Products = new ArtifactMap { { "app.dll", HashDict.Sha256(new string('a', 64)) } } };
        LinkFile.WriteSigned(link, svidKey, Path.Combine(dir, "links"), SvidCertificates.ToPem(new[] { cert }));
        return dir;
    }

    [Test]
    public void A_key_only_layout_accepts_an_svid_signed_link_by_its_key_as_in_toto_verify_does()
    {
        string dir = CaseWithSvidLink(certificateStep: false, out _);
        try
        {
            var outcome = Both.Run(dir, new[] { ("owner.pub", "ed25519") });
            Assert.That(outcome.Reference.Passed, Is.True, "in-toto-verify ignores the signature's \"cert\"\n" + outcome);
            Assert.That(outcome.Ours.Passed, Is.True, outcome.ToString());
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    public void A_layout_with_cert_constraints_is_beyond_in_toto_verify_which_refuses_its_signature()
    {
        string dir = CaseWithSvidLink(certificateStep: true, out _);
        try
        {
            var outcome = Both.Run(dir, new[] { ("owner.pub", "ed25519") });
            Assert.That(outcome.Ours.Passed, Is.True, outcome.ToString());
            Assert.That(outcome.Reference.Passed, Is.False, outcome.ToString());
            Assert.That(outcome.Reference.NormalizedKind(), Is.EqualTo("SignatureVerificationError"), "in-toto-verify drops the fields it does not know, so the owner's signature no longer matches\n" + outcome);
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }
}
