using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>`securebuild verify`: options, exit codes 0/1/2 and output.</summary>
[TestFixture]
[NonParallelizable] // the CLI runs inspections in the process's current directory
public class CliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("cli");
        TestData.CopyDirectory(TestData.Case("pass-baseline"), _dir);
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private string Final => Path.Combine(_dir, "final");

    private (int Code, string Stdout, string Stderr) Verify(params string[] args) =>
        Cli.Run(Final, new[] { "verify" }.Concat(args).ToArray());

    [Test]
    public void Passes_with_short_options_and_prints_a_summary()
    {
        var (code, stdout, stderr) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-t", "rsa", "-d", "../links");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("PASSED").And.Contain("3 step(s), 1 inspection(s), 4 link(s)"));
        Assert.That(File.Exists(Path.Combine(Final, "unzip-package.link")), Is.True, "the inspection link is written like in-toto-verify does");
    }

    [Test]
    public void Key_type_defaults_to_rsa_like_the_reference()
    {
        var (code, _, stderr) = Verify("--layout", "../root.layout", "--layout-keys", "../owner.pub", "--link-dir", "../links", "-q");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stderr, Is.Empty, "quiet prints nothing on success");
    }

    [Test]
    public void Usage_errors_exit_2()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Verify("-l", "../root.layout", "-d", "../links").Code, Is.EqualTo(2), "no layout key");
            Assert.That(Verify("-k", "../owner.pub").Code, Is.EqualTo(2), "no layout");
            Assert.That(Verify("-l", "../missing.layout", "-k", "../owner.pub").Code, Is.EqualTo(2), "layout file missing");
            Assert.That(Verify("-l", "../root.layout", "-k", "../missing.pub").Code, Is.EqualTo(2), "key file missing");
            Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "-t", "rsa", "ed25519").Code, Is.EqualTo(2), "more types than keys");
            Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "-t", "dsa").Code, Is.EqualTo(2), "unknown type");
            Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "-v", "-q").Code, Is.EqualTo(2), "-v with -q");
            Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "--inspection-timeout", "-1").Code, Is.EqualTo(2), "bad timeout");
            Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "--no-such-option").Code, Is.EqualTo(2), "unknown option");
        });
    }

    [Test]
    public void Key_type_must_match_the_key_file()
    {
        string alice = TestData.PublicKeyFile("alice");
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", alice, "-d", "../links");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("is an ed25519 key").And.Contain("rsa when --key-types is omitted").And.Contain("-t ed25519"));

        var (code2, _, stderr2) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-t", "ecdsa", "-d", "../links");
        Assert.That(code2, Is.EqualTo(2));
        Assert.That(stderr2, Does.Contain("is an rsa key, but --key-types says ecdsa"));
    }

    [Test]
    public void Gpg_is_refused_with_a_clear_message()
    {
        var (code, _, stderr) = Verify("-l", "../root.layout", "-g", "8465A1E2E0FB2B40ADB2478E18FB3F537E0C8A17");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("GPG keys (--gpg, --gpg-home) are not supported"));
        Assert.That(Verify("-l", "../root.layout", "-k", "../owner.pub", "--gpg-home", "/tmp").Code, Is.EqualTo(2));
    }

    [Test]
    public void Failure_names_step_rule_artifacts_and_exits_1()
    {
        // Swap the dll in pack's link? Simpler: the shared failing case.
        TestData.DeleteDirectory(_dir);
        TestData.CopyDirectory(TestData.Case("fail-pack-material-not-matched"), _dir);
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-d", "../links");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("securebuild verify: RuleVerificationError:"));
        Assert.That(stderr, Does.Contain("step:      pack (expected_materials)"));
        Assert.That(stderr, Does.Contain("rule:      DISALLOW *"));
        Assert.That(stderr, Does.Contain("artifacts: bin/Hello.dll"));
        Assert.That(stderr, Does.Contain("'MATCH bin/Hello.dll WITH PRODUCTS FROM build': hashes differ"));
    }

    [Test]
    public void Verbose_reports_dropped_links_with_their_reason()
    {
        TestData.DeleteDirectory(_dir);
        TestData.CopyDirectory(TestData.Case("fail-link-signed-by-unauthorized-key"), _dir);
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-d", "../links", "-v");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("dropped link (NotSignedByNamedKey): restore.8fa97c41.link (link): no signature by key 8fa97c41…: it is signed by c3063f0d…"));
        Assert.That(stderr, Does.Contain("Verifying layout signatures"));
    }

    [Test]
    public void Warnings_are_printed_unless_quiet()
    {
        TestData.DeleteDirectory(_dir);
        TestData.CopyDirectory(TestData.Case("pass-command-mismatch-warning"), _dir);
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-d", "../links");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stderr, Does.Contain("warning: Run command '['bash', './tools/restore.sh']' differs from expected command '['bash', 'tools/restore.sh']'"));
        TestData.DeleteDirectory(Path.Combine(Final, "unpacked"));
        var quiet = Verify("-l", "../root.layout", "-k", "../owner.pub", "-d", "../links", "-q");
        Assert.That(quiet.Code, Is.EqualTo(0));
        Assert.That(quiet.Stderr, Is.Empty);
    }

    [Test]
    public void Help_lists_the_verb_and_its_options()
    {
        var (_, stdout, _) = Cli.Run(Final, "verify", "--help");
        foreach (string option in new[] { "--layout", "--layout-keys", "--key-types", "--link-dir", "--verbose", "--quiet", "--inspection-timeout" })
        {
            Assert.That(stdout, Does.Contain(option));
        }
    }
}
