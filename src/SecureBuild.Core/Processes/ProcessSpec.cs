namespace SecureBuild.Core.Processes;

/// <summary>One child process to run, with the limits that hold for every child the product starts.</summary>
public sealed class ProcessSpec
{
    /// <summary>Output kept by default: the first and the last 2 Mi characters of each captured stream (about 8 MB of memory).</summary>
    public const int DefaultOutputLimit = 4 * 1024 * 1024;

    public ProcessSpec(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        FileName = fileName;
        Arguments = arguments.ToList();
        WorkingDirectory = workingDirectory;
    }

    /// <summary>
    /// The program: a path (relative ones are resolved against <see cref="WorkingDirectory"/>), or a bare name
    /// looked up on PATH (as execvp and Python's subprocess do), then next to the running executable, never in the
    /// current or working directory.
    /// </summary>
    public string FileName { get; }

    public IReadOnlyList<string> Arguments { get; }

    public string WorkingDirectory { get; }

    /// <summary>The child's complete environment (nothing is inherited when set).</summary>
    public IDictionary<string, string>? Environment { get; set; }

    /// <summary>Variables set on top of the inherited (or <see cref="Environment"/>) environment.</summary>
    public IDictionary<string, string>? AddedEnvironment { get; set; }

    /// <summary>Unix umask (octal, e.g. "0002") for the child; null keeps the current one.</summary>
    public string? Umask { get; set; }

    /// <summary>
    /// Bytes written to the child's stdin (then closed), from another thread so a child that does not read them
    /// cannot block the caller; null: stdin is empty. The timeout covers the writing.
    /// </summary>
    public byte[]? StandardInput { get; set; }

    /// <summary>Called with every line the child writes (stdout and stderr), from another thread.</summary>
    public Action<string>? OnLine { get; set; }

    /// <summary>
    /// How long the child, and every process it starts, may run. At the limit the whole tree is killed and the
    /// outcome says <see cref="ProcessOutcome.TimedOut"/>. Every call has one; there is no "forever".
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long the output pipes may stay open after the child exited (a background process it left behind holds
    /// them). After that the processes of the child's session that still hold them are killed and reading stops.
    /// </summary>
    public TimeSpan OutputGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Characters kept of each captured stream: the first and the last half. The pipes are always read to the end
    /// (so the child never blocks on a full pipe); what does not fit is counted in
    /// <see cref="ProcessOutcome.DroppedCharacters"/> and marked in the text.
    /// </summary>
    public int OutputLimit { get; set; } = DefaultOutputLimit;

    /// <summary>Keep stdout alone in <see cref="ProcessOutcome.StandardOutput"/> too (for callers that parse it).</summary>
    public bool CaptureStandardOutput { get; set; }

    /// <summary>The command as a user would type it, for messages.</summary>
    public string Display => string.Join(" ", new[] { FileName }.Concat(Arguments).Select(a => a.Length > 0 && a.IndexOfAny(new[] { ' ', '\t', '"', '\'' }) < 0 ? a : "'" + a + "'"));
}
