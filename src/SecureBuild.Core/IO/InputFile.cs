using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SecureBuild.Core.IO;

/// <summary>
/// The one way SecureBuild reads a file: keys, layouts, links, bundles, trusted roots, locks, NuGet's files,
/// artifacts to hash and the files of compared trees. It
/// <list type="bullet">
/// <item>reads regular files only: a FIFO, device, socket or directory is refused (SB1700) before it is opened
/// for reading. On Linux the path is stat'ed first and opened with O_NONBLOCK (a FIFO cannot block the open),
/// then the open descriptor is fstat'ed, so a file swapped in between is caught too;</item>
/// <item>given the <c>root</c> of the tree it reads from, refuses a file whose real location (every symbolic link
/// resolved, read back from the open descriptor) is outside that tree (SB1702). Links that stay inside the
/// tree are followed: build outputs and package folders legitimately link within themselves. Without a root
/// (a single file the user named, such as a key) links are followed, and the target must still be a regular
/// file;</item>
/// <item>caps the size per <see cref="InputKind"/> (SB1701), checked against fstat before reading and again while
/// reading (files under /proc report size 0);</item>
/// <item>hashes in 64 KiB blocks (<see cref="Hash"/>), so an artifact of any size is digested without loading it.</item>
/// </list>
/// Elsewhere than Linux the checks use what .NET offers: directories and non-seekable handles (pipes, devices)
/// are refused after opening, and inside a tree a reparse point (symbolic link, junction) is refused outright.
/// </summary>
public static class InputFile
{
    private const int BlockSize = 1 << 16;
    private const int OpenReadOnlyNonBlocking = 0x800 /* O_NONBLOCK */ | 0x100 /* O_NOCTTY */ | 0x80000 /* O_CLOEXEC */;

    /// <summary>The most bytes a file of <paramref name="kind"/> may have (<see cref="long.MaxValue"/> for artifacts).</summary>
    public static long Limit(InputKind kind) => kind switch
    {
        InputKind.Key => 64L << 10,
        InputKind.Layout => 256L << 20,
        InputKind.Link => 256L << 20,
        InputKind.Bundle => 64L << 20,
        InputKind.TrustedRoot => 16L << 20,
        InputKind.Lock => 64L << 20,
        InputKind.Metadata => 16L << 20,
        InputKind.Assets => 1L << 30,
        InputKind.Cache => 256L << 20,
        InputKind.Compared => 1L << 30,
        InputKind.BuildLog => 1L << 30,
        _ => long.MaxValue,
    };

    /// <summary>The kind in words for a message ("key file", "in-toto link", ...).</summary>
    public static string Describe(InputKind kind) => kind switch
    {
        InputKind.Key => "key file",
        InputKind.Layout => "in-toto layout",
        InputKind.Link => "in-toto link",
        InputKind.Bundle => "Sigstore bundle",
        InputKind.TrustedRoot => "Sigstore trusted root",
        InputKind.Lock => "lock file",
        InputKind.Metadata => "metadata file",
        InputKind.Assets => "NuGet assets file",
        InputKind.Cache => "cache file",
        InputKind.Compared => "compared file",
        InputKind.BuildLog => "build log",
        _ => "artifact",
    };

    /// <summary>
    /// True when anything is at <paramref name="path"/> (a link is followed), regular file or not. Use it where a
    /// missing file means "none" (no lock yet): a directory or FIFO in its place then counts as there, and reading
    /// it reports SB1700, instead of being taken for "none".
    /// </summary>
    public static bool Exists(string path) => File.Exists(path) || Directory.Exists(path); // File.Exists: anything but a directory

    /// <summary>Every byte of a regular file, at most <see cref="Limit"/> of <paramref name="kind"/> (or <paramref name="limit"/>).</summary>
    public static byte[] ReadAllBytes(string path, InputKind kind, string? root = null, long? limit = null)
    {
        long max = Math.Min(limit ?? Limit(kind), int.MaxValue - 64);
        using var stream = OpenRead(path, kind, root, max);
        long length = stream.Length;
        var buffer = new byte[Math.Max(Math.Min(length, max), 0)];
        int read = ReadFully(stream, buffer, 0, buffer.Length);
        if (read < buffer.Length)
        {
            Array.Resize(ref buffer, read); // shrank while it was read: what is there is what it is
            return buffer;
        }
        // Files whose size fstat does not know (/proc, some FUSE file systems) or that grew: read on, within the limit.
        var more = new MemoryStream();
        var block = new byte[BlockSize];
        int n;
        while ((n = stream.Read(block, 0, block.Length)) > 0)
        {
            if (buffer.Length + more.Length + n > max)
            {
                throw TooLarge(path, buffer.Length + more.Length + n, max, kind, exact: false);
            }
            more.Write(block, 0, n);
        }
        if (more.Length == 0)
        {
            return buffer;
        }
        var all = new byte[buffer.Length + more.Length];
        Buffer.BlockCopy(buffer, 0, all, 0, buffer.Length);
        more.Position = 0;
        ReadFully(more, all, buffer.Length, (int)more.Length);
        return all;
    }

