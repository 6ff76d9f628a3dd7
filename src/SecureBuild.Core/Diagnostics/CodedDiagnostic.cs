namespace SecureBuild.Core.Diagnostics;

/// <summary>How a <see cref="CodedDiagnostic"/> reaches the user: an error fails the build, a warning does not, the others are log lines.</summary>
public enum DiagnosticLevel
{
    /// <summary>A log line at low importance (shown at -v:detailed).</summary>
    Detail,

    /// <summary>A log line at normal importance.</summary>
    Message,

    Warning,

    Error,
}

/// <summary>
/// One thing a Core service found that the build reports, in the order found: an SB#### code (empty for a log line),
/// its level and the message (cause and fix). Core services return these; the MSBuild tasks only log them.
/// </summary>
/// <param name="Code">The SB#### code; empty for <see cref="DiagnosticLevel.Detail"/> and <see cref="DiagnosticLevel.Message"/>.</param>
/// <param name="Level">Error, warning or log line.</param>
/// <param name="Text">The message as logged.</param>
public sealed record CodedDiagnostic(string Code, DiagnosticLevel Level, string Text)
{
    public static CodedDiagnostic Error(string code, string text) => new(code, DiagnosticLevel.Error, text);

    public static CodedDiagnostic Warning(string code, string text) => new(code, DiagnosticLevel.Warning, text);

    public static CodedDiagnostic Message(string text) => new("", DiagnosticLevel.Message, text);

    public static CodedDiagnostic Detail(string text) => new("", DiagnosticLevel.Detail, text);
}
