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

    public PackageFile(string path, long length, string sha256, byte[]? content)
    {
        Path = path;
        Length = length;
        Sha256 = sha256;
        Content = content;
    }

    /// <summary>'/'-separated name relative to the package root.</summary>
    public string Path { get; }

    public long Length { get; }

    /// <summary>Lowercase hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    /// <summary>The bytes, for files whose kind is analysed (assemblies, native binaries, build files, scripts, the nuspec); else null.</summary>
    public byte[]? Content { get; }

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
    public static List<PackageFile> Read(string input, ArchiveLimits? limits = null)
    {
        var files = Directory.Exists(input) ? ReadFolder(input) : ReadArchive(input, limits);
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private static List<PackageFile> ReadArchive(string path, ArchiveLimits? limits)
    {
        var files = new List<PackageFile>();
        using var archive = ArchiveReader.OpenFile(path, limits);
        foreach (var entry in archive.Entries)
        {
            if (entry.IsDirectory)
            {
                continue;
            }

            var analysed = IsAnalysed(entry.FullName) && entry.Length <= MaxAnalysedBytes;
            using var sha = SHA256.Create();
            using var stream = archive.OpenEntry(entry);
            var content = Hash(stream, sha, analysed, out var length);
            files.Add(new PackageFile(entry.FullName, length, Hex.Encode(sha.Hash!), content));
        }

        return files;
    }

    private static List<PackageFile> ReadFolder(string root)
    {
        var files = new List<PackageFile>();
        var full = System.IO.Path.GetFullPath(root);
        foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories))
        {
            var name = file.Substring(full.Length).TrimStart(System.IO.Path.DirectorySeparatorChar, '/').Replace('\\', '/');
            var analysed = IsAnalysed(name);
            using var sha = SHA256.Create();
            using var stream = InputFile.OpenRead(file, InputKind.Artifact, full);
            var content = Hash(stream, sha, analysed && stream.Length <= MaxAnalysedBytes, out var length);
            files.Add(new PackageFile(name, length, Hex.Encode(sha.Hash!), content));
        }

        return files;
    }

    private static byte[]? Hash(Stream stream, HashAlgorithm sha, bool keep, out long length)
    {
        var kept = keep ? new MemoryStream() : null;
        var buffer = new byte[1 << 16];
        length = 0;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            sha.TransformBlock(buffer, 0, n, null, 0);
            kept?.Write(buffer, 0, n);
            length += n;
        }

        sha.TransformFinalBlock(buffer, 0, 0);
        return kept?.ToArray();
    }
}
