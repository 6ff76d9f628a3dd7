using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace SecureBuild.Core.Reproducibility;

/// <summary>One central-directory record of a zip file.</summary>
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

/// <summary>Reads the central directory of a zip file (no zip64).</summary>
internal static class ZipCentralDirectory
{
    public static List<ZipEntryRecord> Read(byte[] zip)
    {
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
            throw new InvalidDataException("no end of central directory record");
        }

        int count = BitConverter.ToUInt16(zip, eocd + 10);
        long offset = BitConverter.ToUInt32(zip, eocd + 16);
        var entries = new List<ZipEntryRecord>(count);
        int p = checked((int)offset);
        for (int n = 0; n < count; n++)
        {
            if (BitConverter.ToUInt32(zip, p) != 0x02014B50)
            {
                throw new InvalidDataException("bad central directory record");
            }

            var e = new ZipEntryRecord
            {
                VersionMadeBy = BitConverter.ToUInt16(zip, p + 4),
                Flags = BitConverter.ToUInt16(zip, p + 8),
                Method = BitConverter.ToUInt16(zip, p + 10),
                DosTime = BitConverter.ToUInt16(zip, p + 12),
                DosDate = BitConverter.ToUInt16(zip, p + 14),
                Crc = BitConverter.ToUInt32(zip, p + 16),
                CompressedSize = BitConverter.ToUInt32(zip, p + 20),
                Size = BitConverter.ToUInt32(zip, p + 24),
                ExternalAttributes = BitConverter.ToUInt32(zip, p + 38),
            };
            int nameLength = BitConverter.ToUInt16(zip, p + 28);
            e.ExtraLength = BitConverter.ToUInt16(zip, p + 30);
            int commentLength = BitConverter.ToUInt16(zip, p + 32);
            e.Name = System.Text.Encoding.UTF8.GetString(zip, p + 46, nameLength);
            entries.Add(e);
            p += 46 + nameLength + e.ExtraLength + commentLength;
        }

        return entries;
    }
}

/// <summary>
/// Compares two zip files (NuGet packages included): entry set and order, timestamps, attributes and
/// compression, and each entry's content recursively (an assembly in a package is compared as an assembly).
/// </summary>
internal sealed class ZipComparer
{
    private static readonly Regex Psmdcp = new(@"^package/services/metadata/core-properties/[0-9a-f]{32}\.psmdcp$", RegexOptions.CultureInvariant);

    private readonly ArtifactDiffer _differ;
    private readonly string _name;

    public ZipComparer(ArtifactDiffer differ, string name)
    {
        _differ = differ;
        _name = name;
    }

