using SecureBuild.Core.Crypto;
using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// The no-op fast path of RecordStepProducts: a link is confirmed from its fingerprint only while nothing
/// it records changed; any change to a material, product, key, command or the link itself gives a new,
/// correct link.
/// </summary>
public sealed class LinkFingerprintTests : TaskTestBase
{
    private const string FastPathMessage = "nothing it records changed";

    private string _source = "";
    private string _dll = "";
    private string _publishDir = "";
    private string[] _command = Array.Empty<string>();

    [SetUp]
    public void CreateFiles()
    {
        _source = Dir.Write("repo/App/Program.cs", "class P {}");
        _dll = Dir.Write("repo/App/bin/Release/App.dll", "assembly-1");
        _publishDir = Dir.Path("repo/App/bin/Release/publish");
        Dir.Write("repo/App/bin/Release/publish/App.dll", "assembly-1");
        _command = new[] { "dotnet", "msbuild", "{project}", "-t:CoreCompile", "-p:Configuration=Release" };
        foreach (var file in new[] { _source, _dll, ProjectFile, Path.Combine(_publishDir, "App.dll"), BuildKey.PrivatePath })
        {
            MakeOld(file, 0);
        }
    }

    /// <summary>Runs the step (materials, then products) as a build would; true when the link was confirmed by its fingerprint.</summary>
    private bool Build(out RecordStepProducts products, string? keyPath = null)
    {
        var engine = new FakeBuildEngine();
        var materials = Materials(engine, "compile", _source, ProjectFile);
        Assert.That(materials.Execute(), Is.True, engine.Log);
        products = Products(engine, "compile", _dll);
        products.ProductDirectories = new[] { _publishDir };
        products.Command = _command;
        products.SigningKey = keyPath ?? BuildKey.PrivatePath;
        Assert.That(products.Execute(), Is.True, engine.Log);
        Assert.That(engine.Errors, Is.Empty);
        return engine.Messages.Any(m => m.Message?.Contains(FastPathMessage) == true);
    }

    /// <summary>Gives the file a last-write time well outside the racy window (distinct per <paramref name="minutes"/>).</summary>
    private static void MakeOld(string file, int minutes) =>
        File.SetLastWriteTimeUtc(file, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(minutes));

    /// <summary>A first build signs the link (and fingerprints it: every file is old); the second is fast.</summary>
    private RecordStepProducts BuildUntilFast()
    {
        Assert.That(Build(out _), Is.False, "nothing to confirm yet");
        Assert.That(Build(out var fast), Is.True, "an unchanged step is confirmed by its fingerprint");
        return fast;
    }

    private string LinkPath => Path.Combine(LinkDir, LinkName("compile", BuildKey.Key.Public));

