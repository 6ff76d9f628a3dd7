using System.IO.Compression;
using SecureBuild.Core.Archives;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The one archive reader refuses zip bombs (by ratio, by size per entry and in total, and an entry that lies about its
/// size), names that leave their folder, and damaged archives, each with its SB code; small bombs are made in the test.
/// </summary>
[TestFixture]
public class ArchiveReaderTests
{
    private static byte[] Zip(params (string Name, byte[] Content, CompressionLevel Level)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, level) in entries)
            {
                using var stream = zip.CreateEntry(name, level).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A zip with one entry of <paramref name="megabytes"/> MiB of zeros, written in 1 MiB pieces (about 0.3 MiB compressed per 300).</summary>
    private static byte[] ZerosBomb(int megabytes)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var stream = zip.CreateEntry("lib/net8.0/bomb.dll", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < megabytes; i++)
            {
                stream.Write(zeros);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public void A_zip_bomb_is_refused_by_its_compression_ratio_before_anything_is_decompressed()
    {
        var bomb = ZerosBomb(300);
        Assert.That(bomb.Length, Is.LessThan(2 << 20), "the bomb itself is small");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(bomb, "bomb.nupkg"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(e!.Code, Is.EqualTo(ArchiveFormatException.RatioTooHigh));
        Assert.That(e.Message, Does.StartWith("SB1904: bomb.nupkg: entry lib/net8.0/bomb.dll decompresses from").And.Contain("zip bomb"));
        Assert.That(allocated, Is.LessThan(16 << 20), "refused from the central directory, without inflating the entry");
    }

    [Test]
    public void An_entry_beyond_the_per_entry_limit_is_refused()
    {
        var zip = Zip(("big.bin", Random(3 << 20, 1), CompressionLevel.Optimal), ("small.txt", new byte[10], CompressionLevel.Optimal));
        var e = Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(zip, "p.zip", new ArchiveLimits { MaxEntryBytes = 2 << 20 }));
        Assert.That(e!.Code, Is.EqualTo(ArchiveFormatException.EntryTooLarge));
        Assert.That(e.Message, Does.Contain("big.bin").And.Contain("per entry"));
        Assert.DoesNotThrow(() => ArchiveReader.Open(zip, "p.zip").Dispose(), "within the default limits");
    }

    [Test]
    public void Entries_beyond_the_total_limit_are_refused()
    {
        var zip = Zip(("a", Random(600_000, 2), CompressionLevel.Optimal), ("b", Random(600_000, 3), CompressionLevel.Optimal));
        var e = Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(zip, "p.zip", new ArchiveLimits { MaxTotalBytes = 1_000_000 }));
        Assert.That(e!.Code, Is.EqualTo(ArchiveFormatException.TotalTooLarge));
        var many = Zip(Enumerable.Range(0, 20).Select(i => ($"f{i}", new byte[1], CompressionLevel.Optimal)).ToArray());
        Assert.That(Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(many, "many.zip", new ArchiveLimits { MaxEntries = 10 }))!.Code, Is.EqualTo(ArchiveFormatException.TotalTooLarge));
    }

    [Test]
    public void A_bomb_under_a_raised_ratio_is_still_stopped_by_the_entry_limit_while_reading()
    {
        var bomb = ZerosBomb(300);
        var limits = new ArchiveLimits { MaxCompressionRatio = 1_000_000, MaxEntryBytes = 64 << 20 };
        var e = Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(bomb, "bomb.zip", limits));
        Assert.That(e!.Code, Is.EqualTo(ArchiveFormatException.EntryTooLarge));
    }

    [Test]
    public void An_entry_that_lies_about_its_size_yields_no_more_than_it_declares()
    {
        var content = new byte[200_000];
        var zip = Zip(("e.bin", content, CompressionLevel.Optimal));
        // Declare 1,000 bytes in both the central directory and the local header.
        PatchUInt32(zip, 0x02014B50, 24, 1000);
        PatchUInt32(zip, 0x04034B50, 22, 1000);
        using var reader = ArchiveReader.Open(zip, "liar.zip");
        Assert.That(reader.Entries.Single().Length, Is.EqualTo(1000));
        try
        {
            Assert.That(reader.ReadAllBytes(reader.Entries.Single()).Length, Is.LessThanOrEqualTo(1000));
        }
        catch (ArchiveFormatException e)
        {
            Assert.That(e.Message, Does.Contain("e.bin"));
        }
    }

    private static void PatchUInt32(byte[] zip, uint signature, int offset, uint value)
    {
        for (int i = 0; i + 4 <= zip.Length; i++)
        {
            if (BitConverter.ToUInt32(zip, i) == signature)
            {
                BitConverter.GetBytes(value).CopyTo(zip, i + offset);
                return;
            }
        }

        Assert.Fail("signature not found");
    }

    [TestCase("../evil.txt")]
    [TestCase("lib/../../evil.txt")]
    [TestCase("/etc/passwd")]
    [TestCase("C:/Windows/evil.dll")]
    [TestCase("lib\\..\\..\\evil.txt")]
    public void Entry_names_that_leave_the_folder_are_refused(string name)
    {
        var zip = Zip(("ok.txt", new byte[1], CompressionLevel.Optimal), (name, new byte[1], CompressionLevel.Optimal));
        var e = Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(zip, "evil.nupkg"));
        Assert.That(e!.Code, Is.EqualTo(ArchiveFormatException.UnsafeName));
        Assert.That(e.Message, Does.Contain(name));
        Assert.Throws<ArchiveFormatException>(() => ArchiveReader.ExtractionPath("/tmp/folder", name));
    }

    [Test]
    public void Names_that_stay_inside_map_below_the_folder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "extract");
        Assert.That(ArchiveReader.ExtractionPath(folder, "lib/a..b/c.dll"), Is.EqualTo(Path.Combine(folder, "lib", "a..b", "c.dll")));
        Assert.That(ArchiveReader.UnsafeNameReason("lib/./x"), Is.Null);
        Assert.That(ArchiveReader.UnsafeNameReason(""), Is.Not.Null);
    }

    [Test]
    public void Damaged_archives_are_refused_with_the_malformed_code()
    {
        foreach (var bytes in new[] { Array.Empty<byte>(), new byte[] { 0x50, 0x4B, 5, 6 }, "not a zip"u8.ToArray() })
        {
            Assert.That(Assert.Throws<ArchiveFormatException>(() => ArchiveReader.Open(bytes, "x.zip"))!.Code, Is.EqualTo(ArchiveFormatException.Malformed));
        }
    }

    /// <summary>Mutated real archives (a signed .nupkg, a zip with stored, deflated and folder entries): opening and reading every entry throws nothing but the archive format exception.</summary>
    [Test]
    public void Mutated_archives_only_throw_the_archive_format_exception()
    {
        var problems = FuzzRun.Run("zip", FuzzRun.Corpus("zip"), 400, Mutator.Binary, bytes =>
        {
            try
            {
                using var reader = ArchiveReader.Open(bytes, "mutated.zip");
                foreach (var entry in reader.Entries)
                {
                    reader.ReadAllBytes(entry);
                }
            }
            catch (ArchiveFormatException e)
            {
                return e.Code.StartsWith("SB190", StringComparison.Ordinal) ? null : "no code: " + e.Message;
            }

            return null;
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }
}
