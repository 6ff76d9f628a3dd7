using System.Collections.Concurrent;
using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// Hashes the files a trace saw, each distinct content once: results are cached by device, inode, size and mtime, so
/// the SDK's reference assemblies that every compiler and MSBuild node opens are read once per trace. A file opened by
/// a tracee is re-opened by the tracer through /proc/PID/fd/N while the tracee is stopped at the system call's exit (so
/// it is the very file the tracee got, even if it is renamed or deleted the next instant), and read on a worker thread
/// while the tracee runs on. The queue is bounded: when the worker falls behind, the tracer waits (memory stays bounded,
/// nothing is dropped). With a <see cref="TraceHashStore"/>, a file whose status matches a digest kept by an earlier
/// trace is not read at all.
/// </summary>
internal sealed class ContentHasher : IDisposable
{
    private const int QueueLength = 32;
    private readonly Dictionary<(long Device, long Inode, long Size, long Modified), HashSlot> _cache = new();
    private readonly BlockingCollection<(FileStream Stream, HashSlot Slot, FileStatus Status)> _queue = new(QueueLength);
    private readonly Thread _worker;
    private readonly TraceHashStore? _store;
    private long _bytesHashed;
    private int _filesHashed;

    public ContentHasher(TraceHashStore? store = null)
    {
        _store = store;
        _worker = new Thread(Work) { IsBackground = true, Name = "securebuild trace hasher" };
        _worker.Start();
    }

    /// <summary>Files read and hashed by this trace (read after <see cref="Complete"/>).</summary>
    public int FilesHashed => _filesHashed;

    /// <summary>Bytes read and hashed by this trace (read after <see cref="Complete"/>).</summary>
    public long BytesHashed => Interlocked.Read(ref _bytesHashed);

    /// <summary>The hash of what <paramref name="path"/> is now (a /proc/PID/fd/N link or a plain path), computed off this thread.
    /// Null when it is not a regular file (a directory, device, pipe), or when it is gone (<paramref name="missing"/>).</summary>
    public HashSlot? Request(string path, out bool missing)
    {
        missing = false;
        if (!FileStatus.TryGetFollowingLinks(path, out var status))
        {
            missing = true;
            return null;
        }

        if (!status.IsFile)
        {
            return null;
        }

        var key = (status.Device, status.Inode, status.Size, status.ModifiedNs);
        if (_cache.TryGetValue(key, out var slot))
        {
            return slot;
        }

        slot = new HashSlot();
        _cache[key] = slot;
        if (_store is not null && _store.TryGet(status, out var kept))
        {
            slot.Complete(kept);
            return slot;
        }

        FileStream stream;
        try
        {
            // FileShare.ReadWrite | Delete: no advisory lock is taken, so a tracee's own locks never block or fail this.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            slot.Complete(null);
            return slot;
        }

        _queue.Add((stream, slot, status));
        return slot;
    }

    /// <summary>Waits until every requested hash is computed.</summary>
    public void Complete()
    {
        if (!_queue.IsAddingCompleted)
        {
            _queue.CompleteAdding();
        }

        _worker.Join();
    }

    public void Dispose()
    {
        Complete();
        _queue.Dispose();
    }

    private void Work()
    {
        var buffer = new byte[1 << 18];
        using var sha = SHA256.Create();
        foreach (var (stream, slot, status) in _queue.GetConsumingEnumerable())
        {
            try
            {
                using (stream)
                {
                    sha.Initialize();
                    int n;
                    long total = 0;
                    while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        sha.TransformBlock(buffer, 0, n, null, 0);
                        total += n;
                    }

                    sha.TransformFinalBlock(buffer, 0, 0);
                    string digest = Hex.Encode(sha.Hash!);
                    slot.Complete(digest);
                    Interlocked.Add(ref _bytesHashed, total);
                    Interlocked.Increment(ref _filesHashed);
                    if (_store is not null && FileStatus.TryGet((int)stream.SafeFileHandle.DangerousGetHandle(), out var after))
                    {
                        _store.Add(status, after, digest, (DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(0)).Ticks * 100);
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                slot.Complete(null);
            }
        }
    }
}

/// <summary>Where a hash computed on the worker lands; read after <see cref="ContentHasher.Complete"/>.</summary>
internal sealed class HashSlot
{
    private volatile string? _sha256;
    private volatile bool _done;

    public string? Sha256 => _sha256;

    /// <summary>True when the content could not be read (counted as an unhashed file).</summary>
    public bool Failed => _done && _sha256 is null;

    public void Complete(string? sha256)
    {
        _sha256 = sha256;
        _done = true;
    }
}
