using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SecureBuild.Core.IO;

/// <summary>
/// Files only their owner may read (private keys), and giving a complete file a name without ever replacing one that
/// exists. Core targets netstandard2.0, which has no <c>UnixFileMode</c>: on Linux and macOS the modes are set with
/// libc's <c>mkdir</c> and, on Linux, <c>open</c> at creation (a file is never readable by others, not even empty;
/// on other Unixes it is made so right after it is created, before anything is written), and the name with
/// <c>link</c>, which fails when the name exists where a rename would replace it. On Windows the .NET calls are used.
/// </summary>
public static class PrivateFile
{
    private const int EEXIST = 17; // Linux, macOS and the BSDs
    private const int OwnerReadWrite = 0x180; // 0600
    private const int OwnerAll = 0x1C0; // 0700

    /// <summary>Creates <paramref name="directory"/> and its missing parents, those it creates readable by the owner only.</summary>
    public static void CreateDirectory(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (Directory.Exists(directory))
        {
            return;
        }

        if (!IsUnix)
        {
            Directory.CreateDirectory(directory);
            return;
        }

        var missing = new Stack<string>();
        for (var d = directory; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }

        while (missing.Count > 0)
        {
            var d = missing.Pop();
            if (MakeDirectory(Utf8(d), OwnerAll) != 0 && Marshal.GetLastWin32Error() != EEXIST)
            {
                Directory.CreateDirectory(d); // reports why it cannot be created
            }
        }
    }

    /// <summary>Creates <paramref name="file"/> (it must not exist) readable by its owner only, writes and flushes <paramref name="bytes"/>.</summary>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public static void WriteNew(string file, byte[] bytes)
    {
        if (IsUnix && CreateFlags() is { } flags)
        {
            int fd = Open(Utf8(file), flags, OwnerReadWrite);
            if (fd < 0)
            {
                int errno = Marshal.GetLastWin32Error();
                throw new IOException(errno == EEXIST ? $"'{file}' already exists." : $"Cannot create '{file}' (errno {errno}).");
            }

            using var stream = new FileStream(new SafeFileHandle((IntPtr)fd, ownsHandle: true), FileAccess.Write);
            stream.Write(bytes, 0, bytes.Length);
            stream.Flush(flushToDisk: true);
            return;
        }

        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write))
        {
            if (IsUnix)
            {
                _ = ChangeMode(Utf8(file), OwnerReadWrite);
            }

            stream.Write(bytes, 0, bytes.Length);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Gives the complete file <paramref name="temp"/> the name <paramref name="path"/> unless that exists (then false).</summary>
    public static bool TryPublishNew(string temp, string path)
    {
        if (IsUnix)
        {
            // On Unix File.Move checks that the target is absent and then rename()s, which silently replaces a file
            // another thread or process created in between. link() creates the name atomically or fails.
            if (Link(Utf8(temp), Utf8(path)) == 0)
            {
                return true;
            }

            if (Marshal.GetLastWin32Error() == EEXIST)
            {
                return false;
            }

            // No hard links on this file system: fall back to File.Move.
        }

        try
        {
            File.Move(temp, path); // on Windows (MoveFileEx without REPLACE_EXISTING) this never overwrites
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    private static bool IsUnix => !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    // O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC on Linux. open() is variadic, and on macOS arm64 a variadic argument is
    // passed where a plain P/Invoke would not put it, so elsewhere the mode is set right after creation instead.
    private static int? CreateFlags() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? 0x1 | 0x40 | 0x80 | 0x80000 : null;

    private static byte[] Utf8(string path) => FileStatus.Utf8(path);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags, int mode);

    [DllImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static extern int MakeDirectory(byte[] path, int mode);

    [DllImport("libc", EntryPoint = "chmod", SetLastError = true)]
    private static extern int ChangeMode(byte[] path, int mode);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(byte[] oldPath, byte[] newPath);
}
