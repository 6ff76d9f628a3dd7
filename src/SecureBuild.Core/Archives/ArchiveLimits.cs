namespace SecureBuild.Core.Archives;

/// <summary>
/// How much a zip (or .nupkg) may decompress to before <see cref="ArchiveReader"/> refuses it. The defaults are far
/// above real packages (nuget.org accepts at most 250 MB per package) and far below what takes a machine down: a
/// 1 MB zip of one entry of zeros can claim a gigabyte, and every byte of it would be read into memory.
/// </summary>
public sealed class ArchiveLimits
{
    /// <summary>The limits used when none are given.</summary>
    public static ArchiveLimits Default { get; } = new();

    /// <summary>At most this many bytes decompressed from one entry (default 512 MiB).</summary>
    public long MaxEntryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>At most this many bytes decompressed from all entries together (default 4 GiB).</summary>
    public long MaxTotalBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// At most this many decompressed bytes per compressed byte in an entry larger than
    /// <see cref="RatioAppliesAboveBytes"/> (default 100; deflate reaches about 1,000 only on runs of one byte, real
    /// assemblies and text stay below 20).
    /// </summary>
    public double MaxCompressionRatio { get; set; } = 100;

    /// <summary>Small entries may compress as well as they like (default 1 MiB).</summary>
    public long RatioAppliesAboveBytes { get; set; } = 1024 * 1024;

    /// <summary>At most this many entries (default 100,000).</summary>
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>Archives nested in archives are opened to at most this depth (default 4; diff only).</summary>
    public int MaxNestingDepth { get; set; } = 4;
}
