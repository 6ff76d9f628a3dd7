using System.Security.Cryptography;
using SecureBuild.Core.IO;
using SecureBuild.Core.Tracing;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Tracing.Tests;

/// <summary>The tracer's digests kept between traces: reused only for a file in the very same state, never planted by the build.</summary>
public class TraceHashStoreTests : TracingFixture
{
    private const long Second = 1_000_000_000L;
    private const string Digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly long Now = 1_800_000_000L * Second;

    private static FileStatus File(long size = 10, long inode = 7, long modified = 0, long changed = 0) =>
        new(0x8000, size, inode, 2049, modified == 0 ? Now - 3600 * Second : modified, changed == 0 ? Now - 3600 * Second : changed);

    private string StoreFile => Path.Combine(Dir, "cache", "securebuild-trace", "hashes");

    private readonly List<TraceHashStore> _open = new();

    private TraceHashStore Open()
    {
        foreach (var held in _open)
        {
            held.Dispose();
        }

        _open.Clear();
        var store = TraceHashStore.TryOpen(StoreFile) ?? throw new AssertionException("the store's lock is held");
        _open.Add(store);
        return store;
    }

    [TearDown]
    public void Release()
    {
        foreach (var held in _open)
        {
            held.Dispose();
        }

        _open.Clear();
    }

    [Test]
    public void A_digest_is_reused_only_for_the_same_device_inode_size_and_both_times()
    {
        var store = Open();
        store.Add(File(), File(), Digest, Now);
        store.Save();

        var again = Open();
        Assert.That(again.TryGet(File(), out var found), Is.True);
        Assert.That(found, Is.EqualTo(Digest));
        Assert.That(again.TryGet(File(changed: Now - 10 * Second), out _), Is.False, "rewritten with its modification time put back: the change time moved");
        Assert.That(again.TryGet(File(modified: Now - 10 * Second), out _), Is.False);
        Assert.That(again.TryGet(File(size: 11), out _), Is.False);
        Assert.That(again.TryGet(File(inode: 8), out _), Is.False, "replaced by another file");
        Assert.That(again.Hits, Is.EqualTo(1));
    }

    [Test]
    public void A_file_changed_within_two_seconds_or_while_it_was_read_is_not_kept()
    {
        var store = Open();
        store.Add(File(inode: 1, changed: Now - Second), File(inode: 1, changed: Now - Second), Digest, Now);
        store.Add(File(inode: 2, modified: Now - Second), File(inode: 2, modified: Now - Second), Digest, Now);
        store.Add(File(inode: 3), File(inode: 3, size: 12), Digest, Now);
        store.Add(File(inode: 4), File(inode: 4), Digest, Now);
        store.Save();

        var again = Open();
        Assert.That(again.TryGet(File(inode: 1, changed: Now - Second), out _), Is.False, "changed a second ago: a same-size rewrite could share its times");
        Assert.That(again.TryGet(File(inode: 2, modified: Now - Second), out _), Is.False);
        Assert.That(again.TryGet(File(inode: 3), out _), Is.False, "it grew while it was hashed");
        Assert.That(again.TryGet(File(inode: 4), out _), Is.True);
    }

