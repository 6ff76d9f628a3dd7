using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Recording;

/// <summary>
/// What lets a no-op build confirm a step's link without reading, hashing, canonicalizing or verifying
/// anything big. Two small files live next to the step's pending-materials file:
/// <list type="bullet">
/// <item><c>&lt;materials file&gt;.stat</c>, written with the pending materials: a hash of the path, artifact
/// name, size and last-write time of every material (and of every missing one), with the digest algorithms
/// and path mapping they were hashed under, and the SHA-256 of the pending-materials file. While both still
/// match, the materials are not hashed again nor the pending file rewritten;</item>
/// <item><c>&lt;materials file&gt;.link-fingerprint</c>, written after a link was signed or confirmed the slow
/// way: a hash of everything the link depends on (see the task), the link's path and key id, and the
/// files that must still exist next to it.</item>
/// </list>
/// A file whose last-write time is within <see cref="RacyWindow"/> of the moment it was looked at makes the
/// fingerprint unusable (none is written): a same-size rewrite within the file system's timestamp
/// granularity must not look unchanged. Any change of size or time changes the hash, so the slow path runs.
/// </summary>
public static class StepFingerprint
{
    /// <summary>Files written this recently are not trusted by their size and time alone.</summary>
    public static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    private const string StatHeader = "securebuild-materials-stat 1";
    private const string LinkHeader = "securebuild-link-fingerprint 1";

    public static string StatFile(string materialsFile) => materialsFile + ".stat";

    public static string LinkFingerprintFile(string materialsFile) => materialsFile + ".link-fingerprint";

    /// <summary>
    /// Hash of the size and last-write time of <paramref name="files"/> (and of the <paramref name="missing"/>
    /// paths), or null when one of them was written within <see cref="RacyWindow"/> of <paramref name="utcNow"/>.
    /// Look at the files before hashing them: a file that changes in between then changes this hash too.
    /// </summary>
    public static string? OfFiles(IEnumerable<RecordedFile> files, IEnumerable<string> missing, DateTime utcNow, params string[] settings)
    {
        var lines = new List<string>();
        foreach (var file in files)
        {
            var info = new FileInfo(file.FullPath);
            if (!info.Exists)
            {
                lines.Add("gone\t" + file.FullPath + "\t" + file.Name);
                continue;
            }
            var written = info.LastWriteTimeUtc;
            if (utcNow - written <= RacyWindow)
            {
                return null;
            }
            lines.Add(string.Join("\t", "file", file.FullPath, file.Name,
                info.Length.ToString(CultureInfo.InvariantCulture), written.Ticks.ToString(CultureInfo.InvariantCulture)));
        }
        lines.AddRange(missing.Select(m => "missing\t" + m));
        lines.Sort(StringComparer.Ordinal);
        lines.AddRange(settings.Select(s => "setting\t" + s));
        return Crypto.Sha256Hex.Of(string.Join("\n", lines));
    }

    /// <summary>Removes what a fingerprint was kept in (before the files it describes are rewritten).</summary>
    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Stores the materials' stat hash of <paramref name="step"/>, the SHA-256 of the pending-materials file it
    /// stands for and when the step started; a null <paramref name="stat"/> removes it.
    /// </summary>
    public static void WriteStat(string materialsFile, string step, MaterialsStat? stat)
    {
        var path = StatFile(materialsFile);
        if (stat is null)
        {
            Delete(path);
            return;
        }
        var startedOn = stat.StartedOn.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        AtomicFile.WriteAllBytes(path, new UTF8Encoding(false).GetBytes(
            StatHeader + "\n" + step + "\n" + stat.Hash + "\n" + stat.PendingFileHash + "\n" + startedOn + "\n"));
    }

    /// <summary>The materials' stat stored for <paramref name="step"/>, or null.</summary>
    public static MaterialsStat? ReadStat(string materialsFile, string step)
    {
        var lines = ReadLines(StatFile(materialsFile));
        if (lines is not { Length: >= 5 } || lines[0] != StatHeader || lines[1] != step || lines[2].Length != 64 || lines[3].Length != 64 ||
            !DateTimeOffset.TryParse(lines[4], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var startedOn))
        {
            return null;
        }
        return new MaterialsStat(lines[2], lines[3], startedOn);
    }

    /// <summary>Stores a link's fingerprint.</summary>
    public static void WriteLink(string materialsFile, LinkFingerprint fingerprint)
    {
        var text = new StringBuilder();
        text.Append(LinkHeader).Append('\n')
            .Append(fingerprint.Inputs).Append('\n')
            .Append(fingerprint.LinkPath).Append('\n')
            .Append(fingerprint.KeyId).Append('\n');
        foreach (var companion in fingerprint.Companions)
        {
            text.Append(companion).Append('\n');
        }
        AtomicFile.WriteAllBytes(LinkFingerprintFile(materialsFile), new UTF8Encoding(false).GetBytes(text.ToString()));
    }

    /// <summary>The link fingerprint stored next to <paramref name="materialsFile"/>, or null.</summary>
    public static LinkFingerprint? ReadLink(string materialsFile)
    {
        var lines = ReadLines(LinkFingerprintFile(materialsFile));
        if (lines is null || lines.Length < 4 || lines[0] != LinkHeader || lines[1].Length != 64 || lines[2].Length == 0 || lines[3].Length < 8)
        {
            return null;
        }
        return new LinkFingerprint(lines[1], lines[2], lines[3], lines.Skip(4).Where(l => l.Length > 0).ToList());
    }

    private static string[]? ReadLines(string path)
    {
        try
        {
            return File.Exists(path) ? InputFile.ReadAllText(path, InputKind.Cache).Split('\n') : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>The materials recorded before a step, as far as a no-op build needs to know them.</summary>
public sealed class MaterialsStat
{
    public MaterialsStat(string hash, string pendingFileHash, DateTimeOffset startedOn)
    {
        Hash = hash;
        PendingFileHash = pendingFileHash;
        StartedOn = startedOn;
    }

    /// <summary>The <see cref="StepFingerprint.OfFiles"/> hash of the materials.</summary>
    public string Hash { get; }

    /// <summary>Hex SHA-256 of the pending-materials file holding their digests.</summary>
    public string PendingFileHash { get; }

    /// <summary>When the step started (this build's, also when the pending materials were kept from an earlier one).</summary>
    public DateTimeOffset StartedOn { get; }
}

/// <summary>A link as confirmed by the slow path: the hash of its inputs, where it is, its key and the files next to it.</summary>
public sealed class LinkFingerprint
{
    public LinkFingerprint(string inputs, string linkPath, string keyId, IReadOnlyList<string> companions)
    {
        Inputs = inputs;
        LinkPath = linkPath;
        KeyId = keyId;
        Companions = companions;
    }

    /// <summary>Hex SHA-256 of everything the link depends on.</summary>
    public string Inputs { get; }

    public string LinkPath { get; }

    public string KeyId { get; }

    /// <summary>Files written with the link that must still exist (its DSSE statement, the provenance).</summary>
    public IReadOnlyList<string> Companions { get; }
}