    public void Compare(byte[] leftBytes, byte[] rightBytes)
    {
        var l = ZipCentralDirectory.Read(leftBytes);
        var r = ZipCentralDirectory.Read(rightBytes);
        var ln = l.Select(e => e.Name).ToList();
        var rn = r.Select(e => e.Name).ToList();

        var onlyLeft = ln.Except(rn).ToList();
        var onlyRight = rn.Except(ln).ToList();
        var psmdcpLeft = onlyLeft.Where(n => Psmdcp.IsMatch(n)).ToList();
        var psmdcpRight = onlyRight.Where(n => Psmdcp.IsMatch(n)).ToList();
        if (psmdcpLeft.Count == 1 && psmdcpRight.Count == 1)
        {
            _differ.Add(new Difference(_name, "entry name of the core-properties part", psmdcpLeft[0], psmdcpRight[0], Causes.PsmdcpName));
            onlyLeft.Remove(psmdcpLeft[0]);
            onlyRight.Remove(psmdcpRight[0]);
        }

        foreach (var name in onlyLeft)
        {
            _differ.Add(new Difference(_name + "!/" + name, "entry", "present", null, name.EndsWith(".signature.p7s", StringComparison.Ordinal) ? Causes.PackageSignature : _differ.Classifier.Classify(name, string.Join("\n", onlyRight), Causes.OnlyInOneBuild)));
        }

        foreach (var name in onlyRight)
        {
            _differ.Add(new Difference(_name + "!/" + name, "entry", null, "present", name.EndsWith(".signature.p7s", StringComparison.Ordinal) ? Causes.PackageSignature : _differ.Classifier.Classify(string.Join("\n", onlyLeft), name, Causes.OnlyInOneBuild)));
        }

        var commonLeft = ln.Where(n => rn.Contains(n)).ToList();
        var commonRight = rn.Where(n => ln.Contains(n)).ToList();
        if (!commonLeft.SequenceEqual(commonRight))
        {
            int first = Enumerable.Range(0, commonLeft.Count).First(i => commonLeft[i] != commonRight[i]);
            _differ.Add(new Difference(_name, "entry order", $"#{first}: {commonLeft[first]}", $"#{first}: {commonRight[first]}", Causes.ZipOrder));
        }

        var lByName = l.GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.First());
        var rByName = r.GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.First());

        var stampDiffs = commonLeft.Where(n => lByName[n].DosDate != rByName[n].DosDate || lByName[n].DosTime != rByName[n].DosTime).ToList();
        if (stampDiffs.Count > 0)
        {
            var n = stampDiffs[0];
            _differ.Add(new Difference(_name, $"entry timestamps ({stampDiffs.Count} of {commonLeft.Count} entries, e.g. {n})", lByName[n].Timestamp, rByName[n].Timestamp, Causes.ZipTimestamps));
        }

        var modeDiffs = commonLeft.Where(n => lByName[n].ExternalAttributes != rByName[n].ExternalAttributes || lByName[n].VersionMadeBy != rByName[n].VersionMadeBy).ToList();
        if (modeDiffs.Count > 0)
        {
            var n = modeDiffs[0];
            var a = lByName[n];
            var b = rByName[n];
            string Describe(ZipEntryRecord e) => e.UnixMode is { } mode ? $"mode {mode}" : $"attributes 0x{e.ExternalAttributes:x8}, made by 0x{e.VersionMadeBy:x4}";
            _differ.Add(new Difference(_name, $"entry attributes ({modeDiffs.Count} entries, e.g. {n})", Describe(a), Describe(b), Causes.ZipAttributes));
        }

        using var lz = new ZipArchive(new MemoryStream(leftBytes), ZipArchiveMode.Read);
        using var rz = new ZipArchive(new MemoryStream(rightBytes), ZipArchiveMode.Read);
        var lEntries = lz.Entries.GroupBy(e => e.FullName).ToDictionary(g => g.Key, g => g.First());
        var rEntries = rz.Entries.GroupBy(e => e.FullName).ToDictionary(g => g.Key, g => g.First());
        int compressionDiffs = 0;
        string? compressionExample = null;
        foreach (var name in commonLeft)
        {
            var a = lByName[name];
            var b = rByName[name];
            if (a.Crc == b.Crc && a.Size == b.Size)
            {
                if (a.CompressedSize != b.CompressedSize || a.Method != b.Method || a.Flags != b.Flags)
                {
                    compressionDiffs++;
                    compressionExample ??= $"{name}: method {a.Method}, {a.CompressedSize} bytes | method {b.Method}, {b.CompressedSize} bytes";
                }

                // Same content: the nested artifact is identical, record it as such.
                if (lEntries.TryGetValue(name, out var same) && !name.EndsWith("/", StringComparison.Ordinal))
                {
                    var bytes = Read(same);
                    _differ.Report.Artifacts.Add(new ComparedArtifact(_name + "!/" + name, ArtifactDiffer.KindOf(name, bytes), ArtifactStatus.Identical, Crypto.Sha256Hex.Of(bytes), Crypto.Sha256Hex.Of(bytes), bytes.Length, bytes.Length));
                }

                continue;
            }

            if (name.EndsWith(".signature.p7s", StringComparison.Ordinal))
            {
                _differ.Add(new Difference(_name + "!/" + name, "package signature", null, null, Causes.PackageSignature));
                continue;
            }

            _differ.CompareBytes(_name + "!/" + name, Read(lEntries[name]), Read(rEntries[name]));
        }

        if (compressionDiffs > 0)
        {
            _differ.Add(new Difference(_name, $"entry compression ({compressionDiffs} entries with equal content)", compressionExample, null, Causes.ZipAttributes.WithTitle("Same entry content compressed differently (compression level or tool version)")));
        }
    }

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
