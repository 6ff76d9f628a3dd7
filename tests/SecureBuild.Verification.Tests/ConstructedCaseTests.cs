using System.IO.Compression;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Cases beyond the interop set (a missing link, a threshold not met, a tampered layout, ...), built from copies of the baseline by
/// editing and re-signing (alice's and bob's test keys; a fresh owner key where the layout changes), each checked
/// against both our verifier and /usr/bin/in-toto-verify. Then more cases of our own around the edges of the
/// reference's behaviour, also decided by both.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public class ConstructedCaseTests
{
    private static readonly (string Path, string Type)[] OwnerKey = { ("owner.pub", "rsa") };

    private static string Baseline()
    {
        string dir = TestData.NewTempDir("constructed");
        TestData.CopyDirectory(TestData.Case("pass-baseline"), dir);
        return dir;
    }

    private static string LinkPath(string dir, string file) => Path.Combine(dir, "links", file);

    private static void EditLink(string dir, string file, Action<JsonMap> editSigned, params SigningKey[] resignWith)
    {
        string path = LinkPath(dir, file);
        var meta = Meta.Load(path);
        editSigned(Meta.Signed(meta));
        if (resignWith.Length > 0)
        {
            Meta.Resign(meta, resignWith);
        }

        Meta.Save(path, meta);
    }

    private static JsonMap Artifacts(JsonMap signed, string side) => (JsonMap)signed[side];

    private static Both.Outcome Check(string dir, bool pass, string kind, string? messagePart = null, IReadOnlyList<(string, string)>? keys = null)
    {
        try
        {
            var outcome = Both.Run(dir, keys ?? OwnerKey);
            Assert.Multiple(() =>
            {
                Assert.That(outcome.Reference.Passed, Is.EqualTo(pass), "reference verdict\n" + outcome);
                Assert.That(outcome.Reference.NormalizedKind(), Is.EqualTo(kind), "reference kind\n" + outcome);
                Assert.That(outcome.Ours.Passed, Is.EqualTo(pass), "our verdict\n" + outcome);
                Assert.That(outcome.Ours.Kind, Is.EqualTo(kind), "our kind\n" + outcome);
                if (messagePart is not null)
                {
                    Assert.That(outcome.Reference.Output, Does.Contain(messagePart), "reference message\n" + outcome);
                    Assert.That(outcome.Ours.Output, Does.Contain(messagePart), "our message\n" + outcome);
                }
            });
            return outcome;
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    // ---- section 7, second table ----

    [Test]
    public void Pass_extra_links_ignored()
    {
        string dir = Baseline();
        File.Copy(LinkPath(dir, "pack.c0d891af.link"), LinkPath(dir, "unknown-step.c0d891af.link"));
        File.Copy(LinkPath(dir, "restore.8fa97c41.link"), LinkPath(dir, "restore.c3063f0d.link"));
        File.WriteAllText(LinkPath(dir, "build.deadbeef.link"), "not json at all");
        Check(dir, pass: true, kind: "");
    }

    [Test]
    public void Fail_link_signature_removed()
    {
        string dir = Baseline();
        string path = LinkPath(dir, "build.c0d891af.link");
        var meta = Meta.Load(path);
        meta["signatures"] = new JsonList();
        Meta.Save(path, meta);
        var o = Check(dir, pass: false, kind: "ThresholdVerificationError", "Only found '1'");
        Assert.That(o.Result.DroppedLinks.Single().Reason, Is.EqualTo(DropReason.NotSignedByNamedKey));
    }

    [Test]
    public void Fail_layout_signed_by_wrong_key()
    {
        string dir = Baseline();
        string path = Path.Combine(dir, "root.layout");
        var meta = Meta.Load(path);
        meta["signatures"] = new JsonList();
        Meta.Resign(meta, SigningKey.Generate(KeyType.Ed25519));
        Meta.Save(path, meta);
        Check(dir, pass: false, kind: "SignatureVerificationError", "No signature found for key '2b81847f");
    }

    [Test]
    public void Fail_layout_tampered_after_signing()
    {
        string dir = Baseline();
        string path = Path.Combine(dir, "root.layout");
        var meta = Meta.Load(path);
        Meta.Signed(meta)["readme"] = "changed after signing";
        Meta.Save(path, meta);
        Check(dir, pass: false, kind: "SignatureVerificationError", "Invalid signature for keyid '2b81847f");
    }

    [Test]
    public void Fail_threshold_links_disagree()
    {
        string dir = Baseline();
        EditLink(dir, "build.c0d891af.link", s => Artifacts(s, "products")["bin/Extra.pdb"] = new JsonMap { { "sha256", new string('a', 64) } }, TestData.Functionary("bob"));
        Check(dir, pass: false, kind: "ThresholdVerificationError", "Links 'build.8fa97c41.link' and 'build.c0d891af.link' have different artifacts!");
    }

    [Test]
    public void Fail_link_signed_by_other_functionary()
    {
        string dir = Baseline();
        EditLink(dir, "pack.c0d891af.link", _ => { }, TestData.Functionary("alice"));
        var o = Check(dir, pass: false, kind: "ThresholdVerificationError", "Only found '0'");
        Assert.That(o.Result.DroppedLinks.Single().Message, Does.Contain("signed by 8fa97c41"));
    }

    [Test]
    public void Fail_disallow_extra_build_product()
    {
        string dir = Baseline();
        foreach (var (file, key) in new[] { ("build.8fa97c41.link", "alice"), ("build.c0d891af.link", "bob") })
        {
            EditLink(dir, file, s => Artifacts(s, "products")["bin/Injected.dll"] = new JsonMap { { "sha256", new string('b', 64) } }, TestData.Functionary(key));
        }

        var o = Check(dir, pass: false, kind: "RuleVerificationError", "bin/Injected.dll");
        Assert.That(o.Result.Failures[0].Step, Is.EqualTo("build"));
        Assert.That(o.Result.Failures[0].Side, Is.EqualTo("products"));
        Assert.That(o.Result.Failures[0].RuleText, Is.EqualTo("DISALLOW *"));
    }

    [Test]
    public void Fail_final_product_swapped()
    {
        string dir = Baseline();
        string nupkg = Path.Combine(dir, "final", "dist", "Hello.1.0.0.nupkg");
        string copy = nupkg + ".orig";
        File.Move(nupkg, copy);
        using (var source = ZipFile.OpenRead(copy))
        using (var target = ZipFile.Open(nupkg, ZipArchiveMode.Create))
        {
            foreach (var entry in source.Entries)
            {
                var e = target.CreateEntry(entry.FullName);
                using var from = entry.Open();
                using var to = e.Open();
                from.CopyTo(to);
            }

            using var extra = new StreamWriter(target.CreateEntry("extra.txt").Open());
            extra.Write("swapped");
        }

        File.Delete(copy);
        var o = Check(dir, pass: false, kind: "RuleVerificationError", "dist/Hello.1.0.0.nupkg");
        Assert.That(o.Result.Failures[0].Step, Is.EqualTo("unzip-package"));
        Assert.That(o.Result.Failures[0].Side, Is.EqualTo("materials"));
    }

    [Test]
    public void Fail_inspection_command_fails()
    {
        string dir = Baseline();
        File.WriteAllText(Path.Combine(dir, "final", "dist", "Hello.1.0.0.nupkg"), "this is not a zip file");
        Check(dir, pass: false, kind: "BadReturnValueError", "Got non-zero return value '1'");
    }

    [Test]
    public void Fail_require_missing()
    {
        string dir = Baseline();
        foreach (var (file, key) in new[] { ("build.8fa97c41.link", "alice"), ("build.c0d891af.link", "bob") })
        {
            EditLink(dir, file, s => Artifacts(s, "materials").Remove("src/Program.cs"), TestData.Functionary(key));
        }

        var o = Check(dir, pass: false, kind: "RuleVerificationError", "'REQUIRE src/Program.cs' did not find src/Program.cs");
        Assert.That(o.Result.Failures[0].Message, Does.Contain("not among the materials"));
    }

    [Test]
    public void Fail_delete_not_performed()
    {
        string dir = Baseline();
        foreach (var (file, key) in new[] { ("build.8fa97c41.link", "alice"), ("build.c0d891af.link", "bob") })
        {
            EditLink(dir, file, s => Artifacts(s, "products")["obj/restore.tmp"] = Artifacts(s, "materials")["obj/restore.tmp"].DeepClone(), TestData.Functionary(key));
        }

        var o = Check(dir, pass: false, kind: "RuleVerificationError", "obj/restore.tmp");
        Assert.That(o.Result.Failures[0].Side, Is.EqualTo("materials"));
        Assert.That(o.Result.Failures[0].Details.Single(), Does.Contain("still a product"));
    }

    [Test]
    public void Fail_link_tampered_byproducts()
    {
        string dir = Baseline();
        EditLink(dir, "build.c0d891af.link", s => ((JsonMap)s["byproducts"])["stdout"] = "tampered");
        var o = Check(dir, pass: false, kind: "ThresholdVerificationError", "Only found '1'");
        Assert.That(o.Result.DroppedLinks.Single().Reason, Is.EqualTo(DropReason.BadSignature));
    }

    // ---- further edges, decided by both ----

    [Test]
    public void Pass_link_name_differs_from_step_only_warns()
    {
        string dir = Baseline();
        EditLink(dir, "pack.c0d891af.link", s => s["name"] = "something-else", TestData.Functionary("bob"));
        var o = Check(dir, pass: true, kind: "");
        Assert.That(o.Result.Warnings.Select(w => w.Message), Has.Some.Contains("does not check link names"));
    }

    [Test]
    public void Pass_field_added_after_signing_is_ignored_like_the_reference()
    {
        string dir = Baseline();
        EditLink(dir, "pack.c0d891af.link", s => s["injected"] = "dropped on load");
        Check(dir, pass: true, kind: "");
    }

    [Test]
    public void Pass_empty_field_removed_after_signing_gets_its_default_back()
    {
        string dir = Baseline();
        EditLink(dir, "pack.c0d891af.link", s => s.Remove("environment"));
        Check(dir, pass: true, kind: "");
    }

    [Test]
    public void Pass_compact_crlf_file_with_unicode_escapes()
    {
        string dir = Baseline();
        string path = LinkPath(dir, "restore.8fa97c41.link");
        var meta = Meta.Load(path);
        string compact = JsonText.Write(meta, indented: false).Replace(",", ",\r\n");
        File.WriteAllText(path, compact);
        Check(dir, pass: true, kind: "");
    }

    [Test]
    public void Fail_link_with_bom()
    {
        string dir = Baseline();
        string path = LinkPath(dir, "pack.c0d891af.link");
        File.WriteAllBytes(path, new byte[] { 0xEF, 0xBB, 0xBF }.Concat(File.ReadAllBytes(path)).ToArray());
        var o = Check(dir, pass: false, kind: "FormatError");
        Assert.That(o.Reference.Kind, Is.EqualTo("JSONDecodeError"));
    }

    [Test]
    public void Fail_truncated_link()
    {
        string dir = Baseline();
        string path = LinkPath(dir, "pack.c0d891af.link");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.Take(bytes.Length / 2).ToArray());
        Check(dir, pass: false, kind: "FormatError");
    }

    [Test]
    public void Fail_layout_signature_odd_hex()
    {
        string dir = Baseline();
        string path = Path.Combine(dir, "root.layout");
        var meta = Meta.Load(path);
        var sig = (JsonMap)((JsonList)meta["signatures"])[0];
        sig["sig"] = ((JsonString)sig["sig"]).Value + "a";
        Meta.Save(path, meta);
        Check(dir, pass: false, kind: "FormatError");
    }

    [Test]
    public void Known_divergence_duplicate_keys_fail_closed()
    {
        // Python's json keeps the last of duplicate keys, so the reference verifies a link whose duplicate holds the
        // signed value. An ambiguous file is refused here (different JSON parsers would read different content).
        string dir = Baseline();
        string path = LinkPath(dir, "pack.c0d891af.link");
        string text = File.ReadAllText(path);
        text = text.Replace("\"name\": \"pack\"", "\"name\": \"evil\", \"name\": \"pack\"");
        File.WriteAllText(path, text);
        try
        {
            var o = Both.Run(dir, OwnerKey);
            Assert.That(o.Reference.Passed, Is.True, "the reference keeps the last duplicate\n" + o);
            Assert.That(o.Ours.Passed, Is.False, o.ToString());
            Assert.That(o.Ours.Kind, Is.EqualTo("FormatError"));
            Assert.That(o.Ours.Output, Does.Contain("duplicate object key"));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    // Cases with a changed layout: a fresh owner key signs it.

    private static (string Dir, SigningKey Owner, PublicKey Alice, PublicKey Bob) FreshChain()
    {
        string dir = TestData.NewTempDir("fresh");
        Directory.CreateDirectory(Path.Combine(dir, "links"));
        Directory.CreateDirectory(Path.Combine(dir, "final"));
        var owner = SigningKey.Generate(KeyType.Ed25519);
        Meta.WriteKey(dir, "owner", owner);
        return (dir, owner, TestData.Functionary("alice").Public, TestData.Functionary("bob").Public);
    }

    private static void WriteLayout(string dir, SigningKey owner, JsonMap layout) =>
        Meta.Save(Path.Combine(dir, "root.layout"), Meta.Block(layout, owner));

    private static void WriteLink(string dir, JsonMap link, SigningKey key, string? step = null) =>
        Meta.Save(Path.Combine(dir, "links", $"{step ?? ((JsonString)link["name"]).Value}.{key.KeyId.Substring(0, 8)}.link"), Meta.Block(link, key));

    private static readonly (string, string)[] FreshOwner = { ("owner.pub", "ed25519") };

    private static string H(char c) => new(c, 64);

    [Test]
    public void Match_prefix_that_rebuilds_another_path_crashes_the_reference_and_fails_closed_here()
    {
        var (dir, owner, _, _) = FreshChain();
        var alice = TestData.Functionary("alice");
        WriteLayout(dir, owner, Meta.Layout(new[] { alice.Public }, new[]
        {
            Meta.Step("s", new[] { alice.Public }, 1, Meta.Rules("MATCH * IN a WITH PRODUCTS FROM s"), Meta.Rules()),
        }));
        WriteLink(dir, Meta.Link("s", Meta.Artifacts(("a//b", H('1'))), Meta.Artifacts(("a//b", H('1')))), alice);
        var o = Check(dir, pass: false, kind: "FormatError", keys: FreshOwner);
        Assert.That(o.Reference.Kind, Is.EqualTo("KeyError"));
    }

    [Test]
    public void Unusual_artifact_names_are_plain_strings_in_both()
    {
        var (dir, owner, _, _) = FreshChain();
        var alice = TestData.Functionary("alice");
        WriteLayout(dir, owner, Meta.Layout(new[] { alice.Public }, new[]
        {
            Meta.Step("s", new[] { alice.Public }, 1, Meta.Rules("ALLOW ../*", "ALLOW /etc/*", "DISALLOW *"), Meta.Rules("CREATE ./x", "DISALLOW *")),
        }));
        WriteLink(dir, Meta.Link("s", Meta.Artifacts(("../up", H('1')), ("/etc/passwd", H('2'))), Meta.Artifacts(("./x", H('3')), ("../up", H('1')), ("/etc/passwd", H('2')))), alice);
        var o = Check(dir, pass: false, kind: "RuleVerificationError", keys: FreshOwner);
        Assert.That(o.Result.Failures[0].Artifacts, Is.EquivalentTo(new[] { "../up", "/etc/passwd" }));
        Assert.That(o.Result.Warnings.Select(w => w.Message), Has.Some.Contains("not normalized"));
    }

    [Test]
    public void Step_key_missing_from_layout_keys()
    {
        var (dir, owner, _, bob) = FreshChain();
        var alice = TestData.Functionary("alice");
        WriteLayout(dir, owner, Meta.Layout(new[] { bob }, new[]
        {
            Meta.Step("s", new[] { alice.Public }, 1, Meta.Rules(), Meta.Rules()),
        }));
        WriteLink(dir, Meta.Link("s", new JsonMap(), new JsonMap()), alice);
        var o = Check(dir, pass: false, kind: "ThresholdVerificationError", "Only found '0'", FreshOwner);
        Assert.That(o.Result.DroppedLinks.Single().Reason, Is.EqualTo(DropReason.UnknownKey));
    }

    [Test]
    public void Threshold_zero_without_links_crashes_the_reference_and_fails_closed_here()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, new[] { Meta.Step("s", new[] { alice }, 0, Meta.Rules(), Meta.Rules()) }));
        var o = Check(dir, pass: false, kind: "FormatError", keys: FreshOwner);
        Assert.That(o.Reference.Kind, Is.EqualTo("IndexError"));
    }

    [Test]
    public void Inspection_with_empty_run_is_a_bad_return_value()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[] { Meta.Inspection("i", Meta.Rules(), Meta.Rules()) }));
        Check(dir, pass: false, kind: "BadReturnValueError", "Got non-int return value 'None'", FreshOwner);
    }

    [Test]
    public void Inspection_command_not_found()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[] { Meta.Inspection("i", Meta.Rules(), Meta.Rules(), "no-such-command-securebuild") }));
        Check(dir, pass: false, kind: "OSError", keys: FreshOwner);
    }

    [Test]
    public void Inspection_records_the_working_directory_with_the_default_excludes()
    {
        var (dir, owner, alice, _) = FreshChain();
        string final = Path.Combine(dir, "final");
        foreach (var f in new[] { "keep.txt", "sub/keep2.txt", "x.link", "sub/y.link.bak", ".git/config", "sub/.git", "a.pyc", "b~", "dir.link/inside.txt", ".hidden" })
        {
            string p = Path.Combine(final, f);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, f);
        }

        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[]
        {
            Meta.Inspection("i", Meta.Rules("ALLOW keep.txt", "ALLOW sub/keep2.txt", "ALLOW .hidden", "DISALLOW *"),
                Meta.Rules("CREATE out/made.txt", "ALLOW keep.txt", "ALLOW sub/keep2.txt", "ALLOW .hidden", "DISALLOW *"),
                "sh", "-c", "mkdir -p out && printf made > out/made.txt"),
        }));
        Check(dir, pass: true, kind: "", keys: FreshOwner);
    }

    [Test]
    public void Sublayout_is_verified_and_summarized()
    {
        var (dir, owner, alice, bob) = FreshChain();
        var aliceKey = TestData.Functionary("alice");
        var bobKey = TestData.Functionary("bob");

        // Root: step "build" delegated to alice (her "link" is a sublayout), then "pack" by bob matching build's products.
        WriteLayout(dir, owner, Meta.Layout(new[] { alice, bob }, new[]
        {
            Meta.Step("build", new[] { alice }, 1, Meta.Rules("ALLOW src/*", "DISALLOW *"), Meta.Rules("CREATE bin/app", "MATCH src/* WITH MATERIALS FROM build", "DISALLOW *")),
            Meta.Step("pack", new[] { bob }, 1, Meta.Rules("MATCH bin/app WITH PRODUCTS FROM build", "DISALLOW *"), Meta.Rules("CREATE app.tgz", "DISALLOW *")),
        }));

        // The sublayout (signed by alice): compile then link, by bob, in links/build.8fa97c41/.
        var sub = Meta.Layout(new[] { bob }, new[]
        {
            Meta.Step("compile", new[] { bob }, 1, Meta.Rules("ALLOW src/*"), Meta.Rules("CREATE obj/app.o", "ALLOW src/*")),
            Meta.Step("link", new[] { bob }, 1, Meta.Rules("MATCH * WITH PRODUCTS FROM compile"), Meta.Rules("CREATE bin/app", "ALLOW *")),
        });
        Meta.Save(Path.Combine(dir, "links", $"build.{aliceKey.KeyId.Substring(0, 8)}.link"), Meta.Block(sub, aliceKey));
        string subDir = Path.Combine(dir, "links", $"build.{aliceKey.KeyId.Substring(0, 8)}");
        Directory.CreateDirectory(subDir);
        Meta.Save(Path.Combine(subDir, $"compile.{bobKey.KeyId.Substring(0, 8)}.link"),
            Meta.Block(Meta.Link("compile", Meta.Artifacts(("src/main.c", H('1'))), Meta.Artifacts(("src/main.c", H('1')), ("obj/app.o", H('2')))), bobKey));
        Meta.Save(Path.Combine(subDir, $"link.{bobKey.KeyId.Substring(0, 8)}.link"),
            Meta.Block(Meta.Link("link", Meta.Artifacts(("src/main.c", H('1')), ("obj/app.o", H('2'))), Meta.Artifacts(("src/main.c", H('1')), ("bin/app", H('3')))), bobKey));
        WriteLink(dir, Meta.Link("pack", Meta.Artifacts(("bin/app", H('3'))), Meta.Artifacts(("app.tgz", H('4')))), bobKey);

        // Pass, then break the sublayout's own link: the failure is reported inside the sublayout.
        string copy = dir + ".copy";
        TestData.CopyDirectory(dir, copy);
        Check(dir, pass: true, kind: "", keys: FreshOwner);

        File.Delete(Path.Combine(copy, "links", $"build.{aliceKey.KeyId.Substring(0, 8)}", $"link.{bobKey.KeyId.Substring(0, 8)}.link"));
        var o = Check(copy, pass: false, kind: "LinkNotFoundError", "Step 'link'", FreshOwner);
        Assert.That(o.Result.Failures[0].SublayoutPath, Is.EqualTo(new[] { "build" }));
    }

    [Test]
    public void Inspection_timeout_is_configurable()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[] { Meta.Inspection("slow", Meta.Rules(), Meta.Rules(), "sleep", "30") }));
        try
        {
            var started = DateTime.UtcNow;
            var result = Ours.Verify(Path.Combine(dir, "final"), "../root.layout", new[] { "../owner.pub" }, "../links",
                configure: o => o.InspectionTimeout = TimeSpan.FromSeconds(1));
            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.TimeoutExpired));
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    // ---- inspections are bounded: special files, links leaving the directory, processes left behind ----

    /// <summary>Runs <paramref name="verify"/> with a bound far above what it takes, so a hang fails the test instead of the suite.</summary>
    private static T Bounded<T>(Func<T> verify)
    {
        var run = Task.Run(verify);
        Assert.That(run.Wait(TimeSpan.FromSeconds(90)), Is.True, "verification hung");
        return run.Result;
    }

    /// <summary>Our verdict on a fresh chain, run in its final/ directory, bounded.</summary>
    private static VerificationResult OursBounded(string dir, Action<LayoutVerifierOptions>? configure = null) =>
        Bounded(() => Ours.Verify(Path.Combine(dir, "final"), "../root.layout", new[] { "../owner.pub" }, "../links", configure: configure));

    private static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", new[] { path })!;
        mkfifo.WaitForExit();
        Assert.That(mkfifo.ExitCode, Is.EqualTo(0));
    }

    [Test]
    [Platform("Linux")]
    public void Inspection_skips_a_fifo_and_a_link_to_dev_zero_like_the_reference_and_warns()
    {
        var (dir, owner, alice, _) = FreshChain();
        string final = Path.Combine(dir, "final");
        File.WriteAllText(Path.Combine(final, "keep.txt"), "keep");
        MakeFifo(Path.Combine(final, "pipe"));
        Directory.CreateDirectory(Path.Combine(final, "sub"));
        File.CreateSymbolicLink(Path.Combine(final, "sub", "zero"), "/dev/zero");
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[]
        {
            // The reference never records them (os.path.isfile is false), so DISALLOW passes on both sides.
            Meta.Inspection("i", Meta.Rules("ALLOW keep.txt", "DISALLOW *"), Meta.Rules("ALLOW keep.txt", "DISALLOW *"), "true"),
        }));

        try
        {
            // Both in the same directory (the harness's copy would read the FIFO): ours first, then the reference.
            var result = OursBounded(dir);
            var reference = Bounded(() => Reference.Verify(final, "../root.layout", new[] { ("../owner.pub", "ed25519") }, "../links"));

            Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
            Assert.That(reference.ExitCode, Is.EqualTo(0), reference.Output);
            var warnings = result.Warnings.Select(w => w.Message).ToList();
            Assert.That(warnings, Has.One.Contains("SB2802").And.Contains("'pipe' is not recorded: it is a FIFO (named pipe), not a regular file"));
            Assert.That(warnings, Has.One.Contains("SB2802").And.Contains("'sub/zero' is not recorded: it is a symbolic link to '/dev/zero', a character device"));
        }
        finally
        {
            File.Delete(Path.Combine(final, "pipe"));
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    [Platform("Linux")]
    public void Inspection_refuses_a_link_to_a_file_outside_its_directory()
    {
        var (dir, owner, alice, _) = FreshChain();
        string final = Path.Combine(dir, "final");
        File.WriteAllText(Path.Combine(dir, "outside.txt"), "outside");
        File.CreateSymbolicLink(Path.Combine(final, "escape"), Path.Combine("..", "outside.txt"));
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[]
        {
            Meta.Inspection("i", Meta.Rules("ALLOW *"), Meta.Rules("ALLOW *"), "true"),
        }));
        try
        {
            var result = OursBounded(dir);

            Assert.That(result.Passed, Is.False);
            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.OSError));
            Assert.That(result.Failures.Single().Message, Does.StartWith("SB1802: Inspection 'i': 'escape'")
                .And.Contains($"symbolic link to the file '{Path.Combine(dir, "outside.txt")}', outside the working directory"));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    [Platform("Linux")]
    public void Inspection_that_leaves_a_child_holding_its_output_does_not_keep_verify_waiting()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[]
        {
            Meta.Inspection("i", Meta.Rules(), Meta.Rules("ALLOW bg.pid"), "sh", "-c", "sleep 1000 & echo $! > bg.pid"),
        }));
        try
        {
            var result = OursBounded(dir, o => o.InspectionTimeout = TimeSpan.FromSeconds(600));

            Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
            int pid = int.Parse(File.ReadAllText(Path.Combine(dir, "final", "bg.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "), Is.False, "the background sleep was left running");
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Test]
    [Platform("Linux")]
    public void Inspection_timeout_bounds_the_whole_process_tree()
    {
        var (dir, owner, alice, _) = FreshChain();
        WriteLayout(dir, owner, Meta.Layout(new[] { alice }, Array.Empty<JsonMap>(), new[]
        {
            Meta.Inspection("slow", Meta.Rules(), Meta.Rules(), "sh", "-c", "sleep 1000 & echo $! > bg.pid; sleep 1000"),
        }));
        try
        {
            var result = OursBounded(dir, o => o.InspectionTimeout = TimeSpan.FromSeconds(1));

            Assert.That(result.Failures.Single().Kind, Is.EqualTo(FailureKind.TimeoutExpired));
            Assert.That(result.Failures.Single().Message, Does.StartWith("SB1800: Inspection 'slow'").And.Contains("every process it started"));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }
}
