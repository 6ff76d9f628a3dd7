namespace SecureBuild.Core.Diagnostics;

/// <summary>
/// How an exception that nothing expected is shown at a boundary (a CLI verb, an MSBuild task): one line with its
/// type and message and a request to report it, never a stack trace, unless SECUREBUILD_DEBUG=1 asks for one.
/// Failing closed means such an exception still fails the verb or the build; only its presentation is decided here.
/// </summary>
public static class InternalError
{
    /// <summary>The environment variable that adds the stack trace to an internal error (1 or true).</summary>
    public const string DebugVariable = "SECUREBUILD_DEBUG";

    /// <summary>Where a user reports an internal error.</summary>
    public const string ReportHint = "This is a bug in SecureBuild: please report it with the input that caused it (set SECUREBUILD_DEBUG=1 to add the stack trace).";

    /// <summary>True when SECUREBUILD_DEBUG is 1 or true: internal errors then carry their stack trace.</summary>
    public static bool ShowStackTrace
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(DebugVariable);
            return value == "1" || string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// False for what no handler can recover from (the process is already failing): everything else is caught at a
    /// boundary and reported. An OutOfMemoryException is caught too: the allocation that failed is released by then.
    /// </summary>
    public static bool IsCatchable(Exception e) => e is not StackOverflowException && e is not AccessViolationException && e is not ThreadAbortException;

    /// <summary>The exception on one line: its type, its message, and those of its inner exceptions.</summary>
    public static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var current = e; current is not null && parts.Count < 4; current = current.InnerException)
        {
            if (current is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
            {
                continue;
            }

            parts.Add($"{current.GetType().Name}: {OneLine(current.Message)}");
        }

        return string.Join(" <- ", parts);
    }

    /// <summary>The stack trace when <see cref="ShowStackTrace"/>, else null.</summary>
    public static string? StackTraceIfAsked(Exception e) => ShowStackTrace ? e.ToString() : null;

    private static string OneLine(string message)
    {
        var text = message.Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ').Trim();
        return text.Length > 500 ? text.Substring(0, 500) + "…" : text;
    }
}
