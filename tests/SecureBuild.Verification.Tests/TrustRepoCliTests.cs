using SecureBuild.Core.Crypto;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// `securebuild verify --trust-repo`: the layout and the layout keys are targets of the organisation's TUF repository
/// (made with `trust init/add/publish`), fetched and verified through it, never read from the working directory.
/// </summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory; one test sets SECUREBUILD_TRUST_REPOSITORY
public class TrustRepoCliTests
{
    private string _dir = "";
    private string _repo = "";
    private string _key = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("trust-repo-verify");
        TestData.CopyDirectory(TestData.Case("pass-baseline"), Path.Combine(_dir, "case"));
        _key = Path.Combine(_dir, "repo.key");
        File.WriteAllText(_key, SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
        _repo = Path.Combine(_dir, "repo");
        Expect(0, "trust", "init", "--repo", _repo, "--root-key", _key, "--targets-key", _key, "--snapshot-key", _key, "--timestamp-key", _key);
        Expect(0, "trust", "add", "--repo", _repo, Path.Combine(_dir, "case", "root.layout"), "--name", "policy/root.layout", "--key", _key);
        Expect(0, "trust", "add", "--repo", _repo, Path.Combine(_dir, "case", "owner.pub"), "--name", "keys/owner.pub", "--key", _key);
        Expect(0, "trust", "publish", "--repo", _repo, "--snapshot-key", _key, "--timestamp-key", _key);
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private string Metadata => Path.Combine(_repo, "metadata");

    private string Cache => Path.Combine(_dir, "cache");

    /// <summary>Runs verify in a fresh copy of the final product (the inspection unpacks into it and leaves a link).</summary>
    private (int Code, string Stdout, string Stderr) Verify(params string[] args)
    {
        string final = Path.Combine(_dir, "case", "final");
        TestData.DeleteDirectory(final);
        TestData.CopyDirectory(Path.Combine(TestData.Case("pass-baseline"), "final"), final);
        return Cli.Run(final, new[] { "verify", "-d", "../links" }.Concat(args).ToArray());
    }

    [Test]
    public void The_layout_and_its_key_come_from_the_repository_not_from_local_files()
    {
        var (code, stdout, stderr) = Verify("--trust-repo", Metadata, "--trust-root", Path.Combine(Metadata, "1.root.json"), "--trust-cache", Cache,
            "-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("PASSED"));

        // Once trusted, the cache is the root: no --trust-root needed.
        (code, _, stderr) = Verify("--trust-repo", Metadata, "--trust-cache", Cache, "-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(0), stderr);

        // Without --trust-repo the same arguments are local files, and there are none.
        (code, _, stderr) = Verify("-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB1001").And.Contain("was not found"));
    }

    [Test]
    public void The_repository_url_can_come_from_SECUREBUILD_TRUST_REPOSITORY()
    {
        string? old = Environment.GetEnvironmentVariable("SECUREBUILD_TRUST_REPOSITORY");
        Environment.SetEnvironmentVariable("SECUREBUILD_TRUST_REPOSITORY", Metadata);
        try
        {
            var (code, _, stderr) = Verify("--trust-root", Path.Combine(Metadata, "1.root.json"), "--trust-cache", Cache, "-l", "policy/root.layout", "-k", "keys/owner.pub");
            Assert.That(code, Is.EqualTo(0), stderr);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SECUREBUILD_TRUST_REPOSITORY", old);
        }
    }

    [Test]
    public void A_first_use_without_a_root_is_a_usage_error_naming_the_fix()
    {
        var (code, _, stderr) = Verify("--trust-repo", Metadata, "--trust-cache", Cache, "-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB5211").And.Contain("--trust-root"));
    }

    [Test]
    public void A_tampered_layout_in_the_repository_fails_verification()
    {
        string served = Directory.GetFiles(Path.Combine(_repo, "targets"), "*root.layout", SearchOption.AllDirectories).Single();
        File.WriteAllText(served, File.ReadAllText(served).Replace("\"_type\"", "\"_typf\"", StringComparison.Ordinal)); // same length, other bytes

        var (code, stdout, stderr) = Verify("--trust-repo", Metadata, "--trust-root", Path.Combine(Metadata, "1.root.json"), "--trust-cache", Cache,
            "-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(1), stdout + stderr);
        Assert.That(stderr, Does.Contain("SB5209").And.Contain("policy/root.layout"));
        Assert.That(stdout, Does.Not.Contain("PASSED"));
    }

    [Test]
    public void A_target_the_repository_does_not_list_fails_naming_it()
    {
        var (code, _, stderr) = Verify("--trust-repo", Metadata, "--trust-root", Path.Combine(Metadata, "1.root.json"), "--trust-cache", Cache,
            "-l", "policy/other.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("SB5208").And.Contain("policy/other.layout"));
    }

    [Test]
    public void An_unreachable_repository_is_refused_and_nothing_is_verified()
    {
        var (code, _, stderr) = Verify("--trust-repo", Path.Combine(_dir, "no-such-repo"), "--trust-root", Path.Combine(Metadata, "1.root.json"), "--trust-cache", Cache,
            "-l", "policy/root.layout", "-k", "keys/owner.pub");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("SB5207"));
    }

    private static void Expect(int code, params string[] args)
    {
        var (actual, stdout, stderr) = Cli.Run(Directory.GetCurrentDirectory(), args);
        Assert.That(actual, Is.EqualTo(code), $"securebuild {string.Join(" ", args)}\n{stdout}\n{stderr}");
    }
}
