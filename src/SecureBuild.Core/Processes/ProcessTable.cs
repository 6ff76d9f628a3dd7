using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace SecureBuild.Core.Processes;

/// <summary>One process as Linux's /proc shows it.</summary>
public sealed class ProcessEntry
{
    public ProcessEntry(int pid, int parentPid, int session, ulong startTicks, string? uid, IReadOnlyList<string> arguments)
    {
        Pid = pid;
        ParentPid = parentPid;
        Session = session;
        StartTicks = startTicks;
        Uid = uid;
        Arguments = arguments;
    }

    public int Pid { get; }

    public int ParentPid { get; }

    public int Session { get; }

    /// <summary>When the process started, in clock ticks since boot (/proc/PID/stat field 22): comparable between processes exactly.</summary>
    public ulong StartTicks { get; }

    /// <summary>The real user id (/proc/PID/status "Uid:"), or null when it could not be read.</summary>
    public string? Uid { get; }

    /// <summary>The command line (/proc/PID/cmdline, NUL-separated); empty for kernel threads and zombies.</summary>
    public IReadOnlyList<string> Arguments { get; }
}

/// <summary>
/// A snapshot of the processes of a Linux machine from /proc (or a folder laid out like it, for tests): pid, parent,
/// session, start time, user and command line. The one parser of /proc/PID/stat (whose comm field may hold spaces and
/// parentheses, so fields are read after the last ')').
/// </summary>
public sealed class ProcessTable
{
    /// <summary>USER_HZ: the unit of /proc start times, 100 on every Linux architecture .NET runs on.</summary>
    public const int TicksPerSecond = 100;

    private ProcessTable(int self, IReadOnlyDictionary<int, ProcessEntry> processes, DateTimeOffset bootTime)
    {
        Self = self;
        Processes = processes;
        BootTime = bootTime;
    }

    /// <summary>The pid of the process that read the table.</summary>
    public int Self { get; }

    public IReadOnlyDictionary<int, ProcessEntry> Processes { get; }

    /// <summary>When the machine booted (read time minus /proc/uptime), to turn start ticks into times.</summary>
    public DateTimeOffset BootTime { get; }

    /// <summary>This machine's processes; null where there is no /proc (not Linux).</summary>
    public static ProcessTable? Current() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Directory.Exists("/proc") ? Read("/proc", Process.GetCurrentProcess().Id, DateTimeOffset.UtcNow) : null;

    /// <summary>The processes under <paramref name="procRoot"/>, read at <paramref name="now"/> by <paramref name="self"/>.</summary>
    public static ProcessTable Read(string procRoot, int self, DateTimeOffset now)
    {
        var processes = new Dictionary<int, ProcessEntry>();
        string[] entries;
        try
        {
            entries = Directory.GetDirectories(procRoot);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            entries = Array.Empty<string>();
        }

        foreach (var entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ReadEntry(entry, pid) is { } process)
            {
                processes[pid] = process;
            }
        }

        return new ProcessTable(self, processes, now - Uptime(procRoot));
    }

    /// <summary>The fields of a /proc/PID/stat line after "pid (comm)": field 3 (state) is index 0.</summary>
    public static string[] StatFields(string stat) =>
        stat.Substring(stat.LastIndexOf(')') + 1).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>When <paramref name="process"/> started, on the wall clock (to the precision of /proc/uptime).</summary>
    public DateTimeOffset StartTime(ProcessEntry process) => BootTime + TimeSpan.FromSeconds(process.StartTicks / (double)TicksPerSecond);

    /// <summary>The parent chain of <paramref name="pid"/>, itself first; stops at a pid not in the table or a loop.</summary>
    public IEnumerable<ProcessEntry> AncestorsAndSelf(int pid)
    {
        var seen = new HashSet<int>();
        while (Processes.TryGetValue(pid, out var process) && seen.Add(pid))
        {
            yield return process;
            pid = process.ParentPid;
        }
    }

    private static ProcessEntry? ReadEntry(string directory, int pid)
    {
        try
        {
            var fields = StatFields(File.ReadAllText(Path.Combine(directory, "stat")));
            if (fields.Length < 20 ||
                !int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent) ||
                !int.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var session) ||
                !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            {
                return null;
            }

            var arguments = File.ReadAllText(Path.Combine(directory, "cmdline"), Encoding.UTF8).Split(new[] { '\0' }, StringSplitOptions.RemoveEmptyEntries);
            return new ProcessEntry(pid, parent, session, start, Uid(directory), arguments);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentOutOfRangeException)
        {
            return null; // gone while reading, or not ours to read
        }
    }

    private static string? Uid(string directory)
    {
        foreach (var line in File.ReadLines(Path.Combine(directory, "status")))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return line.Substring(4).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            }
        }

        return null;
    }

    private static TimeSpan Uptime(string procRoot)
    {
        try
        {
            var first = File.ReadAllText(Path.Combine(procRoot, "uptime")).Split(' ')[0];
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return TimeSpan.Zero;
        }
    }
}
