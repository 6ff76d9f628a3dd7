using System.Globalization;
using System.IO.Compression;

namespace SecureBuild.Core.Archives;

/// <summary>One entry of an archive opened by <see cref="ArchiveReader"/>; its name is already known to be safe.</summary>
public sealed class ArchiveEntry
{
    internal ArchiveEntry(ZipArchiveEntry zip)
    {
        Zip = zip;
    }

    internal ZipArchiveEntry Zip { get; }

    /// <summary>The name as stored ('/'-separated, relative, no ".." segment).</summary>
    public string FullName => Zip.FullName;

    /// <summary>The decompressed size the archive declares (reading more than this is refused).</summary>
    public long Length => Zip.Length;

    /// <summary>The compressed size.</summary>
    public long CompressedLength => Zip.CompressedLength;

    /// <summary>A folder entry (name ending in '/').</summary>
    public bool IsDirectory => Zip.FullName.EndsWith("/", StringComparison.Ordinal);
}

/// <summary>
/// The one way SecureBuild reads a zip or a .nupkg: opening it checks every entry name (no absolute name, no drive, no
/// ".." segment) and what the entries declare against <see cref="ArchiveLimits"/> (size per entry and in total,
/// compression ratio, entry count) before a byte is decompressed; reading an entry stops at its declared size and at
/// the limits, so an entry that lies about its size cannot take more memory than an honest one. Everything wrong is an
/// <see cref="ArchiveFormatException"/> (an <see cref="IOException"/>) with an SB code; no other exception
/// escapes from a malformed archive.
/// </summary>
public sealed class ArchiveReader : IDisposable
{
    private readonly ZipArchive _zip;
    private readonly ArchiveLimits _limits;
    private long _totalRead;

    private ArchiveReader(ZipArchive zip, string name, ArchiveLimits limits)
    {
        _zip = zip;
        _limits = limits;
        Name = name;
        Entries = CheckEntries(zip, name, limits);
    }

    /// <summary>The archive's name in messages.</summary>
    public string Name { get; }

    /// <summary>The entries in archive order.</summary>
    public IReadOnlyList<ArchiveEntry> Entries { get; }

    /// <summary>Opens an archive held in memory.</summary>
    /// <exception cref="ArchiveFormatException">Malformed, an unsafe entry name, or beyond the limits.</exception>
    public static ArchiveReader Open(byte[] bytes, string name, ArchiveLimits? limits = null) =>
        Open(new MemoryStream(bytes, writable: false), name, limits, leaveOpen: false);

