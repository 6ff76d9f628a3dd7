using System.Globalization;

namespace SecureBuild.Core.Processes;

/// <summary>The outcome of a child process.</summary>
public sealed class ProcessOutcome
{
    public ProcessOutcome(int exitCode, string output)
        : this(exitCode, output, "")
    {
    }

    public ProcessOutcome(int exitCode, string output, string standardOutput)
    {
        ExitCode = exitCode;
        Output = output;
        StandardOutput = standardOutput;
    }

    /// <summary>The exit code; -1 when the child did not exit by itself (timed out, cancelled) or did not start.</summary>
    public int ExitCode { get; }

    /// <summary>stdout and stderr, interleaved line by line as received (capped: see <see cref="ProcessSpec.OutputLimit"/>).</summary>
    public string Output { get; }

    /// <summary>stdout alone, when <see cref="ProcessSpec.CaptureStandardOutput"/> asked for it; else empty.</summary>
    public string StandardOutput { get; }

    /// <summary>The child ran past <see cref="ProcessSpec.Timeout"/>; it and every process it started were killed.</summary>
    public bool TimedOut { get; init; }

    /// <summary>The cancellation token fired; the child and every process it started were killed.</summary>
    public bool Cancelled { get; init; }

    /// <summary>Why the program could not be started (not found, not executable), or null.</summary>
    public string? StartError { get; init; }

    /// <summary>Characters of output that were read but not kept (over <see cref="ProcessSpec.OutputLimit"/>), over both streams.</summary>
    public long DroppedCharacters { get; init; }

    /// <summary>Processes were still holding the output pipes after the child exited and the grace period; they were killed.</summary>
    public bool OutputHeldOpen { get; init; }

    /// <summary>How long the limit was (for messages).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>The command as run (for messages).</summary>
    public string Command { get; init; } = "";

    /// <summary>The child exited by itself with an exit code (it may still be non-zero).</summary>
    public bool Exited => StartError is null && !TimedOut && !Cancelled;

    /// <summary>
    /// SB1800: the timeout as an error with its cause; <paramref name="fix"/> says what the caller's user can do.
    /// </summary>
    public string TimeoutMessage(string fix) => "SB1800: " + TimeoutReason(fix);

    /// <summary>The text of <see cref="TimeoutMessage"/> without the code (for loggers that add it).</summary>
    public string TimeoutReason(string fix) =>
        $"'{Command}' did not finish within {Describe(Timeout)}, so it was stopped together with every process it started. {fix}";

    /// <summary>SB1801: the program could not be started; <paramref name="fix"/> says what to install or configure.</summary>
    public string StartErrorMessage(string fix) => $"SB1801: cannot run '{Command}': {StartError}. {fix}";

    internal static string Describe(TimeSpan span) =>
        span.TotalSeconds < 120
            ? span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s"
            : span.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture) + " min";
}
