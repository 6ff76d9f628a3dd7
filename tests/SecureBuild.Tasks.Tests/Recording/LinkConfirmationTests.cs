using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks.Tests.Recording;

/// <summary>The no-op path for a step's link, without MSBuild: it stands only while nothing it records changed.</summary>
public sealed class LinkConfirmationTests
{
    private string _root = "";
    private string _materials = "";
    private string _key = "";
    private string _link = "";
    private string _companion = "";

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("sb-linkconfirm-").FullName;
        _materials = Path.Combine(_root, "obj", "compile.materials.json");
        Directory.CreateDirectory(Path.GetDirectoryName(_materials)!);
        File.WriteAllText(_materials, "{\"pending\": true}");
        StepFingerprint.WriteStat(_materials, "compile", new MaterialsStat(new string('a', 64), LinkConfirmation.TryHashFile(_materials)!, DateTimeOffset.UnixEpoch));
        _key = Path.Combine(_root, "key.pem");
        File.WriteAllText(_key, "a key");
        _link = Path.Combine(_root, "attestations", "compile.12345678.link");
        Directory.CreateDirectory(Path.GetDirectoryName(_link)!);
        File.WriteAllText(_link, "{\"signed\": \"link\"}");
        _companion = Path.Combine(_root, "attestations", "compile.12345678.intoto.jsonl");
        File.WriteAllText(_companion, "statement");
        var inputs = Known(new LinkFingerprint("", _link, "12345678", new[] { _companion }))!;
        inputs.StepName = "compile";
        inputs.MaterialsFile = _materials;
        inputs.MaterialsState = LinkConfirmation.MaterialsState(_materials, "compile")!;
        inputs.KeyFile = _key;
        inputs.KeyHash = LinkConfirmation.TryHashFile(_key)!;
        inputs.KeyId = "12345678";
        inputs.LinkPath = _link;
        inputs.LinkHash = LinkConfirmation.TryHashFile(_link)!;
        inputs.Companions = new[] { _companion };
        StepFingerprint.WriteLink(_materials, new LinkFingerprint(inputs.Hash(), _link, "12345678", new[] { _companion }));
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private string _productsStat = new('b', 64);
    private string[] _command = { "dotnet", "build" };

    private LinkInputs? Known(LinkFingerprint stored) =>
        new() { Code = "tasks/core", Command = _command, Settings = "sha256", ProductsStat = _productsStat, WritesProvenance = true };

    private LinkFingerprint? Confirm(string? keyFile = null) => LinkConfirmation.Confirm(_materials, "compile", keyFile ?? _key, Known);

    [Test]
    public void An_unchanged_step_confirms_its_link()
    {
        var confirmed = Confirm();
        Assert.That(confirmed, Is.Not.Null);
        Assert.That((confirmed!.LinkPath, confirmed.KeyId), Is.EqualTo((_link, "12345678")));
    }

    [Test]
    public void A_changed_key_link_material_product_or_command_takes_the_slow_path()
    {
        File.WriteAllText(_key, "another key");
        Assert.That(Confirm(), Is.Null, "key content");
        File.WriteAllText(_key, "a key");
        Assert.That(Confirm(), Is.Not.Null);

        File.AppendAllText(_link, " ");
        Assert.That(Confirm(), Is.Null, "the link itself");
        File.WriteAllText(_link, "{\"signed\": \"link\"}");
        Assert.That(Confirm(), Is.Not.Null);

        File.AppendAllText(_materials, " ");
        Assert.That(Confirm(), Is.Null, "the pending materials");
        File.WriteAllText(_materials, "{\"pending\": true}");
        Assert.That(Confirm(), Is.Not.Null);

        _productsStat = new string('c', 64);
        Assert.That(Confirm(), Is.Null, "the products");
        _productsStat = new string('b', 64);
        _command = new[] { "dotnet", "build", "-c", "Release" };
        Assert.That(Confirm(), Is.Null, "the command");
    }

    [Test]
    public void Any_doubt_is_a_no()
    {
        Assert.That(LinkConfirmation.Confirm(_materials, "compile", _key, _ => null), Is.Null, "products too recent to trust");
        Assert.That(LinkConfirmation.Confirm(_materials, "compile", null, Known), Is.Null, "no key file");
        Assert.That(LinkConfirmation.Confirm(_materials, "pack", _key, Known), Is.Null, "another step's materials");
        Assert.That(Confirm(Path.Combine(_root, "missing.pem")), Is.Null, "a key file that cannot be read");
        File.Delete(_companion);
        Assert.That(Confirm(), Is.Null, "a companion statement is gone");
        File.WriteAllText(_companion, "statement");
        File.Delete(StepFingerprint.StatFile(_materials));
        Assert.That(Confirm(), Is.Null, "no materials stat");
    }

    [Test]
    public void Every_input_is_part_of_the_hash()
    {
        LinkInputs Full() => new()
        {
            Code = "c", StepName = "s", Command = new[] { "a", "b" }, KeyFile = "/k", KeyHash = "kh", KeyId = "id", Settings = "st", MaterialsFile = "/m",
            MaterialsState = "ms", ProductsStat = "ps", LinkPath = "/l", LinkHash = "lh", WritesProvenance = true, Companions = new[] { "/c" },
        };
        var changes = new Action<LinkInputs>[]
        {
            i => i.Code = "x", i => i.StepName = "x", i => i.Command = new[] { "a b" }, i => i.KeyFile = "/x", i => i.KeyHash = "x", i => i.KeyId = "x",
            i => i.Settings = "x", i => i.MaterialsFile = "/x", i => i.MaterialsState = "x", i => i.ProductsStat = "x", i => i.LinkPath = "/x",
            i => i.LinkHash = "x", i => i.WritesProvenance = false, i => i.Companions = Array.Empty<string>(),
        };
        var hashes = new HashSet<string> { Full().Hash() };
        foreach (var change in changes)
        {
            var changed = Full();
            change(changed);
            Assert.That(hashes.Add(changed.Hash()), Is.True, "a change left the hash the same");
        }
    }
}
