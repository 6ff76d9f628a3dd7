using System.IO.Compression;
using SecureBuild.Cli;
using SecureBuild.Core.Archives;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>
/// `diff` reads packages through the one archive reader: a zip bomb or an entry name that leaves its folder is reported
/// as an unreadable package and compared as bytes, without inflating anything.
/// </summary>
public sealed class ArchiveDiffTests
{
    private static byte[] Package(string extraName, byte[] extra, int zerosMegabytes)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var stream = zip.CreateEntry("lib/net8.0/Big.dll", CompressionLevel.SmallestSize).Open())
            {
                var zeros = new byte[1 << 20];
                for (int i = 0; i < zerosMegabytes; i++)
                {
                    stream.Write(zeros);
                }
            }

            using (var stream = zip.CreateEntry(extraName).Open())
            {
                stream.Write(extra);
            }
        }

        return buffer.ToArray();
    }

    [Test]
    public void A_package_with_a_zip_bomb_is_reported_without_being_inflated()
    {
        var left = Package("readme.txt", "one"u8.ToArray(), 300);
        var right = Package("readme.txt", "two"u8.ToArray(), 300);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var report = ArtifactDiffer.CompareContents("Bomb.1.0.0.nupkg", left, right);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(64 << 20), "300 MiB entries were inflated");
        var structure = report.Differences.Single(d => d.Aspect == "structure");
        Assert.That(structure.Detail, Does.Contain("SB1904").And.Contain("lib/net8.0/Big.dll"));
        Assert.That(report.Differences.Any(d => d.Aspect != "structure"), Is.True, "the bytes are still compared");
    }

    [Test]
    public void A_lowered_entry_limit_applies_to_diff()
    {
        var left = Package("readme.txt", "one"u8.ToArray(), 20);
        var right = Package("readme.txt", "two"u8.ToArray(), 20);
        var options = new DiffOptions { ArchiveLimits = new ArchiveLimits { MaxEntryBytes = 8 << 20, MaxCompressionRatio = 1e9 } };
        var report = ArtifactDiffer.CompareContents("P.nupkg", left, right, options);
        Assert.That(report.Differences.Single(d => d.Aspect == "structure").Detail, Does.Contain("SB1902"));
        var within = new DiffOptions { ArchiveLimits = new ArchiveLimits { MaxCompressionRatio = 1e9 } };
        Assert.That(ArtifactDiffer.CompareContents("P.nupkg", left, right, within).Differences.Any(d => d.Aspect == "structure"), Is.False, "within the default entry limit the package is compared entry by entry");
    }

    [Test]
    public void An_entry_name_that_leaves_the_folder_is_reported_and_the_cli_exits_1()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a/P.nupkg", Package("../../evil.txt", "one"u8.ToArray(), 1));
        var b = dir.Write("b/P.nupkg", Package("../../evil.txt", "two"u8.ToArray(), 1));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.That(CliApplication.Run(new[] { "diff", a, b }, stdout, stderr), Is.EqualTo(1), stderr.ToString());
        Assert.That(stdout.ToString(), Does.Contain("SB1901").And.Contain("../../evil.txt"));
        Assert.That(File.Exists(Path.Combine(dir.Path, "evil.txt")), Is.False);
    }
}
