using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Tuf;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// VerifyLayout with SecureBuildTrustRepository: the layout and the owners' keys are targets of the organisation's
/// TUF repository, fetched and verified through it; a tampered target, a missing one, or no root to start from is
/// the build error with the SB52xx code, and nothing from the repository is used.
/// </summary>
public class TrustRepositoryLayoutTests : TaskTestBase
{
    private string Repo => Dir.Path("trust-repo");

    private string Cache => Dir.Path("trust-cache");

    [SetUp]
    public void Publish()
    {
        var repoKey = SigningKey.Generate(KeyType.Ed25519);
        var owner = SigningKey.Generate(KeyType.Ed25519);
        var layout = new Metablock(new Layout { Readme = "policy served through TUF" }.ToJson());
        layout.Sign(owner);

        var repo = new TufRepository(Repo);
        var roles = new[] { "root", "targets", "snapshot", "timestamp" }
            .ToDictionary(r => r, _ => ((IReadOnlyList<PublicKey>)new[] { repoKey.Public }, 1));
        repo.Init(roles, new[] { repoKey });
        repo.AddTarget("policy/app.layout", layout.ToFileBytes(), new[] { repoKey });
        repo.AddTarget("keys/owner.pub", System.Text.Encoding.UTF8.GetBytes(owner.ExportPublic()), new[] { repoKey });
        repo.Publish(new[] { repoKey }, new[] { repoKey });
    }

    private (bool Ok, FakeBuildEngine Engine) Run(string layout = "policy/app.layout", string key = "keys/owner.pub", bool withRoot = true)
    {
        var engine = new FakeBuildEngine();
        var task = new VerifyLayout
        {
            BuildEngine = engine,
            Layout = layout,
            LayoutKeys = new[] { key },
            LinkDirectory = LinkDir,
            RootDirectory = Root,
            ProjectDirectory = ProjectDir,
            TrustRepository = Path.Combine(Repo, "metadata"),
            TrustRoot = withRoot ? Path.Combine(Repo, "metadata", "1.root.json") : null,
            TrustCache = Cache,
        };
        Directory.CreateDirectory(LinkDir);
        return (task.Execute(), engine);
    }

    private static string Errors(FakeBuildEngine engine) => string.Join("\n", engine.Errors.Select(e => $"{e.Code}: {e.Message}"));

    [Test]
    public void The_layout_and_its_key_are_fetched_through_the_repository_and_verify()
    {
        Assert.That(File.Exists(Path.Combine(ProjectDir, "policy", "app.layout")), Is.False, "no local file of that name");
        var (ok, engine) = Run();
        Assert.That(ok, Is.True, Errors(engine));
        Assert.That(engine.Messages.Any(m => m.Message!.Contains("verified against policy/app.layout")), Is.True);

        (ok, engine) = Run(withRoot: false);
        Assert.That(ok, Is.True, "the cache holds the trusted root now: " + Errors(engine));
    }

    [Test]
    public void A_tampered_layout_fails_the_build_with_SB5209()
    {
        string served = Directory.GetFiles(Path.Combine(Repo, "targets"), "*app.layout", SearchOption.AllDirectories).Single();
        byte[] bytes = File.ReadAllBytes(served);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(served, bytes);

        var (ok, engine) = Run();
        Assert.That(ok, Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { "SB5209" }), Errors(engine));
        Assert.That(Errors(engine), Does.Contain("SecureBuildLayout 'policy/app.layout'").And.Contain("SecureBuildTrustRepository"));
    }

    [Test]
    public void A_key_the_repository_does_not_list_fails_with_SB5208()
    {
        var (ok, engine) = Run(key: "keys/other.pub");
        Assert.That(ok, Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { "SB5208" }), Errors(engine));
        Assert.That(Errors(engine), Does.Contain("keys/other.pub"));
    }

    [Test]
    public void No_root_to_start_from_fails_with_SB5211()
    {
        var (ok, engine) = Run(withRoot: false);
        Assert.That(ok, Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { "SB5211" }), Errors(engine));
    }
}
