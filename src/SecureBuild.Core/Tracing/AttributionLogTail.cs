using System;
using System.Collections.Generic;
using System.IO;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// Reads the trace logger's attribution log while MSBuild writes it: <see cref="ReadAvailable"/> (called now and then
/// during the build) takes the complete lines written so far, and <see cref="Finish"/> (after the build) the rest, so
/// the tool parses only the logger's last block after the build instead of the whole log. The result is the one
/// <see cref="AttributionLogReader.Read"/> gives for the finished file: the same records in the same order through
/// the same <see cref="BuildTimelineBuilder"/>.
/// <para>
/// The file is read through <see cref="InputFile"/> (a regular file, at most a gibibyte). When it is not the file it
/// was (another inode) or is shorter than what was read, what was read no longer counts: <see cref="Finish"/> reads
/// the file again from its start. A missing file is "not written yet" until <see cref="Finish"/> says it never was.
/// Safe to call from a timer thread while another thread calls <see cref="Finish"/>.
/// </para>
/// </summary>
public sealed class AttributionLogTail
{
    private readonly object _gate = new();
    private readonly string _path;
    private readonly IEnumerable<string>? _extraPackageFolders;
    private BuildTimelineBuilder _timeline;
    private long _offset;
    private (long Device, long Inode)? _identity;
    private byte[] _partial = Array.Empty<byte>();
    private int _number;
    private bool _done;
    private bool _reread;
    private AttributionLogException? _failure;
    private AttributionLogReader.Result? _result;

    public AttributionLogTail(string path, IEnumerable<string>? extraPackageFolders = null)
    {
        _path = path ?? throw new ArgumentNullException(nameof(path));
        _extraPackageFolders = extraPackageFolders;
        _timeline = new BuildTimelineBuilder(extraPackageFolders);
    }

    /// <summary>Bytes taken so far (through the last complete line).</summary>
    internal long BytesRead
    {
        get
        {
            lock (_gate)
            {
                return _offset;
            }
        }
    }

    /// <summary>Takes the complete lines written since the last call. Never throws: a problem is kept for <see cref="Finish"/>.</summary>
    public void ReadAvailable()
    {
        lock (_gate)
        {
            if (_result is not null || _failure is not null || _reread || _done)
            {
                return;
            }
            try
            {
                Pump();
            }
            catch (AttributionLogException e)
            {
                _failure = e;
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                // Not created yet (MSBuild loads the logger after its start-up).
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                _reread = true; // Finish reads it whole and reports what is wrong with it then.
            }
        }
    }

    /// <summary>
    /// The timeline of the whole log: the rest of the file is read now. Throws <see cref="AttributionLogException"/>
    /// (SB4233) when the log is missing, unreadable or not the logger's; a log without its "done" line gives the
    /// timeline up to its last complete line and the SB4234 warning.
    /// </summary>
    public AttributionLogReader.Result Finish()
    {
        lock (_gate)
        {
            if (_result is not null)
            {
                return _result;
            }
            if (_failure is not null)
            {
                throw _failure;
            }
            try
            {
                if (_reread)
                {
                    Reset();
                }
                if (!_done)
                {
                    Pump();
                }
                if (_reread)
                {
                    // Replaced or cut short since the last look: read it again from its start, once.
                    Reset();
                    Pump();
                }
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw AttributionLogReader.Unreadable(_path, "it was not written (MSBuild built nothing, or stopped before it loaded the logger)");
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw AttributionLogReader.Unreadable(_path, e.Message);
            }
            if (_number == 0)
            {
                throw AttributionLogReader.Unreadable(_path, "it is empty (MSBuild did not start the logger)");
            }
            string? warning = _done ? null
                : $"{AttributionLogReader.IncompleteCode}: the attribution log {_path} ends early (the build was killed, or the log could not be written): events after its last record are reported without their MSBuild task.";
            _result = new AttributionLogReader.Result(_timeline.Build(), warning);
            return _result;
        }
    }

    private void Reset()
    {
        _timeline = new BuildTimelineBuilder(_extraPackageFolders);
        _offset = 0;
        _identity = null;
        _partial = Array.Empty<byte>();
        _number = 0;
        _done = false;
        _reread = false;
    }

    // Reads from _offset to the end of the file and takes its complete lines. Sets _reread (and reads nothing) when the
    // file is another one than before or shorter than what was read.
    private void Pump()
    {
        using var stream = InputFile.OpenRead(_path, InputKind.BuildLog);
        if (FileStatus.Available && FileStatus.TryGet((int)stream.SafeFileHandle.DangerousGetHandle(), out var status))
        {
            if (_identity is { } known && known != (status.Device, status.Inode))
            {
                _reread = true;
                return;
            }
            _identity = (status.Device, status.Inode);
        }
        long length = stream.Length;
        long end = _offset + _partial.Length;
        if (length < end)
        {
            _reread = true;
            return;
        }
        if (length == end)
        {
            return;
        }
        stream.Position = end;
        var bytes = new byte[_partial.Length + (length - end)];
        Buffer.BlockCopy(_partial, 0, bytes, 0, _partial.Length);
        int read = _partial.Length;
        int n;
        while (read < bytes.Length && (n = stream.Read(bytes, read, bytes.Length - read)) > 0)
        {
            read += n;
        }
        int start = 0;
        while (start < read && !_done)
        {
            int newline = Array.IndexOf(bytes, (byte)'\n', start, read - start);
            if (newline < 0)
            {
                break; // the rest of a line the logger has not written yet (or a last line cut off: no "done" then)
            }
            var line = new byte[newline - start];
            Buffer.BlockCopy(bytes, start, line, 0, line.Length);
            start = newline + 1;
            _done = AttributionLogReader.TakeLine(_timeline, line, _path, ++_number);
        }
        _offset += start;
        _partial = new byte[read - start];
        Buffer.BlockCopy(bytes, start, _partial, 0, _partial.Length);
    }
}