    /// <summary>Opens an archive from a seekable stream.</summary>
    /// <exception cref="ArchiveFormatException">Malformed, an unsafe entry name, or beyond the limits.</exception>
    public static ArchiveReader Open(Stream stream, string name, ArchiveLimits? limits = null, bool leaveOpen = false)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen);
        }
        catch (Exception e) when (IsMalformed(e))
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }

            throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{name} is not a readable zip archive ({e.Message}).", e);
        }

        try
        {
            return new ArchiveReader(zip, name, limits ?? ArchiveLimits.Default);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Opens an archive file (a .nupkg, a .zip).</summary>
    /// <exception cref="ArchiveFormatException">Malformed, an unsafe entry name, or beyond the limits.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ArchiveReader OpenFile(string path, ArchiveLimits? limits = null) =>
        Open(IO.InputFile.OpenRead(path, IO.InputKind.Artifact), path, limits, leaveOpen: false);

    /// <summary>Checks an archive file's names and declared sizes without decompressing anything.</summary>
    /// <exception cref="ArchiveFormatException">Malformed, an unsafe entry name, or beyond the limits.</exception>
    public static void Check(string path, ArchiveLimits? limits = null)
    {
        using (OpenFile(path, limits))
        {
        }
    }

    /// <summary>Opens an entry for reading; the stream ends with an exception past its declared size or the limits.</summary>
    /// <exception cref="ArchiveFormatException">The entry cannot be decompressed.</exception>
    public Stream OpenEntry(ArchiveEntry entry)
    {
        try
        {
            return new BoundedEntryStream(this, entry, entry.Zip.Open());
        }
        catch (Exception e) when (IsMalformed(e))
        {
            throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{Name}: entry {entry.FullName} cannot be decompressed ({e.Message}).", e);
        }
    }

    /// <summary>The entry's decompressed bytes (at most its declared size and <see cref="ArchiveLimits.MaxEntryBytes"/>).</summary>
    /// <exception cref="ArchiveFormatException">The entry cannot be decompressed or exceeds a limit.</exception>
    public byte[] ReadAllBytes(ArchiveEntry entry)
    {
        using var stream = OpenEntry(entry);
        using var buffer = new MemoryStream((int)Math.Min(entry.Length, 1 << 20));
        CopyTo(stream, buffer, entry);
        return buffer.ToArray();
    }

    private void CopyTo(Stream entryStream, Stream destination, ArchiveEntry entry)
    {
        try
        {
            entryStream.CopyTo(destination);
        }
        catch (Exception e) when (e is not ArchiveFormatException && IsMalformed(e))
        {
            throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{Name}: entry {entry.FullName} cannot be decompressed ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Why <paramref name="entryName"/> would leave the folder it is extracted into (an absolute name, a drive, a ".."
    /// segment, a NUL), or null when it stays inside. Backslashes count as separators, as Windows tools treat them.
    /// </summary>
    public static string? UnsafeNameReason(string entryName)
    {
        if (entryName.Length == 0)
        {
            return "an empty name";
        }

        if (entryName.IndexOf('\0') >= 0)
        {
            return "a NUL character";
        }

        var name = entryName.Replace('\\', '/');
        if (name[0] == '/')
        {
            return "an absolute path";
        }

        if (name.Length >= 2 && name[1] == ':')
        {
            return "a drive letter";
        }

        if (name.Split('/').Any(segment => segment == ".."))
        {
            return "a '..' segment that leaves the folder";
        }

        return null;
    }

    /// <summary>
    /// The full path <paramref name="entryName"/> has below <paramref name="folder"/>; never a path outside it.
    /// </summary>
    /// <exception cref="ArchiveFormatException">The name would leave the folder.</exception>
    public static string ExtractionPath(string folder, string entryName)
    {
        var reason = UnsafeNameReason(entryName);
        var root = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var path = reason is null ? Path.GetFullPath(Path.Combine(root, entryName.Replace('\\', '/'))) : null;
        if (path is null || !path.StartsWith(root, StringComparison.Ordinal))
        {
            throw new ArchiveFormatException(ArchiveFormatException.UnsafeName,
                $"entry name '{entryName}' has {reason ?? "a path outside the folder"}: it would be extracted outside {folder}. The archive was crafted or corrupted; do not use it.");
        }

        return path;
    }

    public void Dispose() => _zip.Dispose();

    private static IReadOnlyList<ArchiveEntry> CheckEntries(ZipArchive zip, string name, ArchiveLimits limits)
    {
        IReadOnlyCollection<ZipArchiveEntry> zipEntries;
        try
        {
            zipEntries = zip.Entries;
        }
        catch (Exception e) when (IsMalformed(e))
        {
            throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{name} is not a readable zip archive ({e.Message}).", e);
        }

        if (zipEntries.Count > limits.MaxEntries)
        {
            throw new ArchiveFormatException(ArchiveFormatException.TotalTooLarge,
                $"{name} has {zipEntries.Count} entries, more than the limit of {limits.MaxEntries}. The archive was crafted or corrupted; do not use it.");
        }

        var entries = new List<ArchiveEntry>(zipEntries.Count);
        long total = 0;
        foreach (var zipEntry in zipEntries)
        {
            var entry = new ArchiveEntry(zipEntry);
            if (UnsafeNameReason(entry.FullName) is { } reason)
            {
                throw new ArchiveFormatException(ArchiveFormatException.UnsafeName,
                    $"{name}: entry name '{entry.FullName}' has {reason}. An archive that names files outside its own folder was crafted to overwrite or read other files; do not use it.");
            }

            if (entry.Length < 0 || entry.CompressedLength < 0)
            {
                throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{name}: entry {entry.FullName} declares a negative size.");
            }

            if (entry.Length > limits.MaxEntryBytes)
            {
                throw EntryTooLarge(name, entry.FullName, entry.Length, limits);
            }

            if (entry.Length > limits.RatioAppliesAboveBytes && entry.Length > entry.CompressedLength * limits.MaxCompressionRatio)
            {
                var ratio = entry.CompressedLength == 0 ? "an unbounded ratio" : "a ratio of " + (entry.Length / (double)entry.CompressedLength).ToString("0", CultureInfo.InvariantCulture);
                throw new ArchiveFormatException(ArchiveFormatException.RatioTooHigh,
                    $"{name}: entry {entry.FullName} decompresses from {entry.CompressedLength} to {entry.Length} bytes, {ratio} (the limit is {limits.MaxCompressionRatio.ToString(CultureInfo.InvariantCulture)}): a zip bomb. Do not use the archive.");
            }

            total += entry.Length;
            if (total > limits.MaxTotalBytes)
            {
                throw TotalTooLarge(name, limits);
            }

            entries.Add(entry);
        }

        return entries;
    }

    private static ArchiveFormatException EntryTooLarge(string name, string entry, long bytes, ArchiveLimits limits) =>
        new(ArchiveFormatException.EntryTooLarge,
            $"{name}: entry {entry} decompresses to {bytes} bytes or more, beyond the limit of {limits.MaxEntryBytes} bytes per entry. The archive was crafted or is not one SecureBuild reads; do not use it.");

    private static ArchiveFormatException TotalTooLarge(string name, ArchiveLimits limits) =>
        new(ArchiveFormatException.TotalTooLarge,
            $"{name}: its entries decompress to more than the limit of {limits.MaxTotalBytes} bytes in total. The archive was crafted or is not one SecureBuild reads; do not use it.");

    /// <summary>What System.IO.Compression throws for a corrupted archive (it is not consistent about it).</summary>
    internal static bool IsMalformed(Exception e) =>
        e is InvalidDataException || e is IOException || e is NotSupportedException || e is ArgumentException ||
        e is OverflowException || e is IndexOutOfRangeException || e is InvalidOperationException || e is NullReferenceException;

    /// <summary>Reads an entry's stream and refuses to go past the entry's declared size, the entry limit or the total.</summary>
    private sealed class BoundedEntryStream : Stream
    {
        private readonly ArchiveReader _reader;
        private readonly ArchiveEntry _entry;
        private readonly Stream _inner;
        private long _read;

        public BoundedEntryStream(ArchiveReader reader, ArchiveEntry entry, Stream inner)
        {
            _reader = reader;
            _entry = entry;
            _inner = inner;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n;
            try
            {
                n = _inner.Read(buffer, offset, count);
            }
            catch (Exception e) when (IsMalformed(e))
            {
                throw new ArchiveFormatException(ArchiveFormatException.Malformed, $"{_reader.Name}: entry {_entry.FullName} cannot be decompressed ({e.Message}).", e);
            }

            _read += n;
            _reader._totalRead += n;
            if (_read > _reader._limits.MaxEntryBytes)
            {
                throw EntryTooLarge(_reader.Name, _entry.FullName, _read, _reader._limits);
            }

            if (_read > _entry.Length)
            {
                throw new ArchiveFormatException(ArchiveFormatException.EntryTooLarge,
                    $"{_reader.Name}: entry {_entry.FullName} decompresses to more than the {_entry.Length} bytes it declares: the archive was crafted or corrupted; do not use it.");
            }

            if (_reader._totalRead > _reader._limits.MaxTotalBytes)
            {
                throw TotalTooLarge(_reader.Name, _reader._limits);
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
