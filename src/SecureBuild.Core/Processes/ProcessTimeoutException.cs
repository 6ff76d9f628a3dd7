namespace SecureBuild.Core.Processes;

/// <summary>A child process ran past its time limit where the caller cannot go on without its answer (SB1800).</summary>
public sealed class ProcessTimeoutException : TimeoutException
{
    public const string Code = "SB1800";

    public ProcessTimeoutException(string message)
        : base(message)
    {
    }
}
