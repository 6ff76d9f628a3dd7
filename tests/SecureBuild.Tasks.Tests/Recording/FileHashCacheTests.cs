using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class FileHashCacheTests
{
    private static readonly DateTime Written = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly IReadOnlyList<string> Sha256 = new[] { "sha256" };

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("hashcache");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>Writes a file with a fixed last-write time, so the test decides how old it is.</summary>
    private string WriteAt(string relative, string content, DateTime writtenUtc)
    {
        var path = _dir.Write(relative, content);
        File.SetLastWriteTimeUtc(path, writtenUtc);
        return path;
    }

    private static string Hex(byte[] digest) => Convert.ToHexString(digest).ToLowerInvariant();

    private static Func<DateTime> Clock(DateTime now) => () => now;

    [Test]
    public void Digests_match_System_Security_Cryptography_for_every_algorithm([Values(0, 1, 65535, 65536, 65537, 200_001)] int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var path = _dir.Path("data.bin");
        File.WriteAllBytes(path, bytes);

        var digests = FileHashCache.InMemory().Hash(path, new[] { "sha256", "sha384", "sha512" });

        Assert.That(digests.Keys, Is.EquivalentTo(new[] { "sha256", "sha384", "sha512" }));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(bytes))));
        Assert.That(digests["sha384"], Is.EqualTo(Hex(SHA384.HashData(bytes))));
        Assert.That(digests["sha512"], Is.EqualTo(Hex(SHA512.HashData(bytes))));
    }

    [Test]
    public void Only_the_requested_algorithms_are_returned()
    {
        var path = WriteAt("a.txt", "abc", Written);

        var digests = FileHashCache.InMemory().Hash(path, new[] { "sha512" });

        Assert.That(digests.Keys, Is.EqualTo(new[] { "sha512" }));
    }

    [Test]
    public void A_missing_file_throws_FileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => FileHashCache.InMemory().Hash(_dir.Path("missing.txt"), Sha256));
    }

    [TestCase(null, new[] { "sha256" })]
    [TestCase("", new[] { "sha256" })]
    [TestCase(" ; ", new[] { "sha256" })]
    [TestCase("SHA512;sha256", new[] { "sha256", "sha512" })]
    [TestCase("sha384, sha256;sha384", new[] { "sha256", "sha384" })]
    public void ParseAlgorithms_normalizes_sorts_and_defaults_to_sha256(string? list, string[] expected)
    {
        Assert.That(FileHashCache.ParseAlgorithms(list), Is.EqualTo(expected));
    }

    [TestCase("md5")]
    [TestCase("sha256;sha1")]
    [TestCase("sha-256")]
    public void ParseAlgorithms_rejects_unknown_names_naming_them(string list)
    {
        var bad = list.Split(';').Last();
        var e = Assert.Throws<ArgumentException>(() => FileHashCache.ParseAlgorithms(list));
        Assert.That(e!.Message, Does.Contain($"'{bad}'"));
    }

    [Test]
    public void A_cache_hit_does_not_read_the_file_again()
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMinutes(1)));

        var first = cache.Hash(path, Sha256);
        var second = cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(1));
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void A_new_size_with_the_same_write_time_is_hashed_again()
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMinutes(1)));
        cache.Hash(path, Sha256);

        WriteAt("a.txt", "hello, world", Written);
        var digests = cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(2));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("hello, world")))));
    }

    [Test]
    public void A_new_write_time_with_the_same_size_is_hashed_again()
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMinutes(10)));
        cache.Hash(path, Sha256);

        WriteAt("a.txt", "jello", Written.AddMinutes(1));
        var digests = cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(2));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("jello")))));
    }

    [Test]
    public void An_algorithm_not_in_the_cached_entry_is_hashed_again()
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMinutes(1)));
        cache.Hash(path, Sha256);

        var digests = cache.Hash(path, new[] { "sha256", "sha512" });

        Assert.That(cache.FilesHashed, Is.EqualTo(2));
        Assert.That(digests["sha512"], Is.EqualTo(Hex(SHA512.HashData(Encoding.UTF8.GetBytes("hello")))));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1999)]
    [TestCase(2000)]
    public void A_file_written_within_the_two_second_racy_window_is_not_cached(int millisecondsOld)
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMilliseconds(millisecondsOld)));

        cache.Hash(path, Sha256);
        // Same size, same timestamp, new content: only a re-read can notice it.
        WriteAt("a.txt", "jello", Written);
        var digests = cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(2));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("jello")))));
    }

    [Test]
    public void A_file_older_than_the_racy_window_is_cached()
    {
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.InMemory(utcNow: Clock(Written.AddMilliseconds(2001)));

        cache.Hash(path, Sha256);
        cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(1));
    }

    [Test]
    public void Racy_entries_are_not_saved_and_an_earlier_entry_for_the_file_is_dropped()
    {
        var cacheFile = _dir.Path("obj/hashes.cache");
        var path = WriteAt("a.txt", "hello", Written);
        var first = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        first.Hash(path, Sha256);
        first.Save();

        // Rewritten "now": the new entry is racy and must not replace (or keep) the old one.
        var rewritten = Written.AddHours(1);
        WriteAt("a.txt", "jello", rewritten);
        var second = FileHashCache.Open(cacheFile, utcNow: Clock(rewritten.AddSeconds(1)));
        second.Hash(path, Sha256);
        second.Save();
        Assert.That(File.ReadAllText(cacheFile), Does.Not.Contain(path));

        WriteAt("a.txt", "hello", rewritten); // same size and write time as the racy read, different content
        var third = FileHashCache.Open(cacheFile, utcNow: Clock(rewritten.AddMinutes(1)));
        var digests = third.Hash(path, Sha256);
        Assert.That(third.FilesHashed, Is.EqualTo(1));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("hello")))));
    }

    [Test]
    public void A_saved_cache_is_reused_by_the_next_build()
    {
        var cacheFile = _dir.Path("obj/hashes.cache");
        var path = WriteAt("a.txt", "hello", Written);
        var first = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        var expected = first.Hash(path, Sha256);
        first.Save();

        var second = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(2)));
        var digests = second.Hash(path, Sha256);

        Assert.That(second.FilesHashed, Is.EqualTo(0));
        Assert.That(digests, Is.EqualTo(expected));
    }

    [Test]
    public void A_saved_cache_is_trusted_for_unchanged_files()
    {
        // Proves the next build really answers from the file (and the tests above are meaningful):
        // an entry edited in place is returned as-is while size and write time are unchanged.
        var cacheFile = _dir.Path("obj/hashes.cache");
        var path = WriteAt("a.txt", "hello", Written);
        var first = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        var real = first.Hash(path, Sha256)["sha256"];
        first.Save();
        var bogus = new string('e', 64);
        File.WriteAllText(cacheFile, File.ReadAllText(cacheFile).Replace(real, bogus));

        var second = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(2)));

        Assert.That(second.Hash(path, Sha256)["sha256"], Is.EqualTo(bogus));
    }

    [Test]
    public void A_cache_file_with_a_foreign_header_starts_empty()
    {
        var cacheFile = _dir.Path("obj/hashes.cache");
        var path = WriteAt("a.txt", "hello", Written);
        var first = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        var real = first.Hash(path, Sha256)["sha256"];
        first.Save();
        var lines = File.ReadAllText(cacheFile).Replace(real, new string('e', 64)).Split('\n');
        lines[0] = "securebuild-hash-cache 1 -";
        File.WriteAllText(cacheFile, string.Join("\n", lines));

        var second = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(2)));
        var digests = second.Hash(path, Sha256);

        Assert.That(second.FilesHashed, Is.EqualTo(1));
        Assert.That(digests["sha256"], Is.EqualTo(real));
    }

    [TestCase("")]
    [TestCase("\n\n\n")]
    [TestCase("not a cache at all")]
    [TestCase("\0\u00ff garbage \t\t\t\n1\t2\t3")]
    public void A_corrupt_cache_file_starts_empty_without_failing(string content)
    {
        var cacheFile = _dir.Write("obj/hashes.cache", content);
        var path = WriteAt("a.txt", "hello", Written);

        var cache = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        var digests = cache.Hash(path, Sha256);

        Assert.That(cache.FilesHashed, Is.EqualTo(1));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("hello")))));
    }

    [Test]
    public void Corrupt_lines_are_skipped_and_good_ones_kept()
    {
        var cacheFile = _dir.Path("obj/hashes.cache");
        var a = WriteAt("a.txt", "hello", Written);
        var b = WriteAt("b.txt", "world", Written);
        var first = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        first.Hash(a, Sha256);
        var bDigest = first.Hash(b, Sha256)["sha256"];
        first.Save();
        var lines = File.ReadAllText(cacheFile).Split('\n').ToList();
        var aLine = lines.FindIndex(l => l.EndsWith("\t" + a, StringComparison.Ordinal));
        lines[aLine] = "x\ty\tsha256=zz\t" + a; // unparsable size, time and digest
        File.WriteAllText(cacheFile, string.Join("\n", lines));

        var second = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(2)));
        second.Hash(a, Sha256);
        Assert.That(second.FilesHashed, Is.EqualTo(1), "the corrupt entry must be re-hashed");
        Assert.That(second.Hash(b, Sha256)["sha256"], Is.EqualTo(bDigest));
        Assert.That(second.FilesHashed, Is.EqualTo(1), "the good entry must come from the cache");
    }

    [Test]
    public void A_missing_cache_directory_is_created_on_save()
    {
        var cacheFile = _dir.Path("obj/deep/securebuild/hashes.cache");
        var path = WriteAt("a.txt", "hello", Written);
        var cache = FileHashCache.Open(cacheFile, utcNow: Clock(Written.AddMinutes(1)));
        cache.Hash(path, Sha256);

        cache.Save();

        Assert.That(File.Exists(cacheFile), Is.True);
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(cacheFile)!), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [Test]
    public void Machine_local_files_get_path_mapped_digests_under_suffixed_names()
    {
        var root = _dir.FullPath;
        var mapping = new PathMapping(new[] { new KeyValuePair<string, string>(root, "@root") });
        var assets = WriteAt("obj/project.assets.json", $"{{\"projectPath\": \"{root}/App/App.csproj\"}}", Written);
        var source = WriteAt("Program.cs", $"// {root}/App", Written);
        var cache = FileHashCache.InMemory(mapping, Clock(Written.AddMinutes(1)));

        var mapped = cache.Hash(assets, new[] { "sha256", "sha512" });
        var plain = cache.Hash(source, Sha256);

        var mappedContent = Encoding.UTF8.GetBytes("{\"projectPath\": \"@root/App/App.csproj\"}");
        Assert.That(mapped.Keys, Is.EquivalentTo(new[] { "sha256-pathmapped", "sha512-pathmapped" }));
        Assert.That(mapped["sha256-pathmapped"], Is.EqualTo(Hex(SHA256.HashData(mappedContent))));
        Assert.That(mapped["sha512-pathmapped"], Is.EqualTo(Hex(SHA512.HashData(mappedContent))));
        Assert.That(plain.Keys, Is.EqualTo(new[] { "sha256" }), "ordinary files are never path-mapped");
        Assert.That(plain["sha256"], Is.EqualTo(Hex(SHA256.HashData(File.ReadAllBytes(source)))));
    }

    [Test]
    public void Two_clones_in_different_directories_get_the_same_path_mapped_digest()
    {
        using var other = new TempDirectory("clone");
        string Digest(TempDirectory clone)
        {
            var mapping = new PathMapping(new[] { new KeyValuePair<string, string>(clone.FullPath, "@root") });
            var file = clone.Write("obj/App.csproj.nuget.g.props", $"<Import Project=\"{clone.FullPath}/build/x.props\" />");
            return FileHashCache.InMemory(mapping).Hash(file, Sha256)["sha256-pathmapped"];
        }

        Assert.That(Digest(_dir), Is.EqualTo(Digest(other)));
    }

    [Test]
    public void Without_a_mapping_machine_local_files_get_plain_digests()
    {
        var assets = WriteAt("obj/project.assets.json", $"{{\"p\": \"{_dir.FullPath}/x\"}}", Written);

        var digests = FileHashCache.InMemory().Hash(assets, Sha256);

        Assert.That(digests.Keys, Is.EqualTo(new[] { "sha256" }));
        Assert.That(digests["sha256"], Is.EqualTo(Hex(SHA256.HashData(File.ReadAllBytes(assets)))));
    }

    [Test]
    public void A_cache_made_under_another_mapping_is_not_reused()
    {
        var cacheFile = _dir.Path("obj/hashes.cache");
        var assets = WriteAt("obj/project.assets.json", $"{{\"p\": \"{_dir.FullPath}/x\"}}", Written);
        var mappingA = new PathMapping(new[] { new KeyValuePair<string, string>(_dir.FullPath, "@root") });
        var mappingB = new PathMapping(new[] { new KeyValuePair<string, string>(_dir.FullPath, "@elsewhere") });

        var first = FileHashCache.Open(cacheFile, mappingA, Clock(Written.AddMinutes(1)));
        var underA = first.Hash(assets, Sha256)["sha256-pathmapped"];
        first.Save();

        var sameMapping = FileHashCache.Open(cacheFile, new PathMapping(new[] { new KeyValuePair<string, string>(_dir.FullPath, "@root") }), Clock(Written.AddMinutes(2)));
        sameMapping.Hash(assets, Sha256);
        Assert.That(sameMapping.FilesHashed, Is.EqualTo(0), "an equal mapping reuses the cache");

        var second = FileHashCache.Open(cacheFile, mappingB, Clock(Written.AddMinutes(2)));
        var underB = second.Hash(assets, Sha256)["sha256-pathmapped"];
        Assert.That(second.FilesHashed, Is.EqualTo(1));
        Assert.That(underB, Is.Not.EqualTo(underA));
        Assert.That(underB, Is.EqualTo(Hex(SHA256.HashData(Encoding.UTF8.GetBytes("{\"p\": \"@elsewhere/x\"}")))));

        var unmapped = FileHashCache.Open(cacheFile, null, Clock(Written.AddMinutes(2)));
        unmapped.Hash(assets, Sha256);
        Assert.That(unmapped.FilesHashed, Is.EqualTo(1), "a cache without mapping does not reuse a mapped one");
    }
}
