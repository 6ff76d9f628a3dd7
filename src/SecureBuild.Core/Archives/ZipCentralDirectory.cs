using System.Globalization;

namespace SecureBuild.Core.Archives;

/// <summary>One central-directory record of a zip file: what `diff` compares besides content.</summary>
internal sealed class ZipEntryRecord
{
    public string Name = string.Empty;
    public ushort VersionMadeBy;
    public ushort Flags;
    public ushort Method;
    public ushort DosTime;
    public ushort DosDate;
    public uint Crc;
    public long CompressedSize;
    public long Size;
    public uint ExternalAttributes;
    public int ExtraLength;

    public string Timestamp
    {
        get
        {
            int year = 1980 + (DosDate >> 9), month = (DosDate >> 5) & 15, day = DosDate & 31;
            int hour = DosTime >> 11, minute = (DosTime >> 5) & 63, second = (DosTime & 31) * 2;
            return string.Format(CultureInfo.InvariantCulture, "{0:0000}-{1:00}-{2:00} {3:00}:{4:00}:{5:00}", year, month, day, hour, minute, second);
        }
    }

    /// <summary>Unix mode bits when the entry was made on Unix, else null.</summary>
    public string? UnixMode => (VersionMadeBy >> 8) == 3 ? Convert.ToString((ExternalAttributes >> 16) & 0xFFFF, 8) : null;
}

/// <summary>
/// Reads the central directory of a zip file (no zip64) for the metadata System.IO.Compression does not show (times
/// as stored, attributes, method, flags). Every offset is checked against the buffer: a truncated or corrupted
/// directory is an <see cref="ArchiveFormatException"/>, never an index error. Content is read by
/// <see cref="ArchiveReader"/> only.
/// </summary>
internal static class ZipCentralDirectory
{
    private const int RecordSize = 46;

    public static List<ZipEntryRecord> Read(byte[] zip, string name, ArchiveLimits? limits = null)
    {
        limits ??= ArchiveLimits.Default;
        int eocd = -1;
        for (int i = zip.Length - 22; i >= Math.Max(0, zip.Length - 22 - 65535); i--)
        {
            if (zip[i] == 0x50 && zip[i + 1] == 0x4B && zip[i + 2] == 0x05 && zip[i + 3] == 0x06)
            {
                eocd = i;
                break;
            }
        }

        if (eocd < 0)
        {
            throw Malformed(name, "no end of central directory record");
        }

        int count = BitConverter.ToUInt16(zip, eocd + 10);
        long offset = BitConverter.ToUInt32(zip, eocd + 16);
        if (count > limits.MaxEntries)
        {
            throw new ArchiveFormatException(ArchiveFormatException.TotalTooLarge, $"{name} has {count} entries, more than the limit of {limits.MaxEntries}.");
        }

        var entries = new List<ZipEntryRecord>(count);
        long p = offset;
        for (int n = 0; n < count; n++)
        {
            if (p < 0 || p + RecordSize > zip.Length || BitConverter.ToUInt32(zip, (int)p) != 0x02014B50)
            {
                throw Malformed(name, $"central directory record {n} is missing or damaged");
            }

            int at = (int)p;
            var e = new ZipEntryRecord
            {
                VersionMadeBy = BitConverter.ToUInt16(zip, at + 4),
                Flags = BitConverter.ToUInt16(zip, at + 8),
                Method = BitConverter.ToUInt16(zip, at + 10),
                DosTime = BitConverter.ToUInt16(zip, at + 12),
                DosDate = BitConverter.ToUInt16(zip, at + 14),
                Crc = BitConverter.ToUInt32(zip, at + 16),
                CompressedSize = BitConverter.ToUInt32(zip, at + 20),
                Size = BitConverter.ToUInt32(zip, at + 24),
                ExternalAttributes = BitConverter.ToUInt32(zip, at + 38),
            };
            int nameLength = BitConverter.ToUInt16(zip, at + 28);
            e.ExtraLength = BitConverter.ToUInt16(zip, at + 30);
            int commentLength = BitConverter.ToUInt16(zip, at + 32);
            if (at + RecordSize + (long)nameLength > zip.Length)
            {
                throw Malformed(name, $"central directory record {n} names past the end of the file");
            }

            e.Name = System.Text.Encoding.UTF8.GetString(zip, at + RecordSize, nameLength);
            entries.Add(e);
            p += RecordSize + nameLength + e.ExtraLength + commentLength;
        }

        return entries;
    }

    private static ArchiveFormatException Malformed(string name, string what) =>
        new(ArchiveFormatException.Malformed, $"{name} is not a readable zip archive ({what}).");
}
