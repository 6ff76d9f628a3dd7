using System.IO.Compression;
using System.Security.Cryptography;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>
/// The per-user store of verified folders: what lets a clean build (obj/ deleted) confirm a package by lstat instead of
/// re-hashing it, and what must never let a tampered package pass.
/// </summary>
public sealed class UserVerificationStoreTests
{
    private static readonly DateTime Later = DateTime.UtcNow.AddMinutes(10);
    private string _root = "";
    private UserVerificationStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("sb-user-store-").FullName;
        _store = new UserVerificationStore(Path.Combine(_root, "user-cache", "verified-folders"));
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private static string Hash(string nupkg) => Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(nupkg)));

    private PackageToVerify Extract(string id = "Demo.Package")
    {
        var dir = Path.Combine(_root, "packages", id.ToLowerInvariant(), "1.0.0");
        Directory.CreateDirectory(Path.Combine(dir, "lib", "net8.0"));
        var nupkg = Path.Combine(dir, $"{id.ToLowerInvariant()}.1.0.0.nupkg");
        using (var zip = ZipFile.Open(nupkg, ZipArchiveMode.Create))
        {
            foreach (var (name, content) in new[] { ($"{id}.nuspec", "<package/>"), ("lib/net8.0/Demo.dll", "the library") })
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(content);
            }
        }
        File.WriteAllText(Path.Combine(dir, $"{id.ToLowerInvariant()}.nuspec"), "<package/>");
        File.WriteAllText(Path.Combine(dir, "lib", "net8.0", "Demo.dll"), "the library");
        File.WriteAllText(nupkg + ".sha512", "x");
        File.WriteAllText(Path.Combine(dir, ".nupkg.metadata"), $"{{\"version\": 2, \"contentHash\": \"{Hash(nupkg)}\", \"source\": \"x\"}}");
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        }
        return new PackageToVerify(id, "1.0.0", dir);
    }

    private PackageFolderVerifier Verifier(PackageVerificationState state) => new(Hash, _ => "signature-info", state, () => Later, new ConfirmedFolders());

    /// <summary>
    /// The state of a fresh build of a fresh clone: nothing in obj/, the user store behind it. In memory: a state backed
    /// by a file would also see what this test process's earlier "builds" left in the process-wide memory, which a real
    /// clean build (a new MSBuild node) does not have.
    /// </summary>
    private PackageVerificationState CleanBuildState() => PackageVerificationState.InMemory(_store);

    /// <summary>One build of one clone that verifies <paramref name="package"/>: returns the verifier to read its counts.</summary>
    private (PackageVerdict Verdict, PackageFolderVerifier Verifier, PackageVerificationState State) Build(string clone, PackageToVerify package,
        bool inspectSignatures = true)
    {
        var state = CleanBuildState();
        var verifier = new PackageFolderVerifier(Hash, inspectSignatures ? _ => "signature-info" : null, state, () => Later, new ConfirmedFolders());
        var verdict = verifier.Verify(package);
        state.Save(new[] { package.Directory });
        return (verdict, verifier, state);
    }

    [Test]
    public void A_clean_build_confirms_a_package_an_earlier_build_verified_by_lstat_without_hashing_it_again()
    {
        Assume.That(SecureBuild.Core.IO.FileStatus.Available, Is.True, "the lstat fast path exists on Linux only");
        var package = Extract();
        var first = Build("clone-a", package);
        Assert.That(first.Verdict.Ok, Is.True);
        Assert.That(first.Verifier.FullyVerified, Is.EqualTo(1));
        Assert.That(File.Exists(_store.FileOf(package.Directory)), Is.True, "the folder that passed is in the user store");

        // obj/ gone (git clean -xdf), or another clone: only the user store knows the folder.
        var clean = Build("clone-b", package);
        Assert.That(clean.Verdict.Ok && clean.Verdict.FromCache, Is.True);
        Assert.That((clean.Verifier.FullyVerified, clean.Verifier.AnsweredByStat, clean.State.FromUserStore), Is.EqualTo((0, 1, 1)));
        Assert.That(clean.Verdict.Signature, Is.EqualTo("signature-info"));
    }

    [Test]
    public void A_package_tampered_with_after_the_store_was_written_is_caught_by_the_next_clean_build_and_forgotten()
    {
        Assume.That(SecureBuild.Core.IO.FileStatus.Available, Is.True, "the lstat fast path exists on Linux only");
        var package = Extract();
        Assert.That(Build("clone-a", package).Verdict.Ok, Is.True);
        var stored = File.ReadAllText(_store.FileOf(package.Directory));

        // Same size, write time set back: only the ctime (which nobody can set back) tells.
        var dll = Path.Combine(package.Directory, "lib", "net8.0", "Demo.dll");
        var written = File.GetLastWriteTimeUtc(dll);
        File.WriteAllText(dll, "the librarz");
        File.SetLastWriteTimeUtc(dll, written);

        var tampered = Build("clone-b", package);
        var problem = tampered.Verdict.Problems.Single();
        Assert.That((problem.Kind, problem.File), Is.EqualTo((PackageProblemKind.Modified, "lib/net8.0/Demo.dll")));
        Assert.That(tampered.Verifier.FullyVerified, Is.EqualTo(1));
        Assert.That(File.Exists(_store.FileOf(package.Directory)), Is.False, "a failure is never kept: the entry is deleted");

        // Putting the old entry back (it is a file of this user) does not help either: the fingerprint no longer matches.
        Directory.CreateDirectory(Path.GetDirectoryName(_store.FileOf(package.Directory))!);
        File.WriteAllText(_store.FileOf(package.Directory), stored);
        Assert.That(Build("clone-c", package).Verdict.Problems.Single().Kind, Is.EqualTo(PackageProblemKind.Modified));
    }

    [Test]
    public void A_tampered_nupkg_is_caught_after_the_store_was_written()
    {
        var package = Extract();
        Assert.That(Build("clone-a", package).Verdict.Ok, Is.True);
        File.AppendAllText(Path.Combine(package.Directory, "demo.package.1.0.0.nupkg"), "tampered");
        var verdict = Build("clone-b", package).Verdict;
        Assert.That(verdict.Ok, Is.False);
        Assert.That(verdict.Problems.First().Kind, Is.EqualTo(PackageProblemKind.ContentHash));
    }

    [Test]
    public void An_entry_recorded_against_other_expected_hashes_does_not_answer_and_a_wrong_lock_hash_is_still_drift()
    {
        Assume.That(SecureBuild.Core.IO.FileStatus.Available, Is.True, "the lstat fast path exists on Linux only");
        var package = Extract();
        Assert.That(Build("without-lock", package).Verdict.Ok, Is.True);
        // Another repository pins the package in its lock with another content hash.
        var pinned = new PackageToVerify(package.Id, package.Version, package.Directory);
        pinned.ExpectedContentHashes.Add(new KeyValuePair<string, string>("securebuild.lock.json", "c29tZXRoaW5nIGVsc2U="));
        var other = Build("with-lock", pinned);
        Assert.That(other.Verdict.Problems.Select(p => p.Kind), Does.Contain(PackageProblemKind.ContentHash));
        Assert.That(other.Verifier.AnsweredByStat, Is.EqualTo(0));
    }

    [Test]
    public void An_entry_from_a_build_that_did_not_inspect_signatures_does_not_answer_for_one_that_does()
    {
        var package = Extract();
        var off = Build("signatures-off", package, inspectSignatures: false);
        Assert.That(off.Verdict.Ok && off.Verdict.Signature is null, Is.True);
        Assert.That(File.Exists(_store.FileOf(package.Directory)), Is.True);

        var on = Build("signatures-on", package);
        Assert.That(on.Verdict.Signature, Is.EqualTo("signature-info"), "the signature is inspected, not taken as missing");
        Assert.That(on.Verifier.FullyVerified, Is.EqualTo(1));
    }

    [TestCase("")]
    [TestCase("securebuild-verified-folder 1\n")]
    [TestCase("securebuild-verified-folder 1\nnot\ta\tline")]
    [TestCase("securebuild-verified-folder 2\n0000000000000000000000000000000000000000000000000000000000000000\th\t\t/x\t")]
    [TestCase("\u0000\u0001binary")]
    public void A_damaged_or_foreign_entry_is_no_entry(string content)
    {
        const string key = "/packages/x/1.0.0";
        Directory.CreateDirectory(_store.Directory);
        File.WriteAllText(_store.FileOf(key), content);
        Assert.That(_store.Read(key), Is.Null);
    }

    [Test]
    public void An_entry_answers_only_for_the_key_it_names()
    {
        var entry = new PackageVerificationState.Entry(new string('a', 64), "hash", null, new[] { "lib/" });
        _store.Write("/packages/a/1.0.0", entry);
        // Even if another key's file held it (a hash collision, or a copied file), it names its own key.
        File.Copy(_store.FileOf("/packages/a/1.0.0"), _store.FileOf("/packages/b/1.0.0"));
        Assert.That(_store.Read("/packages/a/1.0.0")?.ContentHash, Is.EqualTo("hash"));
        Assert.That(_store.Read("/packages/b/1.0.0"), Is.Null);
        Assert.That(_store.Read("/packages/a/1.0.0")?.Paths, Is.EqualTo(new[] { "lib/" }));
    }

    [Test]
    public void A_store_that_cannot_be_written_costs_only_the_cache()
    {
        var blocked = Path.Combine(_root, "a-file");
        File.WriteAllText(blocked, "not a directory");
        var store = new UserVerificationStore(Path.Combine(blocked, "verified-folders"));
        var state = PackageVerificationState.InMemory(store);
        var package = Extract();
        Assert.That(Verifier(state).Verify(package).Ok, Is.True);
        state.Save();
        Assert.That(store.Read(package.Directory), Is.Null);
    }

    [Test]
    public void The_default_place_follows_the_cache_conventions()
    {
        Assume.That(Path.DirectorySeparatorChar, Is.EqualTo('/'));
        string? Env(string name, string? xdg, string? home) => name switch { "XDG_CACHE_HOME" => xdg, "HOME" => home, _ => null };
        Assert.That(UserVerificationStore.DefaultDirectory(n => Env(n, "/xdg", "/home/u")), Is.EqualTo("/xdg/securebuild/verified-folders"));
        Assert.That(UserVerificationStore.DefaultDirectory(n => Env(n, null, "/home/u")), Is.EqualTo("/home/u/.cache/securebuild/verified-folders"));
        Assert.That(UserVerificationStore.DefaultDirectory(n => Env(n, "relative", "/home/u")), Is.EqualTo("/home/u/.cache/securebuild/verified-folders"));
        Assert.That(UserVerificationStore.DefaultDirectory(n => Env(n, null, null)), Is.Null);
    }
}
