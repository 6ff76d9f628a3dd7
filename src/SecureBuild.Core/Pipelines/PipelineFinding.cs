namespace SecureBuild.Core.Pipelines;

/// <summary>One hardening rule a workflow breaks: the SB55xx code, where (line and a path like jobs.build.steps[2]), the cause and the fix.</summary>
public sealed class PipelineFinding
{
    public PipelineFinding(string code, int line, string where, string cause, string fix)
    {
        Code = code;
        Line = line;
        Where = where;
        Cause = cause;
        Fix = fix;
    }

    public string Code { get; }

    public int Line { get; }

    public string Where { get; }

    public string Cause { get; }

    public string Fix { get; }

    /// <summary>"FILE:LINE: SB5500: jobs.build.steps[1]: cause. fix"</summary>
    public string Format(string file) => $"{file}:{Line}: {Code}: {Where}: {Cause} {Fix}";
}
