using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Core.Crypto;

/// <summary>
/// A key file could not be used. <see cref="CodedException.Code"/> is a stable diagnostic code, <see cref="Exception.Message"/>
/// names the file and says what was wrong, <see cref="CodedException.Fix"/> is one sentence telling the user what to do.
/// Messages never contain private key material.
/// </summary>
public sealed class KeyFormatException : CodedException
{
    /// <summary>SB1001: the key file does not exist.</summary>
    public const string NotFound = "SB1001";

    /// <summary>SB1002: the key file exists but cannot be read (I/O error, permissions, a directory).</summary>
    public const string Unreadable = "SB1002";

    /// <summary>SB1003: a public key was given where a private key is required.</summary>
    public const string PublicKeyGiven = "SB1003";

    /// <summary>SB1004: unsupported key type, curve, size, format or scheme.</summary>
    public const string Unsupported = "SB1004";

    /// <summary>SB1005: malformed PEM or JSON key.</summary>
    public const string Malformed = "SB1005";

    /// <summary>SB1006: the private key is encrypted.</summary>
    public const string Encrypted = "SB1006";

    /// <summary>SB1703: a private key was given where only a public key belongs (a layout or verification key).</summary>
    public const string PrivateKeyGiven = "SB1703";

    public KeyFormatException(string code, string message, string fix, Exception? innerException = null)
        : base(code, message, fix, innerException)
    {
    }
}