    [TestCase("")]
    [TestCase("securebuild-trace-hashes 0\n2049 7 10 1 1 " + Digest + "\n")]
    [TestCase("securebuild-trace-hashes 1\n2049 7 10 x 1 " + Digest + "\n2049 7 10 1 1 NOTHEX\n2049 7 10 1 1\n\0\0\0")]
    public void A_foreign_or_garbled_store_is_an_empty_one(string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StoreFile)!);
        System.IO.File.WriteAllText(StoreFile, content);
        var store = Open();
        Assert.That(store.TryGet(new FileStatus(0x8000, 10, 7, 2049, 1, 1), out _), Is.False);
    }

    [Test]
    public void A_store_over_the_cache_limit_is_ignored_without_reading_it_whole()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StoreFile)!);
        using (var f = new FileStream(StoreFile, FileMode.Create))
        {
            f.Write(System.Text.Encoding.ASCII.GetBytes("securebuild-trace-hashes 1\n2049 7 10 1 1 " + Digest + "\n"));
            f.SetLength(InputFile.Limit(InputKind.Cache) + 1);
        }

        Assert.That(Open().TryGet(new FileStatus(0x8000, 10, 7, 2049, 1, 1), out _), Is.False);
    }

    [Test]
    public void A_second_trace_takes_unchanged_files_digests_from_the_store_and_records_the_same_digests()
    {
        // /etc files were changed long ago (older than the two-second window), as a build's SDK and package files are.
        string target = new[] { "/etc/os-release", "/etc/passwd", "/etc/hostname" }.First(System.IO.File.Exists);
        string real = StraceOracle.Canonical(target);
        string expected = Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(real))).ToLowerInvariant();

        var first = Tracer.RunResult(Dir, new[] { Tracer.System("cat"), real }, hashStore: StoreFile);
        var second = Tracer.RunResult(Dir, new[] { Tracer.System("cat"), real }, hashStore: StoreFile);

        Assert.That(first.Hashing.FromStore, Is.EqualTo(0));
        Assert.That(first.Hashing.FilesHashed, Is.GreaterThan(0));
        Assert.That(second.Hashing.FromStore, Is.GreaterThan(0), "cat, its libraries and the file come from the store");
        Assert.That(second.Hashing.FilesHashed, Is.LessThan(first.Hashing.FilesHashed));
        Assert.That(second.Log.Files.Single(f => f.Path == real && f.Kind == FileAccessKind.Read).Sha256, Is.EqualTo(expected));
        var firstDigests = first.Log.Files.Where(f => f.Kind == FileAccessKind.Read).ToDictionary(f => f.Path, f => f.Sha256);
        foreach (var read in second.Log.Files.Where(f => f.Kind == FileAccessKind.Read && firstDigests.ContainsKey(f.Path)))
        {
            Assert.That(read.Sha256, Is.EqualTo(firstDigests[read.Path]), read.Path);
        }

        var third = Tracer.RunResult(Dir, new[] { Tracer.System("cat"), real }, hashStore: null);
        Assert.That(third.Hashing.FromStore, Is.EqualTo(0), "no store: every file is read");
    }

    [Test]
    public void A_traced_process_that_writes_into_the_stores_folder_gets_the_store_deleted_not_used()
    {
        string target = new[] { "/etc/os-release", "/etc/passwd", "/etc/hostname" }.First(System.IO.File.Exists);
        Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile);
        Assert.That(System.IO.File.Exists(StoreFile), Is.True);

        string planted = Path.Combine(Path.GetDirectoryName(StoreFile)!, "planted");
        var result = Tracer.RunResult(Dir, new[] { Tracer.System("sh"), "-c", $"cat {target} > /dev/null; echo x > '{planted}'" }, hashStore: StoreFile);

        Assert.That(result.Hashing.StoreDiscarded, Is.True);
        Assert.That(System.IO.File.Exists(StoreFile), Is.False, "the next trace starts from nothing");
        var next = Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile);
        Assert.That(next.Hashing.FromStore, Is.EqualTo(0));
    }

    [Test]
    public void A_store_rewritten_through_a_hard_link_outside_its_folder_is_deleted_too()
    {
        string target = new[] { "/etc/os-release", "/etc/passwd", "/etc/hostname" }.First(System.IO.File.Exists);
        Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile);
        Assert.That(System.IO.File.Exists(StoreFile), Is.True);

        // link(2) is not a call the tracer stops on, and the write names the link: only the store's own status shows it.
        string alias = Path.Combine(Dir, "alias");
        var result = Tracer.RunResult(Dir, new[] { Tracer.System("sh"), "-c", $"ln '{StoreFile}' '{alias}' && echo '2049 1 1 1 1 {Digest}' >> '{alias}' && rm '{alias}'" }, hashStore: StoreFile);

        Assert.That(result.Log.ExitCode, Is.EqualTo(0));
        Assert.That(result.Log.Files.Any(f => f.Path.StartsWith(Path.GetDirectoryName(StoreFile)!, StringComparison.Ordinal)), Is.False, "no event names the store's folder");
        Assert.That(result.Hashing.StoreDiscarded, Is.True);
        Assert.That(System.IO.File.Exists(StoreFile), Is.False);
    }

    [Test]
    public void A_trace_while_another_holds_the_store_goes_without_it_and_leaves_it_alone()
    {
        string target = new[] { "/etc/os-release", "/etc/passwd", "/etc/hostname" }.First(System.IO.File.Exists);
        Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile);
        byte[] before = System.IO.File.ReadAllBytes(StoreFile);

        using (var held = TraceHashStore.TryOpen(StoreFile))
        {
            Assert.That(held, Is.Not.Null);
            Assert.That(TraceHashStore.TryOpen(StoreFile), Is.Null, "one holder at a time");
            var concurrent = Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile);
            Assert.That(concurrent.Hashing.FromStore, Is.EqualTo(0));
            Assert.That(concurrent.Hashing.StoreDiscarded, Is.False, "another trace's store is not tampering");
        }

        Assert.That(System.IO.File.ReadAllBytes(StoreFile), Is.EqualTo(before));
        Assert.That(Tracer.RunResult(Dir, new[] { Tracer.System("cat"), target }, hashStore: StoreFile).Hashing.FromStore, Is.GreaterThan(0), "free again");
    }
}
