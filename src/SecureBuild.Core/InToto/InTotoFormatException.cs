namespace SecureBuild.Core.InToto;

/// <summary>in-toto metadata with the wrong shape: wrong _type, missing/extra fields, wrong value types.</summary>
public class InTotoFormatException : Exception
{
    public InTotoFormatException(string message)
        : base(message)
    {
    }

    public InTotoFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
