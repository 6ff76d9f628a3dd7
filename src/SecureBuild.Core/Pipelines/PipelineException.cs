namespace SecureBuild.Core.Pipelines;

/// <summary>
/// Settings a pipeline cannot be generated from, or a repository file `securebuild init` cannot edit safely. The message
/// starts with the SB54xx code and says the cause and the fix.
/// </summary>
public sealed class PipelineException : Exception
{
    public PipelineException(string code, string cause, string fix)
        : base($"{code}: {cause} {fix}")
    {
        Code = code;
        Cause = cause;
        Fix = fix;
    }

    public string Code { get; }

    public string Cause { get; }

    public string Fix { get; }
}
