namespace SecureBuild.Core.Attestation;

/// <summary>
/// A DSSE envelope or in-toto Statement is malformed: not JSON, a required field missing or of the wrong type,
/// invalid base64, no signatures, a wrong <c>_type</c>. The message names the JSON path and what was wrong.
/// </summary>
public class AttestationFormatException : Exception
{
    public AttestationFormatException(string message)
        : base(message)
    {
    }

    public AttestationFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
