using System.Runtime.InteropServices;
using System.Text;

namespace SecureBuild.Core.IO;

/// <summary>
/// What lstat says about one directory entry, including what a user cannot set back: the inode
/// change time (ctime), which the kernel sets to "now" on every write, chmod, link, unlink, rename
/// and utimes. Read with Linux's statx (glibc 2.28+); elsewhere <see cref="Available"/> is false and
/// callers keep their portable path.
/// </summary>
public readonly struct FileStatus
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;

    // STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME
    private const uint Wanted = 0x001 | 0x002 | 0x100 | 0x200 | 0x040 | 0x080;
    private static bool? _available;

    [ThreadStatic]
    private static byte[]? _buffer;

    public FileStatus(int type, long size, long inode, long device, long modifiedNs, long changedNs)
    {
        Type = type;
        Size = size;
        Inode = inode;
        Device = device;
        ModifiedNs = modifiedNs;
        ChangedNs = changedNs;
    }

    /// <summary>S_IFMT bits of st_mode: 0x8000 file, 0x4000 directory, 0xA000 symbolic link.</summary>
    public int Type { get; }
    public long Size { get; }
    public long Inode { get; }
    public long Device { get; }

    /// <summary>mtime in nanoseconds since the Unix epoch.</summary>
    public long ModifiedNs { get; }

    /// <summary>ctime (inode change time) in nanoseconds since the Unix epoch.</summary>
    public long ChangedNs { get; }

    public bool IsDirectory => Type == 0x4000;
    public bool IsFile => Type == 0x8000;

    /// <summary>What the entry is, in words for a message: "a regular file", "a FIFO (named pipe)", "a character device", ...</summary>
    public string TypeName => Type switch
    {
        0x8000 => "a regular file",
        0x4000 => "a directory",
        0xA000 => "a symbolic link",
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => "not a regular file",
    };

    /// <summary>True when <see cref="TryGet(string, out FileStatus)"/> works here (Linux with statx).</summary>
    public static bool Available
    {
        get
        {
            if (_available is null)
            {
                var ok = false;
                if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
                {
                    try
                    {
                        ok = TryGetCore("/", out _);
                    }
                    catch (EntryPointNotFoundException)
                    {
                    }
                    catch (DllNotFoundException)
                    {
                    }
                }
                _available = ok;
            }
            return _available.Value;
        }
    }

    /// <summary>lstat of <paramref name="path"/> (a link is reported as a link); false when it does not exist or cannot be read.</summary>
    public static bool TryGet(string path, out FileStatus status)
    {
        if (!Available)
        {
            status = default;
            return false;
        }
        return TryGetCore(path, out status);
    }

    /// <summary>stat of <paramref name="path"/>: a symbolic link is followed and its target reported; false when it does not exist.</summary>
    public static bool TryGetFollowingLinks(string path, out FileStatus status)
    {
        if (!Available)
        {
            status = default;
            return false;
        }
        return TryGetCore(AtFdCwd, Utf8(path), 0, out status);
    }

    /// <summary>fstat of an open file descriptor (so what was checked is what is read: no race with a rename).</summary>
    public static bool TryGet(int fileDescriptor, out FileStatus status)
    {
        if (!Available)
        {
            status = default;
            return false;
        }
        return TryGetCore(fileDescriptor, new byte[1], AtEmptyPath, out status);
    }

    /// <summary>lstat of a path already in UTF-8, up to its first NUL byte (no allocation).</summary>
    public static bool TryGet(byte[] nullTerminatedUtf8Path, out FileStatus status)
    {
        if (!Available || Array.IndexOf(nullTerminatedUtf8Path, (byte)0) < 0)
        {
            status = default;
            return false;
        }
        return TryGetCore(nullTerminatedUtf8Path, out status);
    }

    private static bool TryGetCore(string path, out FileStatus status) => TryGetCore(Utf8(path), out status);

    /// <summary>The NUL-terminated UTF-8 bytes of a path, as the kernel takes it.</summary>
    internal static byte[] Utf8(string path)
    {
        var name = new byte[Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        name[Encoding.UTF8.GetBytes(path, 0, path.Length, name, 0)] = 0;
        return name;
    }

    private static bool TryGetCore(byte[] name, out FileStatus status) => TryGetCore(AtFdCwd, name, AtSymlinkNoFollow, out status);

    private static bool TryGetCore(int directoryFd, byte[] name, int flags, out FileStatus status)
    {
        var buffer = _buffer ??= new byte[256];
        if (Statx(directoryFd, name, flags, Wanted, buffer) != 0 || (BitConverter.ToUInt32(buffer, 0) & Wanted) != Wanted)
        {
            status = default;
            return false;
        }
        // struct statx: stx_mode at 28, stx_ino at 32, stx_size at 40, stx_ctime at 96, stx_mtime at 112
        // (statx_timestamp: s64 tv_sec, u32 tv_nsec), stx_dev_major/minor at 136/140. Same on every architecture.
        static long Time(byte[] b, int offset) => BitConverter.ToInt64(b, offset) * 1_000_000_000L + BitConverter.ToUInt32(b, offset + 8);
        var device = ((long)BitConverter.ToUInt32(buffer, 136) << 32) | BitConverter.ToUInt32(buffer, 140);
        status = new FileStatus(BitConverter.ToUInt16(buffer, 28) & 0xF000, BitConverter.ToInt64(buffer, 40), BitConverter.ToInt64(buffer, 32),
            device, Time(buffer, 112), Time(buffer, 96));
        return true;
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int directoryFd, byte[] path, int flags, uint mask, [Out] byte[] buffer);
}
