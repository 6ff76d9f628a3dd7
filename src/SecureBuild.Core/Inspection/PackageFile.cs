using System.Security.Cryptography;
using SecureBuild.Core.Archives;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Inspection;

/// <summary>One file of an inspected package or folder: its name, its SHA-256, and its bytes when they are analysed.</summary>
public sealed class PackageFile
{
    /// <summary>Files larger than this are hashed but not analysed for capabilities (reported as such).</summary>
    public const long MaxAnalysedBytes = 256L << 20;

    /// <summary>
    /// At most this many bytes of all files of one package together are kept for analysis (512 MiB, twice the largest
    /// file analysed); the files read after that are hashed, not analysed, and reported as such: a 2 GB package of
    /// assemblies costs no more memory than this.
    /// </summary>
    public const long MaxAnalysedTotalBytes = 512L << 20;

    public PackageFile(string path, long length, string sha256, byte[]? content, string? notAnalysed = null)
    {
        Path = path;
        Length = length;
        Sha256 = sha256;
        Content = content;
        NotAnalysed = content is null ? notAnalysed ?? $"larger than {MaxAnalysedBytes} bytes" : null;
    }

    /// <summary>'/'-separated name relative to the package root.</summary>
    public string Path { get; }

    public long Length { get; }

    /// <summary>Lowercase hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    /// <summary>The bytes, for files whose kind is analysed (assemblies, native binaries, build files, scripts, the nuspec); else null.</summary>
    public byte[]? Content { get; }

    /// <summary>Why <see cref="Content"/> was not kept, in words ("larger than ... bytes"); null when it was.</summary>
    public string? NotAnalysed { get; }

    /// <summary>True for the files whose content the capability scanners read.</summary>
    public static bool IsAnalysed(string path)
    {
        var lower = path.ToLowerInvariant();
        return lower.EndsWith(".dll", StringComparison.Ordinal) || lower.EndsWith(".exe", StringComparison.Ordinal) ||
            lower.EndsWith(".so", StringComparison.Ordinal) || lower.IndexOf(".so.", StringComparison.Ordinal) >= 0 ||
            lower.EndsWith(".dylib", StringComparison.Ordinal) || lower.EndsWith(".props", StringComparison.Ordinal) ||
            lower.EndsWith(".targets", StringComparison.Ordinal) || lower.EndsWith(".ps1", StringComparison.Ordinal) ||
            lower.EndsWith(".nuspec", StringComparison.Ordinal) || lower.Contains("/native/");
    }

    /// <summary>
    /// Every file of a .nupkg (through <see cref="ArchiveReader"/>, with its limits and name checks) or of a folder
    /// (through <see cref="InputFile"/>), in ordinal name order; duplicate entry names are returned as they are.
    /// </summary>
    /// <exception cref="IOException">Unreadable: an <see cref="ArchiveFormatException"/> or <see cref="InputFileException"/> among others.</exception>
    public static List<PackageFile> Read(string input, ArchiveLimits? limits = null, long maxAnalysedTotalBytes = MaxAnalysedTotalBytes)
    {
        var budget = new AnalysisBudget(maxAnalysedTotalBytes);
        var files = Directory.Exists(input) ? ReadFolder(input, budget) : ReadArchive(input, limits, budget);
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private static List<PackageFile> ReadArchive(string path, ArchiveLimits? limits, AnalysisBudget budget)
    {
        var files = new List<PackageFile>();
        using var archive = ArchiveReader.OpenFile(path, limits);
        foreach (var entry in archive.Entries)
        {
            if (entry.IsDirectory)
            {
                continue;
            }

            var reason = IsAnalysed(entry.FullName) ? budget.Take(entry.Length) : null;
            using var sha = SHA256.Create();
            using var stream = archive.OpenEntry(entry);
            var content = Hash(stream, sha, reason is null ? entry.Length : -1, out var length);
            files.Add(new PackageFile(entry.FullName, length, Hex.Encode(sha.Hash!), content, reason));
        }

        return files;
    }

    private static List<PackageFile> ReadFolder(string root, AnalysisBudget budget)
    {
        var files = new List<PackageFile>();
        var full = System.IO.Path.GetFullPath(root);
        foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories))
        {
            var name = file.Substring(full.Length).TrimStart(System.IO.Path.DirectorySeparatorChar, '/').Replace('\\', '/');
            using var sha = SHA256.Create();
            using var stream = InputFile.OpenRead(file, InputKind.Artifact, full);
            var reason = IsAnalysed(name) ? budget.Take(stream.Length) : null;
            var content = Hash(stream, sha, reason is null ? stream.Length : -1, out var length);
            files.Add(new PackageFile(name, length, Hex.Encode(sha.Hash!), content, reason));
        }

        return files;
    }

    /// <summary>
    /// Hashes the stream; with <paramref name="keepLength"/> &gt;= 0 (the declared size) also keeps its bytes in one
    /// array of that size, so keeping a file costs its size once, not a growing buffer and a copy.
    /// </summary>
    private static byte[]? Hash(Stream stream, HashAlgorithm sha, long keepLength, out long length)
    {
        var kept = keepLength >= 0 ? new byte[keepLength] : null;
        var buffer = new byte[1 << 16];
        length = 0;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            sha.TransformBlock(buffer, 0, n, null, 0);
            if (kept is not null)
            {
                if (length + n > kept.Length)
                {
                    throw new IOException($"more bytes than the {kept.Length} declared: the file changed while it was read.");
                }

                Buffer.BlockCopy(buffer, 0, kept, (int)length, n);
            }

            length += n;
        }

        sha.TransformFinalBlock(buffer, 0, 0);
        if (kept is not null && length < kept.Length)
        {
            Array.Resize(ref kept, (int)length);
        }

        return kept;
    }

    /// <summary>The bytes still to be kept for analysis in one package; <see cref="Take"/> says why a file is not kept.</summary>
    private sealed class AnalysisBudget
    {
        private readonly long _total;
        private long _left;

        public AnalysisBudget(long total)
        {
            _total = total;
            _left = total;
        }

        /// <summary>Null when a file of <paramref name="length"/> bytes is kept (and taken from the budget), else why not.</summary>
        public string? Take(long length)
        {
            if (length > MaxAnalysedBytes)
            {
                return $"larger than {MaxAnalysedBytes} bytes";
            }

            if (length > _left)
            {
                return $"beyond the {_total} bytes of a package analysed in all";
            }

            _left -= length;
            return null;
        }
    }
}
