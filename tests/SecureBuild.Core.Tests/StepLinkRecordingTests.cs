using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.TestSupport;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The "after" half of recording a step as one Core call (<see cref="StepLinkRecording.Record"/>), without MSBuild:
/// the signed link and its statements, the no-op path that confirms an unchanged link without the key, and what it reports.
/// </summary>
public sealed class StepLinkRecordingTests
{
    private static readonly DateTime Later = DateTime.UtcNow.AddMinutes(10);
    private static readonly SigningKey Key = SigningKey.Generate(KeyType.Ed25519);
    private string _root = "";
    private string _keyFile = "";
    private string _materialsFile = "";
    private string _links = "";
    private int _keyLoads;

    [SetUp]
    public void SetUp()
    {
        _root = ScratchDirectory.Create("sb-step-link");
        _keyFile = Path.Combine(_root, "keys", "build.key");
        Directory.CreateDirectory(Path.GetDirectoryName(_keyFile)!);
        File.WriteAllText(_keyFile, Key.ExportPrivate());
        _materialsFile = Path.Combine(_root, "App", "obj", "securebuild", "compile.materials.json");
        _links = Path.Combine(_root, "App", "bin", "attestations");
        _keyLoads = 0;
    }

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_root);

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddHours(-1));
        return path;
    }

    private StepRecorderSetup Recorder(bool loadCache) =>
        new(new StepRecorder(new ArtifactNamer(_root), FileHashCache.InMemory(), new[] { "sha256" }, new[] { _links }), FileHashCache.InMemory(), "sha256");

    /// <summary>What the step's "before" half leaves: the pending materials and their stat.</summary>
    private void RecordMaterialsBefore(params string[] materials)
    {
        var recorder = Recorder(true).Recorder;
        var resolved = recorder.Resolve(materials);
        var stat = StepFingerprint.OfFiles(resolved, recorder.Missing, Later, "sha256")!;
        StepRecorder.WritePendingMaterials(_materialsFile, "compile", recorder.Record(resolved), DateTimeOffset.UtcNow);
        StepFingerprint.WriteStat(_materialsFile, "compile", new MaterialsStat(stat, Sha256Hex.OfFile(_materialsFile), DateTimeOffset.UtcNow));
    }

    private StepLinkRequest Request(params string[] products) => new("compile", _materialsFile, _links)
    {
        Products = products,
        Command = new[] { "dotnet", "build", "{project}" },
        ProjectFile = Path.Combine(_root, "App", "App.csproj"),
        SigningKey = _keyFile,
        CodeVersion = "test",
        CreateRecorder = Recorder,
        LoadKey = () =>
        {
            _keyLoads++;
            return Key;
        },
        Provenance = (_, _) => new ProvenanceStatement(),
        UtcNow = () => Later,
    };

    [Test]
    public void The_link_is_signed_with_the_materials_recorded_before_and_an_unchanged_step_is_confirmed_without_loading_the_key()
    {
        var project = Write("App/App.csproj", "<Project />");
        var dll = Write("App/bin/App.dll", "one");
        RecordMaterialsBefore(project);

        var first = StepLinkRecording.Record(Request(dll));
        Assert.That(first.LinkFile, Is.EqualTo(Path.Combine(_links, $"compile.{Key.KeyId.Substring(0, 8)}.link")));
        Assert.That(first.ConfirmedKeyId, Is.Null);
        var link = Link.FromJson(Metablock.Load(first.LinkFile!).Signed);
        Assert.That(link.Materials.Keys, Is.EqualTo(new[] { "App/App.csproj" }));
        Assert.That(link.Products.Keys, Is.EqualTo(new[] { "App/bin/App.dll" }));
        Assert.That(link.Command, Is.EqualTo(new[] { "dotnet", "build", "App/App.csproj" }), "{project} is the project's artifact name");
        Assert.That(File.Exists(Path.Combine(_links, StepAttestations.LinkStatementFileName("compile", Key.KeyId))), Is.True);
        Assert.That(first.Diagnostics.Select(d => d.Level), Is.All.EqualTo(DiagnosticLevel.Message));
        Assert.That(_keyLoads, Is.EqualTo(1));

        var again = StepLinkRecording.Record(Request(dll));
        Assert.That((again.LinkFile, again.ConfirmedKeyId, _keyLoads), Is.EqualTo((first.LinkFile, Key.KeyId, 1)), "confirmed by the fingerprint, the key not loaded");
        Assert.That(again.Diagnostics.Single().Text, Does.EndWith("(nothing it records changed)"));

        Write("App/bin/App.dll", "two, longer");
        var changed = StepLinkRecording.Record(Request(dll));
        Assert.That((changed.ConfirmedKeyId, _keyLoads), Is.EqualTo(((string?)null, 2)), "a changed product is recorded anew");
        Assert.That(Link.FromJson(Metablock.Load(changed.LinkFile!).Signed).Products["App/bin/App.dll"]["sha256"], Is.EqualTo(Sha256Hex.Of("two, longer")));
    }

    [Test]
    public void Without_materials_recorded_before_the_fallback_is_hashed_and_a_product_outside_the_repository_is_SB2470()
    {
        var project = Write("App/App.csproj", "<Project />");
        var outside = Path.Combine(ScratchDirectory.Create("sb-step-link-outside"), "Tool.dll");
        try
        {
            File.WriteAllText(outside, "tool");
            var request = Request(Write("App/bin/App.dll", "one"), outside);
            request.FallbackMaterials = new[] { project };

            var result = StepLinkRecording.Record(request);

            var link = Link.FromJson(Metablock.Load(result.LinkFile!).Signed);
            Assert.That(link.Materials.Keys, Is.EqualTo(new[] { "App/App.csproj" }));
            Assert.That(result.Diagnostics.Where(d => d.Level == DiagnosticLevel.Warning).Select(d => d.Code), Is.EqualTo(new[] { StepLinkRecording.MachineLocalProductName }));
            Assert.That(result.Diagnostics.Single(d => d.Level == DiagnosticLevel.Warning).Text, Does.Contain(outside).And.Contain("SecureBuildArtifactRoot"));
            Assert.That(result.Diagnostics.Any(d => d.Level == DiagnosticLevel.Detail && d.Text.Contains("no materials were recorded before step 'compile'")), Is.True);
        }
        finally
        {
            ScratchDirectory.TryDelete(Path.GetDirectoryName(outside)!);
        }
    }

    [Test]
    public void Provenance_names_the_chosen_subjects_and_the_link_and_no_key_means_no_link()
    {
        var project = Write("App/App.csproj", "<Project />");
        var dll = Write("App/bin/App.dll", "one");
        var pdb = Write("App/bin/App.pdb", "symbols");
        RecordMaterialsBefore(project);
        var request = Request(dll, pdb);
        request.WriteProvenance = true;
        request.Subjects = new[] { dll };

        var result = StepLinkRecording.Record(request);

        var envelope = DsseEnvelope.Parse(File.ReadAllText(Path.Combine(_links, StepAttestations.ProvenanceFileName("compile"))).TrimEnd('\n'));
        var statement = (Json.JsonMap)Json.JsonParser.Parse(envelope.Payload);
        var subjects = ((Json.JsonList)statement["subject"]).Cast<Json.JsonMap>().Select(s => ((Json.JsonString)s["name"]).Value);
        Assert.That(subjects, Is.EqualTo(new[] { "App/bin/App.dll" }));
        Assert.That(result.Diagnostics.Any(d => d.Text.Contains("provenance ->")), Is.True);

        // A deleted companion (here the provenance's Sigstore bundle) is written again by the next build, although
        // nothing the link records changed.
        var bundle = Path.Combine(_links, StepAttestations.ProvenanceBundleFileName("compile"));
        Assert.That(File.Exists(bundle), Is.True);
        File.Delete(bundle);
        var again = StepLinkRecording.Record(request);
        Assert.That((again.ConfirmedKeyId, File.Exists(bundle)), Is.EqualTo(((string?)null, true)), "the missing bundle is not confirmed away, it is written again");

        var keyless = Request(dll);
        keyless.LoadKey = () => null;
        StepFingerprint.Delete(StepFingerprint.LinkFingerprintFile(_materialsFile));
        Assert.That(StepLinkRecording.Record(keyless).LinkFile, Is.Null, "no key: nothing is signed, the caller reported why");
    }
}
