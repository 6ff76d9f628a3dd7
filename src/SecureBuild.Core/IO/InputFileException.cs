namespace SecureBuild.Core.IO;

/// <summary>Why <see cref="InputFile"/> refused a file.</summary>
public enum InputFileProblem
{
    /// <summary>SB1700: a FIFO, device, socket or directory where a regular file is expected.</summary>
    NotRegularFile,

    /// <summary>SB1701: larger than the limit of its <see cref="InputKind"/>.</summary>
    TooLarge,

    /// <summary>SB1702: a symbolic link (or a path through one) that leads out of the tree being read.</summary>
    OutsideTree,
}

/// <summary>
/// A file <see cref="InputFile"/> refused to read. An <see cref="IOException"/>, so callers that already turn
/// "cannot read" into their own error keep doing so; the message names the file, what it is and the fix.
/// </summary>
public sealed class InputFileException : IOException
{
    public InputFileException(InputFileProblem problem, string path, string reason, string fix)
        : base($"{CodeOf(problem)}: {reason} {fix}")
    {
        Problem = problem;
        Path = path;
        Reason = reason;
        Fix = fix;
    }

    /// <summary>What is wrong, naming the file (the message without code and fix).</summary>
    public string Reason { get; }

    /// <summary>What to do about it.</summary>
    public string Fix { get; }

    public InputFileProblem Problem { get; }

    /// <summary>The file as it was named.</summary>
    public string Path { get; }

    /// <summary>SB1700, SB1701 or SB1702.</summary>
    public string Code => CodeOf(Problem);

    private static string CodeOf(InputFileProblem problem) => problem switch
    {
        InputFileProblem.NotRegularFile => "SB1700",
        InputFileProblem.TooLarge => "SB1701",
        _ => "SB1702",
    };
}