    [Test]
    public void An_unchanged_step_takes_the_fast_path_and_leaves_every_file_untouched()
    {
        Build(out _);
        MakeOld(LinkPath, 0);
        var bytes = File.ReadAllBytes(LinkPath);

        Assert.That(Build(out var fast), Is.True, "an unchanged step is confirmed by its fingerprint");

        Assert.That(fast.LinkFile, Is.EqualTo(LinkPath));
        Assert.That(File.ReadAllBytes(LinkPath), Is.EqualTo(bytes));
        Assert.That(File.GetLastWriteTimeUtc(LinkPath), Is.EqualTo(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void A_step_recorded_again_with_the_same_inputs_in_one_build_takes_the_first_link_and_the_next_build_looks_again()
    {
        // A multi-targeted project records its restore step once per target framework, with the same inputs.
        var engine = new FakeBuildEngine();
        Assert.That(Materials(engine, "restore", _source, ProjectFile).Execute(), Is.True, engine.Log);
        RecordStepProducts Restore(FakeBuildEngine e)
        {
            var task = Products(e, "restore", _dll);
            task.Command = _command;
            task.SigningKey = BuildKey.PrivatePath;
            Assert.That(task.Execute(), Is.True, e.Log);
            return task;
        }
        var first = Restore(engine);
        var link = Path.Combine(LinkDir, LinkName("restore", BuildKey.Key.Public));
        Assert.That(first.LinkFile, Is.EqualTo(link));
        var again = Restore(engine);
        Assert.That(again.LinkFile, Is.EqualTo(link));
        Assert.That(engine.Messages.Count(m => m.Message?.Contains("recorded earlier in this build") == true), Is.EqualTo(1), engine.Log);

        // Another product list is another call: recorded, not taken from the first.
        var other = Products(engine, "restore", _dll, _source);
        other.Command = _command;
        other.SigningKey = BuildKey.PrivatePath;
        Assert.That(other.Execute(), Is.True, engine.Log);
        Assert.That(engine.Messages.Count(m => m.Message?.Contains("recorded earlier in this build") == true), Is.EqualTo(1), engine.Log);

        // The next build (a new engine: the Build lifetime ended) looks at the files again and sees the changed product.
        File.WriteAllText(_dll, "assembly-2");
        MakeOld(_dll, 5);
        var next = new FakeBuildEngine();
        Assert.That(Materials(next, "restore", _source, ProjectFile).Execute(), Is.True, next.Log);
        var rebuilt = Restore(next);
        Assert.That(next.Messages.Any(m => m.Message?.Contains("recorded earlier in this build") == true), Is.False, next.Log);
        Assert.That(LoadLink(rebuilt.LinkFile!, BuildKey.Key.Public).Products.Values.Single()["sha256"], Is.EqualTo(Sha256(_dll)));
    }

    [Test]
    public void A_material_rewritten_with_the_same_size_gives_a_new_link()
    {
        BuildUntilFast();
        File.WriteAllText(_source, "class Q {}");
        MakeOld(_source, 1);

        Assert.That(Build(out var products), Is.False);

        var link = LoadLink(products.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Sha256(_source)));
    }

    [Test]
    public void A_product_rewritten_with_the_same_size_gives_a_new_link()
    {
        BuildUntilFast();
        File.WriteAllText(_dll, "assembly-2");
        MakeOld(_dll, 1);

        Assert.That(Build(out var products), Is.False);

        var link = LoadLink(products.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Products["App/bin/Release/App.dll"]["sha256"], Is.EqualTo(Sha256(_dll)));
    }

    [Test]
    public void A_new_file_in_a_product_directory_gives_a_new_link()
    {
        BuildUntilFast();
        var added = Dir.Write("repo/App/bin/Release/publish/App.pdb", "symbols");
        MakeOld(added, 0);

        Assert.That(Build(out var products), Is.False);

        var link = LoadLink(products.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Products.Keys, Does.Contain("App/bin/Release/publish/App.pdb"));
    }

    [Test]
    public void A_material_that_disappeared_gives_a_new_link()
    {
        BuildUntilFast();
        File.Delete(_source);

        Assert.That(Build(out var products), Is.False);

        Assert.That(LoadLink(products.LinkFile!, BuildKey.Key.Public).Materials.Keys, Does.Not.Contain("App/Program.cs"));
    }

    [Test]
    public void Another_key_in_the_same_key_file_signs_a_new_link()
    {
        BuildUntilFast();
        var other = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(BuildKey.PrivatePath, other.ExportPrivate());
        MakeOld(BuildKey.PrivatePath, 0); // same time as before: only the content changed

        Assert.That(Build(out var products), Is.False);

        Assert.That(products.LinkFile, Is.EqualTo(Path.Combine(LinkDir, LinkName("compile", other.Public))));
        LoadLink(products.LinkFile!, other.Public);
    }

    [Test]
    public void Another_key_file_signs_a_new_link()
    {
        BuildUntilFast();
        var other = SigningKey.Generate(KeyType.Ed25519);
        var otherPath = Dir.Write("keys/other.key", other.ExportPrivate());
        MakeOld(otherPath, 0);

        Assert.That(Build(out var products, otherPath), Is.False);

        LoadLink(products.LinkFile!, other.Public);
    }

    [Test]
    public void A_changed_command_gives_a_new_link()
    {
        BuildUntilFast();
        _command = new[] { "dotnet", "msbuild", "{project}", "-t:CoreCompile", "-p:Configuration=Debug" };

        Assert.That(Build(out var products), Is.False);

        Assert.That(LoadLink(products.LinkFile!, BuildKey.Key.Public).Command.Last(), Is.EqualTo("-p:Configuration=Debug"));
    }

    [Test]
    public void A_tampered_link_is_rewritten_even_with_its_size_and_time_restored()
    {
        BuildUntilFast();
        var original = File.ReadAllText(LinkPath);
        var digest = Sha256(_dll);
        var tampered = original.Replace(digest, new string('0', digest.Length));
        Assert.That(tampered, Is.Not.EqualTo(original));
        File.WriteAllText(LinkPath, tampered);
        MakeOld(LinkPath, 0);

        Assert.That(Build(out var products), Is.False);

        var link = LoadLink(products.LinkFile!, BuildKey.Key.Public);
        Assert.That(link.Products["App/bin/Release/App.dll"]["sha256"], Is.EqualTo(digest));
    }

    [Test]
    public void A_deleted_link_or_statement_is_written_again()
    {
        BuildUntilFast();
        File.Delete(LinkPath);
        Assert.That(Build(out _), Is.False);
        LoadLink(LinkPath, BuildKey.Key.Public);

        var statement = Path.Combine(LinkDir, "compile." + BuildKey.Key.KeyId.Substring(0, 8) + ".intoto.jsonl");
        Assert.That(File.Exists(statement), Is.True);
        File.Delete(statement);
        Assert.That(Build(out _), Is.False);
        Assert.That(File.Exists(statement), Is.True);
    }

    [Test]
    public void A_file_written_within_the_racy_window_is_never_trusted_by_its_time()
    {
        BuildUntilFast();
        File.WriteAllText(_dll, "assembly-3");
        // As if just written: its time says nothing about a later same-size rewrite within the time granularity.
        File.SetLastWriteTimeUtc(_dll, DateTime.UtcNow.AddMinutes(1));

        Assert.That(Build(out var products), Is.False);
        Assert.That(LoadLink(products.LinkFile!, BuildKey.Key.Public).Products["App/bin/Release/App.dll"]["sha256"], Is.EqualTo(Sha256(_dll)));
        Assert.That(File.Exists(StepFingerprint.LinkFingerprintFile(Path.Combine(StateDir, "compile.materials.json"))), Is.False,
            "no fingerprint while a recorded file is that fresh");
        Assert.That(Build(out _), Is.False);
    }

    private string PendingFile => Path.Combine(StateDir, "compile.materials.json");

    [Test]
    public void Unchanged_materials_are_not_hashed_again_nor_their_pending_file_rewritten()
    {
        BuildUntilFast();
        MakeOld(PendingFile, 0);
        var pending = File.ReadAllBytes(PendingFile);

        Assert.That(Build(out _), Is.True);

        Assert.That(File.ReadAllBytes(PendingFile), Is.EqualTo(pending));
        Assert.That(File.GetLastWriteTimeUtc(PendingFile), Is.EqualTo(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void An_edited_pending_materials_file_is_written_again_and_the_link_stays_correct()
    {
        BuildUntilFast();
        var digest = Sha256(_source);
        File.WriteAllText(PendingFile, File.ReadAllText(PendingFile).Replace(digest, new string('1', digest.Length)));

        Build(out var products);

        Assert.That(File.ReadAllText(PendingFile), Does.Contain(digest));
        Assert.That(LoadLink(products.LinkFile!, BuildKey.Key.Public).Materials["App/Program.cs"]["sha256"], Is.EqualTo(digest));
    }

    [Test]
    public void Products_alone_confirm_nothing_when_the_pending_materials_were_edited()
    {
        BuildUntilFast();
        var digest = Sha256(_source);
        File.WriteAllText(PendingFile, File.ReadAllText(PendingFile).Replace(digest, new string('1', digest.Length)));
        var engine = new FakeBuildEngine();
        var products = Products(engine, "compile", _dll); // as with --no-restore: no materials task ran before
        products.ProductDirectories = new[] { _publishDir };
        products.Command = _command;

        Assert.That(products.Execute(), Is.True, engine.Log);

        Assert.That(engine.Messages.Any(m => m.Message?.Contains(FastPathMessage) == true), Is.False);
        Assert.That(LoadLink(products.LinkFile!, BuildKey.Key.Public).Materials["App/Program.cs"]["sha256"], Is.EqualTo(new string('1', digest.Length)),
            "the slow path records the pending materials as they are");
    }

    [Test]
    public void The_fast_path_still_warns_about_the_development_key()
    {
        var developmentKey = Dir.Path("home/.securebuild/development-key");
        RecordStepProducts Configure(FakeBuildEngine engine)
        {
            Assert.That(Materials(engine, "compile", _source).Execute(), Is.True, engine.Log);
            var products = Products(engine, "compile", _dll);
            products.SigningKey = null;
            products.DevelopmentKeyFile = developmentKey;
            return products;
        }
        for (var i = 0; i < 3; i++)
        {
            var engine = new FakeBuildEngine();
            Assert.That(Configure(engine).Execute(), Is.True, engine.Log);
            Assert.That(engine.WarningCodes, Does.Contain("SB2001"));
            if (i == 0)
            {
                MakeOld(developmentKey, 0);
                foreach (var link in FilesIn(LinkDir))
                {
                    MakeOld(link, 0);
                }
            }
            if (i == 2)
            {
                Assert.That(engine.Messages.Any(m => m.Message?.Contains(FastPathMessage) == true), Is.True, engine.Log);
            }
        }
    }
}
