namespace SecureBuild.Core.Crypto;

/// <summary>The key types in-toto 1.x / securesystemslib use.</summary>
public enum KeyType
{
    /// <summary>keytype "ed25519", scheme "ed25519".</summary>
    Ed25519,

    /// <summary>keytype "ecdsa", scheme "ecdsa-sha2-nistp256" (NIST P-256, SHA-256, DER signatures).</summary>
    Ecdsa,

    /// <summary>keytype "rsa", scheme "rsassa-pss-sha256" (PSS, MGF1-SHA256, salt 32).</summary>
    Rsa,
}
