using System.IO;

namespace SecureBuild.Core.Inspection;

/// <summary>How much a finding matters: an <see cref="Error"/> fails the inspection (exit 1) under the default policy.</summary>
public enum FindingSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>One thing `securebuild inspect` found in one file: an unaccounted file, or a capability the file has.</summary>
public sealed class Finding
{
    public Finding(string code, FindingSeverity severity, string path, string subject, string message)
    {
        Code = code;
        Severity = severity;
        Path = path;
        Subject = subject;
        Message = message;
    }

    /// <summary>The SB code (<see cref="InspectionCodes"/>).</summary>
    public string Code { get; }

    public FindingSeverity Severity { get; }

    /// <summary>The file in the package ('/'-separated), or "" for the package as a whole.</summary>
    public string Path { get; }

    /// <summary>What the capability is about, stable across releases: the command, the native library, the API, the URL, the dependency id.</summary>
    public string Subject { get; }

    /// <summary>The cause in one sentence, and for a failure the fix.</summary>
    public string Message { get; }

    /// <summary>
    /// What identifies the capability when a release is compared with its baseline: the code, the subject and the file
    /// name (not the folder, so that lib/net8.0/A.dll and lib/net9.0/A.dll are one thing).
    /// </summary>
    public string BaselineKey => Code + "|" + Subject + "|" + System.IO.Path.GetFileName(Path);

    public static string SeverityName(FindingSeverity severity) => severity switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };
}
