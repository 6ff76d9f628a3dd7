using System.Text.RegularExpressions;
using SecureBuild.Core.Archives;

namespace SecureBuild.Core.Reproducibility;

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
        var limits = _differ.Options.ArchiveLimits;
        if (_name.Split(new[] { "!/" }, StringSplitOptions.None).Length > limits.MaxNestingDepth)
        {
            throw new ArchiveFormatException(ArchiveFormatException.TotalTooLarge,
                $"{_name} is an archive nested {limits.MaxNestingDepth} levels deep; deeper archives are compared as bytes.");
        }

        var l = ZipCentralDirectory.Read(leftBytes, _name, limits);
        var r = ZipCentralDirectory.Read(rightBytes, _name, limits);
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

        using var lz = ArchiveReader.Open(leftBytes, _name, limits);
        using var rz = ArchiveReader.Open(rightBytes, _name, limits);
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
                    var bytes = lz.ReadAllBytes(same);
                    _differ.Report.Artifacts.Add(new ComparedArtifact(_name + "!/" + name, ArtifactDiffer.KindOf(name, bytes), ArtifactStatus.Identical, Crypto.Sha256Hex.Of(bytes), Crypto.Sha256Hex.Of(bytes), bytes.Length, bytes.Length));
                }

                continue;
            }

            if (name.EndsWith(".signature.p7s", StringComparison.Ordinal))
            {
                _differ.Add(new Difference(_name + "!/" + name, "package signature", null, null, Causes.PackageSignature));
                continue;
            }

            if (!lEntries.TryGetValue(name, out var leftEntry) || !rEntries.TryGetValue(name, out var rightEntry))
            {
                throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{_name}: entry {name} is in the central directory but cannot be opened (the archive is damaged).");
            }

            _differ.CompareBytes(_name + "!/" + name, lz.ReadAllBytes(leftEntry), rz.ReadAllBytes(rightEntry));
        }

        if (compressionDiffs > 0)
        {
            _differ.Add(new Difference(_name, $"entry compression ({compressionDiffs} entries with equal content)", compressionExample, null, Causes.ZipAttributes.WithTitle("Same entry content compressed differently (compression level or tool version)")));
        }
    }
}
