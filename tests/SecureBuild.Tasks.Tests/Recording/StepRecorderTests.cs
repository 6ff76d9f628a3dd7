using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class StepRecorderTests
{
    private static readonly IReadOnlyList<string> Sha256 = new[] { "sha256" };
    private static readonly SigningKey Key = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey OtherKey = SigningKey.Generate(KeyType.Ed25519);

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("recorder");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private StepRecorder Recorder(IEnumerable<string>? excluded = null) =>
        new(new ArtifactNamer(_dir.FullPath), FileHashCache.InMemory(), Sha256, excluded);

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    [Test]
    public void Files_are_recorded_under_their_artifact_names_with_their_digests()
    {
        var a = _dir.Write("src/a.cs", "class A {}");
        var b = _dir.Write("src/b.cs", "class B {}");

        var map = Recorder().Record(new[] { a, b });

        Assert.That(map.Keys, Is.EqualTo(new[] { "src/a.cs", "src/b.cs" }));
        Assert.That(map["src/a.cs"]["sha256"], Is.EqualTo(Sha(a)));
        Assert.That(map["src/b.cs"]["sha256"], Is.EqualTo(Sha(b)));
    }

    [Test]
    public void Directories_are_recursed()
    {
        _dir.Write("publish/App.dll", "dll");
        _dir.Write("publish/runtimes/linux-x64/native/lib.so", "so");
        _dir.Write("publish/wwwroot/css/site.css", "css");

        var map = Recorder().Record(Array.Empty<string>(), new[] { _dir.Path("publish") });

        Assert.That(map.Keys, Is.EquivalentTo(new[] { "publish/App.dll", "publish/runtimes/linux-x64/native/lib.so", "publish/wwwroot/css/site.css" }));
    }

    [Test]
    public void Excluded_directories_are_skipped_for_files_and_directories()
    {
        _dir.Write("bin/App.dll", "dll");
        var link = _dir.Write("bin/attestations/compile.12345678.link", "{}");
        _dir.Write("bin/attestations/sub/x.txt", "x");
        var similar = _dir.Write("bin/attestations2/kept.txt", "kept");

        var recorder = Recorder(new[] { _dir.Path("bin/attestations") + Path.DirectorySeparatorChar });
        var map = recorder.Record(new[] { link, similar }, new[] { _dir.Path("bin") });

        Assert.That(map.Keys, Is.EquivalentTo(new[] { "bin/App.dll", "bin/attestations2/kept.txt" }));
        Assert.That(recorder.Missing, Is.Empty);
    }

    [Test]
    public void Missing_files_and_directories_are_listed_and_left_out()
    {
        var present = _dir.Write("a.txt", "a");
        var missingFile = _dir.Path("missing.txt");
        var missingDir = _dir.Path("nodir");

        var recorder = Recorder();
        var map = recorder.Record(new[] { present, missingFile }, new[] { missingDir });

        Assert.That(map.Keys, Is.EqualTo(new[] { "a.txt" }));
        Assert.That(recorder.Missing, Is.EquivalentTo(new[] { missingFile, missingDir }));
    }

    [Test]
    public void Duplicates_blank_entries_and_relative_spellings_are_recorded_once()
    {
        var a = _dir.Write("src/a.cs", "a");
        var cache = FileHashCache.InMemory();
        var recorder = new StepRecorder(new ArtifactNamer(_dir.FullPath), cache, Sha256);

        var map = recorder.Record(new[] { a, "", "  ", _dir.Path("src/../src/a.cs"), a }, new[] { _dir.Path("src") });

        Assert.That(map.Keys, Is.EqualTo(new[] { "src/a.cs" }));
        Assert.That(cache.FilesHashed, Is.EqualTo(1));
    }

    [Test]
    public void Pending_materials_round_trip_through_the_file()
    {
        var materials = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["src/a.cs"] = new Dictionary<string, string> { ["sha256"] = new string('a', 64), ["sha512"] = new string('b', 128) },
            ["@nuget/x/1.0.0/lib/x.dll"] = new Dictionary<string, string> { ["sha256"] = new string('c', 64) },
            ["obj/project.assets.json"] = new Dictionary<string, string> { ["sha256-pathmapped"] = new string('d', 64) },
            ["weird \"name\" ü [1]*?.txt"] = new Dictionary<string, string> { ["sha256"] = new string('e', 64) },
        };
        var file = _dir.Path("obj/securebuild/compile.materials.json");

        StepRecorder.WritePendingMaterials(file, "compile", materials);
        var read = StepRecorder.ReadPendingMaterials(file, "compile");

        Assert.That(read, Is.Not.Null);
        Assert.That(read!.Keys, Is.EqualTo(materials.Keys));
        foreach (var (name, digests) in materials)
        {
            Assert.That(read[name], Is.EquivalentTo(digests), name);
        }
    }

    [Test]
    public void Pending_materials_of_another_step_are_not_used()
    {
        var file = _dir.Path("obj/pending.json");
        StepRecorder.WritePendingMaterials(file, "compile-net8.0", new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal));

        Assert.That(StepRecorder.ReadPendingMaterials(file, "compile-net10.0"), Is.Null);
        Assert.That(StepRecorder.ReadPendingMaterials(file, "compile-net8.0"), Is.Empty);
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("{\"step\": \"compile\"}")]
    [TestCase("{\"step\": \"compile\", \"materials\": []}")]
    [TestCase("{\"step\": \"compile\", \"materials\": {\"a\": 1}}")]
    [TestCase("{\"step\": \"compile\", \"materials\": {\"a\": {\"sha256\": 1}}}")]
    public void Missing_or_unreadable_pending_materials_read_as_null(string? content)
    {
        var file = _dir.Path("obj/pending.json");
        if (content is not null)
        {
            _dir.Write("obj/pending.json", content);
        }

        Assert.That(StepRecorder.ReadPendingMaterials(file, "compile"), Is.Null);
    }

    private static Link SampleLink(string name = "compile") => new(name)
    {
        Command = new[] { "dotnet", "build" },
        Materials = { ["src/a.cs"] = new Dictionary<string, string> { ["sha256"] = new string('a', 64) } },
        Products = { ["bin/a.dll"] = new Dictionary<string, string> { ["sha256"] = new string('b', 64) } },
    };

    [Test]
    public void WriteLinkIfChanged_writes_a_signed_link_named_after_the_step_and_keyid()
    {
        var linkDir = _dir.Path("attestations");

        var (path, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.True);
        Assert.That(path, Is.EqualTo(Path.Combine(Path.GetFullPath(linkDir), $"compile.{Key.KeyId.Substring(0, 8)}.link")));
        var block = Metablock.Load(path);
        Assert.That(block.VerifySignature(Key.Public), Is.True);
        Assert.That(CanonicalJson.Serialize(block.Signed), Is.EqualTo(CanonicalJson.Serialize(SampleLink().ToJson())));
    }

    [Test]
    public void WriteLinkIfChanged_leaves_an_identical_validly_signed_link_untouched()
    {
        var linkDir = _dir.Path("attestations");
        var (path, _) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);
        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, old);
        var bytes = File.ReadAllBytes(path);

        var (again, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.False);
        Assert.That(again, Is.EqualTo(path));
        Assert.That(File.GetLastWriteTimeUtc(path), Is.EqualTo(old), "the file must not be rewritten");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes));
    }

    [Test]
    public void WriteLinkIfChanged_rewrites_a_link_whose_statement_changed()
    {
        var linkDir = _dir.Path("attestations");
        var (path, _) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);
        var changed = SampleLink();
        changed.Products["bin/a.dll"] = new Dictionary<string, string> { ["sha256"] = new string('c', 64) };

        var (_, written) = StepRecorder.WriteLinkIfChanged(changed, Key, linkDir);

        Assert.That(written, Is.True);
        Assert.That(Link.FromJson(Metablock.Load(path).Signed).Products["bin/a.dll"]["sha256"], Is.EqualTo(new string('c', 64)));
    }

    [Test]
    public void WriteLinkIfChanged_rewrites_a_tampered_link()
    {
        var linkDir = _dir.Path("attestations");
        var (path, _) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);
        // The statement is what we are about to write, but the signature no longer matches it.
        var block = Metablock.Load(path);
        var sig = block.Signatures[0].Sig;
        var flipped = (sig[0] == '0' ? "1" : "0") + sig.Substring(1);
        File.WriteAllText(path, File.ReadAllText(path).Replace(sig, flipped));
        Assert.That(Metablock.Load(path).VerifySignature(Key.Public), Is.False, "precondition: tampered");

        var (_, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.True);
        Assert.That(Metablock.Load(path).VerifySignature(Key.Public), Is.True);
    }

    [Test]
    public void WriteLinkIfChanged_rewrites_a_link_signed_by_another_key()
    {
        var linkDir = _dir.Path("attestations");
        var path = Path.Combine(linkDir, LinkFile.FileName("compile", Key.KeyId));
        var foreign = new Metablock(SampleLink().ToJson());
        foreign.Sign(OtherKey);
        Directory.CreateDirectory(linkDir);
        foreign.Save(path);

        var (_, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.True);
        var block = Metablock.Load(path);
        Assert.That(block.Signatures.Select(s => s.KeyId), Is.EqualTo(new[] { Key.KeyId }));
        Assert.That(block.VerifySignature(Key.Public), Is.True);
    }

    [Test]
    public void WriteLinkIfChanged_rewrites_a_link_with_an_extra_signature()
    {
        var linkDir = _dir.Path("attestations");
        var path = Path.Combine(linkDir, LinkFile.FileName("compile", Key.KeyId));
        var both = new Metablock(SampleLink().ToJson());
        both.Sign(Key);
        both.Sign(OtherKey);
        Directory.CreateDirectory(linkDir);
        both.Save(path);

        var (_, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.True);
        Assert.That(Metablock.Load(path).Signatures, Has.Count.EqualTo(1));
    }

    [TestCase("")]
    [TestCase("garbage")]
    [TestCase("{\"signatures\": [], \"signed\": {\"_type\": \"layout\"}}")]
    public void WriteLinkIfChanged_replaces_unreadable_content(string content)
    {
        var linkDir = _dir.CreateDirectory("attestations");
        var path = Path.Combine(linkDir, LinkFile.FileName("compile", Key.KeyId));
        File.WriteAllText(path, content);

        var (_, written) = StepRecorder.WriteLinkIfChanged(SampleLink(), Key, linkDir);

        Assert.That(written, Is.True);
        Assert.That(Metablock.Load(path).VerifySignature(Key.Public), Is.True);
        Assert.That(Directory.GetFiles(linkDir), Has.Length.EqualTo(1), "no temporary file left behind");
    }
}
