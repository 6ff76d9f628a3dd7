using System.Security.Cryptography;
using NuGet.Packaging;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>The digests an attestation's subject is matched with (provenance verify, inspect --verify-attestation).</summary>
internal static class ArtifactDigests
{
    /// <summary>sha256 and sha512 of the file; for a signed .nupkg, sha512 is NuGet's content hash (the package without its signature).</summary>
    public static Dictionary<string, string> Of(string path)
    {
        using var sha256 = SHA256.Create();
        using var sha512 = SHA512.Create();
        InputFile.Hash(path, InputKind.Artifact, null, sha256, sha512);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sha256"] = Hex.Encode(sha256.Hash!),
            ["sha512"] = Hex.Encode(sha512.Hash!),
        };
        if (path.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = InputFile.OpenRead(path, InputKind.Artifact);
            using (Core.Archives.ArchiveReader.Open(stream, path, leaveOpen: true))
            {
                // names and declared sizes checked before NuGet reads the package
            }

            stream.Position = 0;
            using var reader = new PackageArchiveReader(stream);
            var contentHash = reader.GetContentHash(CancellationToken.None);
            digests["sha512"] = Hex.Encode(Convert.FromBase64String(contentHash));
        }
        return digests;
    }
}
