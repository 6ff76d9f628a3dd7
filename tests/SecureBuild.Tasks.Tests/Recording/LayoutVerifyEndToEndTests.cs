using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Recording;

/// <summary>
/// Links made by StepRecorder for a tiny fake restore -> compile -> pack chain, a layout made by
/// LayoutGenerator, checked by Debian's reference in-toto-verify.
/// </summary>
[NonParallelizable]
public sealed class LayoutVerifyEndToEndTests
{
    private const string Library = "App/bin/lib[1]*?.dll"; // fnmatch metacharacters: the DISALLOW rule must escape them
    private static readonly SigningKey Functionary = SigningKey.Generate(KeyType.Ed25519);
    private static SigningKey? _owner;

    private TempDirectory _dir = null!;

    private static SigningKey Owner => _owner ??= SigningKey.Generate(KeyType.Rsa);

    [OneTimeSetUp]
    public void RequireVerifier() => InTotoVerify.EnsureInstalled();

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("e2e");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string Project => _dir.Path("work");
    private string LinkDir => _dir.Path("work/App/bin/attestations");

    private StepRecorder Recorder()
    {
        var namer = new ArtifactNamer(Project);
        return new StepRecorder(namer, FileHashCache.InMemory(new PathMapping(namer.PathTokens)), new[] { "sha256" }, new[] { LinkDir });
    }

    private string P(string relative) => Path.Combine(Project, relative.Replace('/', Path.DirectorySeparatorChar));

    private void Write(string relative, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(relative))!);
        File.WriteAllText(P(relative), content);
    }

    /// <summary>Hashes the materials, runs the step, hashes the products and writes the signed link.</summary>
    private void RecordStep(string name, string[] materials, Action run, string[] products)
    {
        var recorder = Recorder();
        var before = recorder.Record(materials.Select(P));
        run();
        var link = new Link(name)
        {
            Command = new[] { "dotnet", name, "App/App.csproj" },
            Materials = before,
            Products = recorder.Record(products.Select(P)),
        };
        Assert.That(recorder.Missing, Is.Empty);
        LinkFile.WriteSigned(link, Functionary, LinkDir);
    }

    private void BuildChain()
    {
        Write("App/App.csproj", "<Project Sdk=\"SecureBuild.Sdk\" />");
        Write("App/Program.cs", "System.Console.WriteLine(1);");
        RecordStep("restore", new[] { "App/App.csproj" },
            () => Write("App/obj/project.assets.json", $"{{\"project\": \"{Project}/App/App.csproj\"}}"),
            new[] { "App/obj/project.assets.json" });
        RecordStep("compile", new[] { "App/Program.cs", "App/obj/project.assets.json" },
            () => { Write("App/bin/App.dll", "assembly"); Write(Library, "library"); },
            new[] { "App/bin/App.dll", Library });
        RecordPack();
    }

    private void RecordPack() =>
        RecordStep("pack", new[] { "App/bin/App.dll", Library, "App/Program.cs" },
            () => Write("App/bin/App.1.0.0.nupkg", "package"),
            new[] { "App/bin/App.1.0.0.nupkg" });

    private (string Layout, string OwnerKey) SignedLayout()
    {
        var links = Directory.EnumerateFiles(LinkDir, "*.link").Select(f => Link.FromJson(Metablock.Load(f).Signed)).ToList();
        Assert.That(links.Select(l => l.Name), Is.EquivalentTo(new[] { "restore", "compile", "pack" }));
        var layout = LayoutGenerator.Create(links, new[] { Functionary.Public }, 1, DateTimeOffset.UtcNow.AddDays(30), "test layout");
        var block = new Metablock(layout.ToJson());
        block.Sign(Owner);
        var layoutPath = _dir.Path("root.layout");
        block.Save(layoutPath);
        var ownerKey = _dir.Path("owner.pub");
        File.WriteAllText(ownerKey, Owner.ExportPublic());
        return (layoutPath, ownerKey);
    }

    [Test]
    public void The_chain_passes_in_toto_verify()
    {
        BuildChain();
        var (layout, ownerKey) = SignedLayout();

        var result = InTotoVerify.Verify(_dir.FullPath, layout, LinkDir, ownerKey, "rsa");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("The software product passed all verification."));
    }

    [TestCase("App/bin/App.dll")]
    [TestCase(Library)]
    public void A_consumed_product_swapped_between_steps_fails_with_RuleVerificationError(string swapped)
    {
        BuildChain();
        var (layout, ownerKey) = SignedLayout();

        // Someone replaces a compile output before pack reads it; pack records honestly what it read.
        Write(swapped, "injected");
        RecordPack();
        var result = InTotoVerify.Verify(_dir.FullPath, layout, LinkDir, ownerKey, "rsa");

        Assert.That(result.ExitCode, Is.Not.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("RuleVerificationError").And.Contain(swapped), result.Output);
    }

    [Test]
    public void A_swapped_source_is_not_a_rule_violation()
    {
        // Sources are not products of an earlier step: the policy allows the project's files by name (ALLOW App/*), any content.
        BuildChain();
        var (layout, ownerKey) = SignedLayout();

        Write("App/Program.cs", "System.Console.WriteLine(2);");
        RecordPack();
        var result = InTotoVerify.Verify(_dir.FullPath, layout, LinkDir, ownerKey, "rsa");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
    }

    [Test]
    public void A_step_that_rewrites_a_source_file_fails_with_RuleVerificationError()
    {
        BuildChain();
        var (layout, ownerKey) = SignedLayout();

        // A compromised compile step also rewrites Program.cs; it records honestly what it wrote.
        RecordStep("compile", new[] { "App/Program.cs", "App/obj/project.assets.json" },
            () => { Write("App/bin/App.dll", "assembly"); Write(Library, "library"); Write("App/Program.cs", "backdoor();"); },
            new[] { "App/bin/App.dll", Library, "App/Program.cs" });
        var result = InTotoVerify.Verify(_dir.FullPath, layout, LinkDir, ownerKey, "rsa");

        Assert.That(result.ExitCode, Is.Not.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("RuleVerificationError").And.Contain("DISALLOW *").And.Contain("App/Program.cs"), result.Output);
    }

    [Test]
    public void A_step_that_reads_a_file_planted_in_bin_fails_with_RuleVerificationError()
    {
        BuildChain();
        var (layout, ownerKey) = SignedLayout();

        Write("App/bin/Evil.dll", "planted");
        RecordStep("pack", new[] { "App/bin/App.dll", Library, "App/Program.cs", "App/bin/Evil.dll" },
            () => Write("App/bin/App.1.0.0.nupkg", "package"),
            new[] { "App/bin/App.1.0.0.nupkg" });
        var result = InTotoVerify.Verify(_dir.FullPath, layout, LinkDir, ownerKey, "rsa");

        Assert.That(result.ExitCode, Is.Not.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("RuleVerificationError").And.Contain("DISALLOW App/bin/*").And.Contain("App/bin/Evil.dll"), result.Output);
    }
}