    /// <summary>The file as UTF-8 text (a byte order mark is dropped), bounded like <see cref="ReadAllBytes"/>.</summary>
    public static string ReadAllText(string path, InputKind kind, string? root = null)
    {
        var bytes = ReadAllBytes(path, kind, root);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        return new UTF8Encoding(false).GetString(bytes, start, bytes.Length - start);
    }

    /// <summary>The file's lines (split at LF, a CR before it dropped), bounded like <see cref="ReadAllBytes"/>.</summary>
    public static string[] ReadAllLines(string path, InputKind kind, string? root = null)
    {
        var text = ReadAllText(path, kind, root);
        var lines = text.Split('\n').Select(l => l.EndsWith("\r", StringComparison.Ordinal) ? l.Substring(0, l.Length - 1) : l).ToList();
        if (lines.Count > 0 && lines[lines.Count - 1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines.ToArray();
    }

    /// <summary>
    /// Feeds the whole file through every one of <paramref name="hashers"/> in 64 KiB blocks and finishes them
    /// (read <c>Hash</c> afterwards). The size of the file does not matter.
    /// </summary>
    public static void Hash(string path, InputKind kind, string? root, params HashAlgorithm[] hashers)
    {
        using var stream = OpenRead(path, kind, root);
        long max = Limit(kind);
        long total = 0;
        var block = new byte[BlockSize];
        int n;
        while ((n = stream.Read(block, 0, block.Length)) > 0)
        {
            total += n;
            if (total > max)
            {
                throw TooLarge(path, total, max, kind, exact: false);
            }
            foreach (var hasher in hashers)
            {
                hasher.TransformBlock(block, 0, n, null, 0);
            }
        }
        foreach (var hasher in hashers)
        {
            hasher.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
        }
    }

    /// <summary>
    /// Opens a regular file for reading after the checks above. The caller reads it; a file larger than the
    /// limit when opened is refused here, one that grows while read is the caller's to bound.
    /// </summary>
    /// <exception cref="InputFileException">SB1700, SB1701 or SB1702.</exception>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    public static FileStream OpenRead(string path, InputKind kind, string? root = null, long? limit = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (path.IndexOf('\0') >= 0)
        {
            throw new ArgumentException($"The path '{path.Replace("\0", "\\0")}' contains a NUL character.", nameof(path));
        }
        long max = limit ?? Limit(kind);
        var full = Path.GetFullPath(path);
        var stream = FileStatus.Available ? OpenOnLinux(path, full, kind, root) : OpenPortable(path, full, kind, root);
        try
        {
            long length = stream.Length;
            if (length > max)
            {
                throw TooLarge(path, length, max, kind, exact: true);
            }
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static FileStream OpenOnLinux(string path, string full, InputKind kind, string? root)
    {
        var name = FileStatus.Utf8(full);
        if (FileStatus.TryGetFollowingLinks(full, out var before) && !before.IsFile)
        {
            throw NotRegular(path, before.TypeName, kind);
        }
        int fd = Open(name, OpenReadOnlyNonBlocking);
        if (fd < 0)
        {
            throw OpenError(path, Marshal.GetLastWin32Error());
        }
        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        try
        {
            if (!FileStatus.TryGet(fd, out var opened))
            {
                throw new IOException($"Cannot read '{path}': fstat failed.");
            }
            if (!opened.IsFile)
            {
                throw NotRegular(path, opened.TypeName, kind);
            }
            if (root is not null)
            {
                CheckInsideOnLinux(path, fd, full, root);
            }
            return new FileStream(handle, FileAccess.Read, BlockSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Where the open descriptor really is (/proc/self/fd) must be below the real root.</summary>
    private static void CheckInsideOnLinux(string path, int fd, string full, string root)
    {
        var real = ReadLink("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture)) ?? RealPath(full);
        var realRoot = RealPath(Path.GetFullPath(root)) ?? Path.GetFullPath(root);
        if (real is null || !IsBelow(real, realRoot))
        {
            throw new InputFileException(InputFileProblem.OutsideTree, path,
                $"'{path}' leads to '{real ?? "an unknown place"}' through a symbolic link, outside '{root}', the tree being read.",
                "Files are read only inside the tree they belong to; replace the link by the file itself, or remove it.");
        }
    }

    private static FileStream OpenPortable(string path, string full, InputKind kind, string? root)
    {
        if (Directory.Exists(full))
        {
            throw NotRegular(path, "a directory", kind);
        }
        if (root is not null && File.Exists(full) && (File.GetAttributes(full) & FileAttributes.ReparsePoint) != 0)
        {
            throw new InputFileException(InputFileProblem.OutsideTree, path,
                $"'{path}' is a symbolic link or junction inside '{root}'; on this system links in a tree being read are not followed.",
                "Replace the link by the file itself, or remove it.");
        }
        if (root is not null && !IsBelow(full, Path.GetFullPath(root)))
        {
            throw new InputFileException(InputFileProblem.OutsideTree, path, $"'{path}' is outside '{root}', the tree being read.", "Name a file inside the tree.");
        }
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, BlockSize);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            throw NotRegular(path, "a pipe or device", kind);
        }
        return stream;
    }

    private static bool IsBelow(string path, string root)
    {
        var comparison = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var prefix = root.EndsWith("/", StringComparison.Ordinal) || root.EndsWith("\\", StringComparison.Ordinal) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    private static int ReadFully(Stream stream, byte[] buffer, int offset, int count)
    {
        int read = 0;
        while (read < count)
        {
            int n = stream.Read(buffer, offset + read, count - read);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return read;
    }

    private static InputFileException NotRegular(string path, string what, InputKind kind) => new(
        InputFileProblem.NotRegularFile, path,
        $"'{path}' is {what}, not a regular file; {WithArticle(kind)} is read only from a regular file.",
        "Name the file itself (not a pipe, device, socket or directory).");

    private static InputFileException TooLarge(string path, long length, long max, InputKind kind, bool exact) => new(
        InputFileProblem.TooLarge, path,
        exact
            ? $"'{path}' is {length.ToString("N0", CultureInfo.InvariantCulture)} bytes, more than the limit of {max.ToString("N0", CultureInfo.InvariantCulture)} bytes for {WithArticle(kind)}."
            : $"'{path}' goes on past the limit of {max.ToString("N0", CultureInfo.InvariantCulture)} bytes for {WithArticle(kind)} (it grew while it was read, or its size is not known beforehand).",
        $"Check that it is the right file: {WithArticle(kind)} is never this large.");

    private static string WithArticle(InputKind kind)
    {
        var what = Describe(kind);
        return ("aeiou".IndexOf(what[0]) >= 0 ? "an " : "a ") + what;
    }

    private static Exception OpenError(string path, int errno) => errno switch
    {
        2 => new FileNotFoundException($"Could not find file '{path}'.", path), // ENOENT
        20 => new DirectoryNotFoundException($"Could not find a part of the path '{path}'."), // ENOTDIR
        13 or 1 => new UnauthorizedAccessException($"Access to the path '{path}' is denied."), // EACCES, EPERM
        40 => new IOException($"Cannot read '{path}': too many levels of symbolic links."), // ELOOP
        _ => new IOException($"Cannot read '{path}': error {errno.ToString(CultureInfo.InvariantCulture)}."),
    };

    /// <summary>readlink(2): the target of a symbolic link (e.g. /proc/PID/fd/N), or null when it is none or too long.</summary>
    internal static string? ReadLink(string path)
    {
        var buffer = new byte[4097];
        long n = ReadLinkNative(FileStatus.Utf8(path), buffer, (IntPtr)(buffer.Length - 1)).ToInt64();
        return n <= 0 || n >= buffer.Length - 1 ? null : Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    internal static string? RealPath(string path)
    {
        var buffer = new byte[4097]; // PATH_MAX + 1
        if (RealPathNative(FileStatus.Utf8(path), buffer) == IntPtr.Zero)
        {
            return null;
        }
        int end = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags);

    [DllImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static extern IntPtr ReadLinkNative(byte[] path, byte[] buffer, IntPtr size);

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr RealPathNative(byte[] path, byte[] resolved);
}
