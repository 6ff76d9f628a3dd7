using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Crypto;

/// <summary>Lowercase hex SHA-256 of bytes, of a string's UTF-8 bytes, or of a file's contents.</summary>
public static class Sha256Hex
{
    public static string Of(byte[] bytes)
    {
        using var sha = SHA256.Create();
        return Hex.Encode(sha.ComputeHash(bytes));
    }

    /// <summary>Of the UTF-8 bytes of <paramref name="text"/> (no byte order mark).</summary>
    public static string Of(string text) => Of(new UTF8Encoding(false).GetBytes(text));

    public static string OfFile(string path)
    {
        using var sha = SHA256.Create();
        InputFile.Hash(path, InputKind.Artifact, null, sha);
        return Hex.Encode(sha.Hash!);
    }
}
