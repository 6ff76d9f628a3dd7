namespace SecureBuild.Core.Json;

/// <summary>
/// Malformed JSON (from <see cref="JsonParser"/>) or a value that cannot be serialized
/// (for example a float or a lone surrogate given to <see cref="CanonicalJson"/>).
/// </summary>
public class JsonFormatException : Exception
{
    public JsonFormatException(string message)
        : base(message)
    {
    }

    public JsonFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal JsonFormatException(string reason, long offset, int line, int column)
        : base($"Invalid JSON at line {line}, column {column} (byte offset {offset}): {reason}")
    {
        Reason = reason;
        Offset = offset;
        Line = line;
        Column = column;
    }

    /// <summary>What was wrong, without the position prefix.</summary>
    public string? Reason { get; }

    /// <summary>Zero-based byte offset into the UTF-8 input, or -1 when the error did not come from parsing.</summary>
    public long Offset { get; } = -1;

    /// <summary>One-based line of the error (0 when not from parsing).</summary>
    public int Line { get; }

    /// <summary>One-based column of the error, counted in bytes (0 when not from parsing).</summary>
    public int Column { get; }
}
