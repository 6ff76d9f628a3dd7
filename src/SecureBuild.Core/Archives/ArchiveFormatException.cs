namespace SecureBuild.Core.Archives;

/// <summary>
/// A zip or .nupkg that <see cref="ArchiveReader"/> refuses: malformed, an entry name that leaves its folder, or more
/// decompressed bytes than <see cref="ArchiveLimits"/> allow. An <see cref="IOException"/> (as an unreadable file is),
/// so code that already treats an unreadable archive as bad input treats a refused one the same way. <see cref="Code"/> is the SB code,
/// <see cref="Exception.Message"/> the cause (naming the archive and the entry) and the fix.
/// </summary>
public sealed class ArchiveFormatException : IOException
{
    /// <summary>SB1901: an entry name is absolute, has a drive, or has a ".." segment.</summary>
    public const string UnsafeName = "SB1901";

    /// <summary>SB1902: an entry decompresses to more than the per-entry limit, or to more than it declares.</summary>
    public const string EntryTooLarge = "SB1902";

    /// <summary>SB1903: all entries together decompress to more than the total limit, or there are too many.</summary>
    public const string TotalTooLarge = "SB1903";

    /// <summary>SB1904: an entry's compression ratio is beyond the limit (a zip bomb).</summary>
    public const string RatioTooHigh = "SB1904";

    /// <summary>SB1905: not a zip, or a corrupted one.</summary>
    public const string Malformed = "SB1905";

    public ArchiveFormatException(string code, string message, Exception? innerException = null)
        : base($"{code}: {message}", innerException)
    {
        Code = code;
    }

    /// <summary>SB1901 .. SB1905.</summary>
    public string Code { get; }
}
