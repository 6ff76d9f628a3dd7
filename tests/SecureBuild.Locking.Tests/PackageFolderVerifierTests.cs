using System.IO.Compression;
using System.Security.Cryptography;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>A package extracted the way NuGet extracts it, then damaged in each way the cache can be.</summary>
public sealed class PackageFolderVerifierTests
{
    private static readonly DateTime Later = DateTime.UtcNow.AddMinutes(10);
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("sb-cache-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    /// <summary>The unsigned-package rule of NuGet's content hash: SHA-512 of the file.</summary>
    private static string Hash(string nupkg) => Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(nupkg)));

    private PackageToVerify Extract(string id = "Demo.Package", string version = "1.2.3", Action<ZipArchive>? addEntries = null)
    {
        var dir = Path.Combine(_root, id.ToLowerInvariant(), version);
        Directory.CreateDirectory(dir);
        var nupkg = Path.Combine(dir, $"{id.ToLowerInvariant()}.{version}.nupkg");
        using (var zip = ZipFile.Open(nupkg, ZipArchiveMode.Create))
        {
            void Entry(string name, string content)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(content);
            }
            Entry($"{id}.nuspec", "<package/>");
            Entry("lib/net8.0/Demo.dll", "the library");
            Entry("lib/net8.0/My%20Docs.xml", "escaped name");
            Entry("[Content_Types].xml", "opc");
            Entry("_rels/.rels", "opc");
            Entry("package/services/metadata/core-properties/x.psmdcp", "opc");
            addEntries?.Invoke(zip);
        }
        Directory.CreateDirectory(Path.Combine(dir, "lib", "net8.0"));
        File.WriteAllText(Path.Combine(dir, $"{id.ToLowerInvariant()}.nuspec"), "<package/>");
        File.WriteAllText(Path.Combine(dir, "lib", "net8.0", "Demo.dll"), "the library");
        File.WriteAllText(Path.Combine(dir, "lib", "net8.0", "My Docs.xml"), "escaped name");
        File.WriteAllText(nupkg + ".sha512", "x");
        File.WriteAllText(Path.Combine(dir, ".nupkg.metadata"), $"{{\"version\": 2, \"contentHash\": \"{Hash(nupkg)}\", \"source\": \"x\"}}");
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        }
        return new PackageToVerify(id, version, dir);
    }

    private static PackageFolderVerifier Verifier(PackageVerificationState? state = null) =>
        new(Hash, _ => "signature-info", state ?? PackageVerificationState.InMemory(), () => Later);

    [Test]
    public void An_intact_package_passes_and_is_then_answered_from_the_fingerprint()
    {
        var package = Extract();
        var state = PackageVerificationState.InMemory();
        var verifier = Verifier(state);
        var first = verifier.Verify(package);
        Assert.That(first.Problems, Is.Empty);
        Assert.That(first.FromCache, Is.False);
        Assert.That(first.Signature, Is.EqualTo("signature-info"));
        var second = verifier.Verify(package);
        Assert.That(second.Ok && second.FromCache, Is.True);
        Assert.That(verifier.FullyVerified, Is.EqualTo(1));
    }

    [TestCase("../../outside.txt", "SB1901")]
    [TestCase("%2e%2e/%2e%2e/outside.txt", "SB1901")]
    [TestCase("/etc/hostname", "SB1901")]
    public void A_package_whose_entry_names_leave_its_folder_is_refused_without_reading_outside(string name, string code)
    {
        var outside = Path.Combine(_root, "outside.txt");
        File.WriteAllText(outside, "a file outside the package folder");
        var package = Extract(addEntries: zip =>
        {
            using var writer = new StreamWriter(zip.CreateEntry(name).Open());
            writer.Write("a file outside the package folder");
        });
        var verdict = Verifier().Verify(package);
        Assert.That(verdict.Ok, Is.False);
        var problem = verdict.Problems.Single();
        Assert.That(problem.Kind, Is.EqualTo(PackageProblemKind.ContentHash));
        Assert.That(problem.Message, Does.Contain(code).And.Contain("Delete"));
    }

    [Test]
    public void A_package_with_a_zip_bomb_entry_is_refused_before_decompressing_it()
    {
        var package = Extract(addEntries: zip =>
        {
            using var stream = zip.CreateEntry("lib/net8.0/bomb.dll", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 300; i++)
            {
                stream.Write(zeros);
            }
        });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var verdict = Verifier().Verify(package);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(32 << 20), "the entry is never inflated");
        Assert.That(verdict.Ok, Is.False);
        Assert.That(verdict.Problems.Single().Message, Does.Contain("SB1904").And.Contain("lib/net8.0/bomb.dll"));
    }

    [Test]
    public void A_modified_file_is_named_even_after_the_folder_passed_once()
    {
        var package = Extract();
        var verifier = Verifier();
        Assert.That(verifier.Verify(package).Ok, Is.True);
        File.WriteAllText(Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll"), "the librarz");
        File.SetLastWriteTimeUtc(Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll"), DateTime.UtcNow.AddMinutes(-5));
        var verdict = verifier.Verify(package);
        Assert.That(verdict.Problems.Single().Kind, Is.EqualTo(PackageProblemKind.Modified));
        Assert.That(verdict.Problems.Single().File, Is.EqualTo("lib/net8.0/Demo.dll"));
        Assert.That(verdict.Problems.Single().Code, Is.EqualTo("SB1430"));
    }

    [Test]
    public void Missing_extra_and_linked_files_and_a_missing_folder_are_named()
    {
        var package = Extract();
        File.Delete(Path.Combine(package.Directory, "lib", "net8.0", "My Docs.xml"));
        var missing = Verifier().Verify(package).Problems.Single();
        Assert.That((missing.Kind, missing.File, missing.Code), Is.EqualTo((PackageProblemKind.Incomplete, "lib/net8.0/My Docs.xml", "SB1431")));

        package = Extract("Other.Package");
        File.WriteAllText(Path.Combine(package.Directory, "lib", "net8.0", "Evil.dll"), "added");
        Assert.That(Verifier().Verify(package).Problems.Single().File, Is.EqualTo("lib/net8.0/Evil.dll"));

        package = Extract("Linked.Package");
        var target = Path.Combine(_root, "elsewhere.dll");
        File.WriteAllText(target, "the library");
        File.Delete(Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll"));
        File.CreateSymbolicLink(Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll"), target);
        var link = Verifier().Verify(package).Problems.First();
        Assert.That((link.Kind, link.File), Is.EqualTo((PackageProblemKind.Link, "lib/net8.0/Demo.dll")));

        var gone = Verifier().Verify(new PackageToVerify("Gone", "1.0.0", Path.Combine(_root, "gone", "1.0.0")));
        Assert.That(gone.Problems.Single().Kind, Is.EqualTo(PackageProblemKind.Missing));
    }

    [Test]
    public void A_content_hash_that_disagrees_with_metadata_assets_or_lock_is_named_with_who_expected_what()
    {
        var package = Extract();
        package.ExpectedContentHashes.Add(new KeyValuePair<string, string>("securebuild.lock.json", "locked-hash"));
        var verdict = Verifier().Verify(package);
        Assert.That(verdict.Problems.Single().Kind, Is.EqualTo(PackageProblemKind.ContentHash));
        Assert.That(verdict.Problems.Single().Message, Does.Contain("securebuild.lock.json says locked-hash"));

        var other = Extract("Swapped.Package");
        File.AppendAllText(Path.Combine(other.Directory, "swapped.package.1.2.3.nupkg"), "appended");
        Assert.That(Verifier().Verify(other).Problems.Single().Message, Does.Contain(".nupkg.metadata says"));

        var partial = Extract("Partial.Package");
        File.Delete(Path.Combine(partial.Directory, ".nupkg.metadata"));
        Assert.That(Verifier().Verify(partial).Problems.Single().Kind, Is.EqualTo(PackageProblemKind.Incomplete));
    }

    [Test]
    public void The_state_survives_a_round_trip_through_its_file()
    {
        var package = Extract();
        var file = Path.Combine(_root, "state", "packages.verified");
        var state = PackageVerificationState.Open(file);
        Assert.That(Verifier(state).Verify(package).Ok, Is.True);
        state.Save();
        var reopened = Verifier(PackageVerificationState.Open(file));
        var verdict = reopened.Verify(package);
        Assert.That(verdict.FromCache, Is.True);
        Assert.That(verdict.Signature, Is.EqualTo("signature-info"));
    }

    [Test]
    public void A_folder_another_project_of_the_process_verified_is_kept_in_this_projects_file_too()
    {
        // Two target frameworks of one project built in one MSBuild node: the second is answered from the memory the
        // first left. Its own file must still record the folder, or the next build (a fresh node) verifies it in full.
        var package = Extract("Shared.Package");
        var first = PackageVerificationState.Open(Path.Combine(_root, "state-a", "packages.verified"));
        Assert.That(Verifier(first).Verify(package).Ok, Is.True);
        first.Save();
        var secondFile = Path.Combine(_root, "state-b", "packages.verified");
        var second = PackageVerificationState.Open(secondFile);
        var verifier = Verifier(second);
        var verdict = verifier.Verify(package);
        Assert.That(verdict.Ok && verdict.FromCache, Is.True);
        Assert.That(verifier.FullyVerified, Is.EqualTo(0));
        second.Save(new[] { package.Directory });
        Assert.That(File.Exists(secondFile), Is.True, "the second project's state was not written");
        Assert.That(File.ReadAllText(secondFile), Does.Contain(package.Directory));
    }

    private static PackageFolderVerifier Verifier(PackageVerificationState state, ConfirmedFolders confirmed) =>
        new(Hash, _ => "signature-info", state, () => Later, confirmed);

    /// <summary>The state of a build that verified <paramref name="package"/>, written and read back as the next build's node sees it.</summary>
    private PackageVerificationState PassedState(PackageToVerify package, string name)
    {
        var file = Path.Combine(_root, "state-" + name, "packages.verified");
        var state = PackageVerificationState.Open(file);
        Assert.That(Verifier(state).Verify(package).Ok, Is.True);
        state.Save();
        return PackageVerificationState.Open(file);
    }

    [Test]
    public void Within_one_build_a_folder_confirmed_for_one_framework_is_not_looked_at_again_for_the_next()
    {
        var package = Extract("Build.Package");
        var confirmed = new ConfirmedFolders();
        var first = Verifier(PassedState(package, "net8"), confirmed);
        Assert.That(first.Verify(package).Ok, Is.True);
        Assert.That(first.AnsweredByBuild, Is.EqualTo(0));
        Assert.That(confirmed.Count, Is.EqualTo(1));

        var second = Verifier(PassedState(package, "net9"), confirmed);
        var verdict = second.Verify(package);
        Assert.That(verdict.Ok && verdict.FromCache, Is.True);
        Assert.That((second.AnsweredByBuild, second.AnsweredByStat, second.FullyVerified), Is.EqualTo((1, 0, 0)));
    }

    [Test]
    public void A_package_tampered_with_between_builds_is_caught_by_the_next_build_whatever_the_last_one_confirmed()
    {
        var package = Extract("Tampered.Package");
        var state = PassedState(package, "tampered");
        var lastBuild = new ConfirmedFolders();
        Assert.That(Verifier(state, lastBuild).Verify(package).Ok, Is.True);
        File.AppendAllText(Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll"), "tampered");

        // The next build starts with nothing confirmed (what the build engine's Build lifetime gives the task).
        var nextBuild = new ConfirmedFolders();
        var verifier = Verifier(state, nextBuild);
        var verdict = verifier.Verify(package);
        Assert.That(verdict.Problems.Select(p => p.Kind), Does.Contain(PackageProblemKind.Modified));
        Assert.That(verifier.AnsweredByBuild, Is.EqualTo(0));
        Assert.That(nextBuild.Count, Is.EqualTo(0), "a failure is never confirmed");
        // Every later framework of that build verifies and reports it again.
        var again = Verifier(state, nextBuild);
        Assert.That(again.Verify(package).Ok, Is.False);
        Assert.That(again.AnsweredByBuild, Is.EqualTo(0));
    }

    [Test]
    public void What_a_build_confirmed_does_not_answer_for_another_expected_content_hash()
    {
        // Another project of the build (or a changed lock) expects another content hash of the same folder.
        var package = Extract("Expected.Package");
        var confirmed = new ConfirmedFolders();
        Assert.That(Verifier(PassedState(package, "expected"), confirmed).Verify(package).Ok, Is.True);
        var pinned = new PackageToVerify(package.Id, package.Version, package.Directory);
        pinned.ExpectedContentHashes.Add(new KeyValuePair<string, string>("securebuild.lock.json", "c29tZXRoaW5nIGVsc2U="));
        var verifier = Verifier(PackageVerificationState.InMemory(), confirmed);
        var verdict = verifier.Verify(pinned);
        Assert.That(verifier.AnsweredByBuild, Is.EqualTo(0));
        Assert.That(verdict.Problems.Select(p => p.Kind), Does.Contain(PackageProblemKind.ContentHash));
        Assert.That(ConfirmedFolders.KeyOf(pinned), Is.Not.EqualTo(ConfirmedFolders.KeyOf(package)));
    }

    [Test]
    public void A_targeting_pack_confirmed_once_in_a_build_is_not_listed_again_and_a_changed_one_is_hashed_again_next_build()
    {
        var pack = Path.Combine(_root, "packs", "Demo.Ref", "8.0.0");
        Directory.CreateDirectory(Path.Combine(pack, "ref"));
        File.WriteAllText(Path.Combine(pack, "ref", "Demo.dll"), "reference");
        var state = PackageVerificationState.InMemory();
        var build = new ConfirmedFolders();
        var (digest, files) = DirectoryTreeDigest.Compute(pack, state, build);
        Assert.That(files, Is.EqualTo(1));
        File.WriteAllText(Path.Combine(pack, "ref", "Other.dll"), "added during the build");
        Assert.That(DirectoryTreeDigest.Compute(pack, state, build), Is.EqualTo((digest, 1)), "one build, one snapshot");
        var next = DirectoryTreeDigest.Compute(pack, state, new ConfirmedFolders());
        Assert.That(next.Files, Is.EqualTo(2));
        Assert.That(next.Sha256, Is.Not.EqualTo(digest));
    }

    /// <summary>A verifier whose folder passed, with the state written to a file and read back, as the next build sees it.</summary>
    private (PackageFolderVerifier Verifier, PackageToVerify Package) PassedAndReopened(string id = "Demo.Package")
    {
        Assume.That(SecureBuild.Core.IO.FileStatus.Available, Is.True, "the lstat fast path exists on Linux only");
        var package = Extract(id);
        var file = Path.Combine(_root, "state-" + id, "packages.verified");
        var state = PackageVerificationState.Open(file);
        Assert.That(Verifier(state).Verify(package).Ok, Is.True);
        state.Save();
        return (Verifier(PackageVerificationState.Open(file)), package);
    }

    [Test]
    public void A_no_op_build_answers_from_lstat_of_the_recorded_paths()
    {
        var (verifier, package) = PassedAndReopened();
        var verdict = verifier.Verify(package);
        Assert.That(verdict.Ok && verdict.FromCache, Is.True);
        Assert.That((verifier.AnsweredByStat, verifier.FullyVerified), Is.EqualTo((1, 0)));
    }

    [Test]
    public void A_same_size_rewrite_with_its_write_time_set_back_is_caught_by_the_ctime()
    {
        var (verifier, package) = PassedAndReopened();
        var dll = Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll");
        var written = File.GetLastWriteTimeUtc(dll);
        File.WriteAllText(dll, "the librarz");
        File.SetLastWriteTimeUtc(dll, written);
        var verdict = verifier.Verify(package);
        Assert.That((verdict.Problems.Single().Kind, verdict.Problems.Single().File), Is.EqualTo((PackageProblemKind.Modified, "lib/net8.0/Demo.dll")));
        Assert.That((verifier.AnsweredByStat, verifier.FullyVerified), Is.EqualTo((0, 1)));
    }

    [Test]
    public void A_same_size_nupkg_swap_with_its_write_time_set_back_is_caught()
    {
        var (verifier, package) = PassedAndReopened();
        var nupkg = Path.Combine(package.Directory, "demo.package.1.2.3.nupkg");
        var written = File.GetLastWriteTimeUtc(nupkg);
        var bytes = File.ReadAllBytes(nupkg);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(nupkg, bytes);
        File.SetLastWriteTimeUtc(nupkg, written);
        var verdict = verifier.Verify(package);
        Assert.That(verdict.Ok, Is.False);
        Assert.That(verdict.Problems.First().Kind, Is.EqualTo(PackageProblemKind.ContentHash));
    }

    [Test]
    public void Added_removed_and_linked_files_are_caught_even_when_the_directory_times_are_set_back()
    {
        var (verifier, package) = PassedAndReopened();
        var dir = Path.Combine(package.Directory, "lib", "net8.0");
        var dirTime = Directory.GetLastWriteTimeUtc(dir);
        File.WriteAllText(Path.Combine(dir, "Evil.dll"), "added");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "Evil.dll"), dirTime);
        Directory.SetLastWriteTimeUtc(dir, dirTime);
        Assert.That(verifier.Verify(package).Problems.Single().File, Is.EqualTo("lib/net8.0/Evil.dll"));

        (verifier, package) = PassedAndReopened("Removed.Package");
        dir = Path.Combine(package.Directory, "lib", "net8.0");
        dirTime = Directory.GetLastWriteTimeUtc(dir);
        File.Move(Path.Combine(dir, "Demo.dll"), Path.Combine(_root, "moved-away.dll"));
        Directory.SetLastWriteTimeUtc(dir, dirTime);
        var missing = verifier.Verify(package).Problems.Single();
        Assert.That((missing.Kind, missing.File), Is.EqualTo((PackageProblemKind.Incomplete, "lib/net8.0/Demo.dll")));

        (verifier, package) = PassedAndReopened("Linked.Package");
        dir = Path.Combine(package.Directory, "lib", "net8.0");
        dirTime = Directory.GetLastWriteTimeUtc(dir);
        var target = Path.Combine(_root, "elsewhere.dll");
        File.WriteAllText(target, "the library");
        File.Delete(Path.Combine(dir, "Demo.dll"));
        File.CreateSymbolicLink(Path.Combine(dir, "Demo.dll"), target);
        Directory.SetLastWriteTimeUtc(dir, dirTime);
        var link = verifier.Verify(package).Problems.First();
        Assert.That((link.Kind, link.File), Is.EqualTo((PackageProblemKind.Link, "lib/net8.0/Demo.dll")));
    }

    [Test]
    public void A_fingerprint_is_not_kept_for_files_changed_within_the_racy_window()
    {
        Assume.That(SecureBuild.Core.IO.FileStatus.Available, Is.True, "the lstat fast path exists on Linux only");
        var package = Extract();
        // Write times an hour old, but the ctimes are now: a clock that says "now" must not trust them yet.
        var verifier = new PackageFolderVerifier(Hash, null, PackageVerificationState.InMemory(), () => DateTime.UtcNow);
        Assert.That(verifier.Verify(package).Ok, Is.True);
        Assert.That(verifier.Verify(package).FromCache, Is.False);
        Assert.That(verifier.FullyVerified, Is.EqualTo(2));
    }

    [TestCase("lib/net8.0/a%2Bb.dll", "lib/net8.0/a+b.dll")]
    [TestCase("Demo.Package.nuspec", "demo.package.nuspec")]
    [TestCase("_rels/.rels", null)]
    [TestCase("lib/", null)]
    public void Entry_names_map_as_NuGet_extracts_them(string entry, string? expected) =>
        Assert.That(PackageFolderVerifier.ExtractedName(entry, "demo.package"), Is.EqualTo(expected));
}

public sealed class SourcesAndPolicyTests
{
    [Test]
    public void Sources_are_portable()
    {
        var root = Path.Combine(Path.GetTempPath(), "repo");
        Assert.That(PackageSources.Normalize("https://user:secret@feed.test/v3/index.json?token=abc", root), Does.StartWith("https://feed.test/v3/index.json?sha256:").And.Not.Contain("secret").And.Not.Contain("abc"));
        Assert.That(PackageSources.Normalize(Path.Combine(root, "feeds", "local"), root), Is.EqualTo("./feeds/local"));
        Assert.That(PackageSources.Normalize("/somewhere/else/feed", root), Is.EqualTo("local:feed"));
    }

    [TestCase("Microsoft.NETCore.App.Runtime.linux-x64", true)]
    [TestCase("Microsoft.NETCore.App.Host.win-arm64", true)]
    [TestCase("runtime.linux-musl-x64.Microsoft.DotNet.ILCompiler", true)]
    [TestCase("Microsoft.NETCore.App.Ref", false)]
    [TestCase("Newtonsoft.Json", false)]
    [TestCase("runtime.native.System", false)]
    public void Runtime_specific_packages_are_recognised(string id, bool expected) =>
        Assert.That(PackageSources.IsRuntimeSpecific(id), Is.EqualTo(expected));

    [TestCase("[1.0.0]", "1.0.0")]
    [TestCase("[1.0.0, 1.0.0]", "1.0.0")]
    [TestCase("1.0.0", "1.0.0")]
    [TestCase("[1.0.0, 2.0.0)", "[1.0.0, 2.0.0)")]
    public void Exact_versions_are_normalised(string range, string expected) =>
        Assert.That(ProjectAssets.ExactVersion(range), Is.EqualTo(expected));

    [Test]
    public void The_signature_policy_decides_per_package()
    {
        var signed = new PackageSignatureInfo { Signed = true, Author = "AA", AuthorSubject = "CN=Author", Repository = "RR", RepositorySubject = "CN=Repo" };
        signed.Owners.Add("alice");
        var none = Array.Empty<TrustedSigner>();
        Assert.That(SignaturePolicy.Evaluate("p 1.0", signed, none, false).Finding, Is.EqualTo(SignatureFinding.Trusted));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", new PackageSignatureInfo(), none, false).Finding, Is.EqualTo(SignatureFinding.Unsigned));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", new PackageSignatureInfo(), none, true).Finding, Is.EqualTo(SignatureFinding.UnsignedNotAllowed));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", new PackageSignatureInfo { Signed = true, Invalid = "bad" }, none, false).Finding, Is.EqualTo(SignatureFinding.Invalid));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", signed, new[] { new TrustedSigner("aa", "author", null) }, false).Finding, Is.EqualTo(SignatureFinding.Trusted));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", signed, new[] { new TrustedSigner("rr", "repository", new[] { "bob" }) }, false).Finding, Is.EqualTo(SignatureFinding.Untrusted));
        Assert.That(SignaturePolicy.Evaluate("p 1.0", signed, new[] { new TrustedSigner("R:R", "repository", new[] { "Alice" }) }, false).Finding, Is.EqualTo(SignatureFinding.Trusted));
        var untrusted = SignaturePolicy.Evaluate("p 1.0", signed, new[] { new TrustedSigner("ZZ", null, null) }, false);
        Assert.That(untrusted.Message, Does.Contain("CN=Author").And.Contain("SecureBuildTrustedSigner"));
        Assert.That(PackageSignatureInfo.FromText(signed.ToText())!.ToText(), Is.EqualTo(signed.ToText()));
    }
}
