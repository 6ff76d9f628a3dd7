using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>
/// Reads the trace logger's attribution log while the traced MSBuild command writes it (every
/// <see cref="Period"/>), so that after the build only the logger's last block is left to parse: a traced no-op
/// build of ten projects writes about 0.7 MB of log, which took 15-20 ms to read after the build. A stale log of an
/// earlier run is deleted first, so nothing of it is read as this run's. When the command has no trace logger (the
/// user's own -bl), or the stale log cannot be deleted, there is nothing to follow and <see cref="Tail"/> is null:
/// the log is read after the command, as before.
/// </summary>
internal sealed class AttributionLogFollower : IDisposable
{
    /// <summary>How often the log is looked at during the command.</summary>
    internal static readonly TimeSpan Period = TimeSpan.FromMilliseconds(200);

    private readonly Timer? _timer;

    private AttributionLogFollower(AttributionLogTail? tail)
    {
        Tail = tail;
        if (tail is not null)
        {
            _timer = new Timer(_ => tail.ReadAvailable(), null, Period, Period);
        }
    }

    /// <summary>The reader following the log, or null when there is none to follow.</summary>
    public AttributionLogTail? Tail { get; }

    /// <summary>Starts following OUT/LABEL.attribution.jsonl when <paramref name="command"/> loads the trace logger.</summary>
    public static AttributionLogFollower Start(IReadOnlyList<string> command, string outDir, string label, TraceEnforcementOptions options)
    {
        if (!command.Any(a => a.StartsWith(TraceVerbOptions.LoggerSwitch, StringComparison.Ordinal)))
        {
            return new AttributionLogFollower(null);
        }
        string path = TraceVerbOptions.AttributionLogPath(outDir, label);
        try
        {
            File.Delete(path); // no error when it is not there
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return new AttributionLogFollower(null); // read after the command; the logger fails to create it and SB4233 says so
        }
        return new AttributionLogFollower(new AttributionLogTail(path, TraceEnforcement.PackageFolders(TraceEnforcement.EnvironmentOf(options))));
    }

    public void Dispose()
    {
        if (_timer is null)
        {
            return;
        }
        using var stopped = new ManualResetEvent(false);
        if (_timer.Dispose(stopped))
        {
            stopped.WaitOne(); // a ReadAvailable still running finishes before the tail is left alone
        }
    }
}
