namespace SecureBuild.Core.Sigstore;

/// <summary>
/// A Sigstore bundle or trusted root is malformed (not JSON, unknown media type, a required field missing, invalid
/// base64, a trust-root interval without its start, ...). The message names the JSON path and what was wrong.
/// </summary>
public class SigstoreFormatException : Exception
{
    public SigstoreFormatException(string message)
        : base(message)
    {
    }

    public SigstoreFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
