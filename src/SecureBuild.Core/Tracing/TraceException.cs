namespace SecureBuild.Core.Tracing;

/// <summary>
/// A trace could not be made (wrong platform, tracing not permitted, no seccomp). The message carries the SB code, the
/// cause and the fix. The command was not run, or was stopped: tracing never falls back to running it unconfined.
/// </summary>
public sealed class TraceException : Exception
{
    public TraceException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>SB4100 not Linux, SB4101 unsupported architecture, SB4102 ptrace not permitted, SB4103 seccomp unavailable,
    /// SB4104 kernel too old (no PTRACE_GET_SYSCALL_INFO), SB4105 the launcher could not be started.</summary>
    public string Code { get; }
}
