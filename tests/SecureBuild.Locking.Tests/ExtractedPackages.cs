using System.IO.Compression;
using System.Security.Cryptography;

namespace SecureBuild.Locking.Tests;

/// <summary>Packages extracted into a packages folder as NuGet does it, for the tests of what runs after restore.</summary>
internal static class ExtractedPackages
{
    /// <summary>NuGet's content hash of a .nupkg (base64 SHA-512 of its bytes).</summary>
    public static string ContentHash(string nupkg) => Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(nupkg)));

    /// <summary>
    /// <paramref name="id"/> <paramref name="version"/> with one file lib/a.dll, extracted under <paramref name="packages"/>
    /// (its .nupkg, .sha512 and .nupkg.metadata beside it, every file an hour old); returns its content hash.
    /// </summary>
    public static string Extract(string packages, string id, string version)
    {
        var dir = Path.Combine(packages, id.ToLowerInvariant(), version);
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        var nupkg = Path.Combine(dir, $"{id.ToLowerInvariant()}.{version}.nupkg");
        using (var zip = ZipFile.Open(nupkg, ZipArchiveMode.Create))
        {
            using var writer = new StreamWriter(zip.CreateEntry("lib/a.dll").Open());
            writer.Write(id);
        }
        File.WriteAllText(Path.Combine(dir, "lib", "a.dll"), id);
        File.WriteAllText(nupkg + ".sha512", "x");
        File.WriteAllText(Path.Combine(dir, ".nupkg.metadata"), $"{{\"version\": 2, \"contentHash\": \"{ContentHash(nupkg)}\", \"source\": \"x\"}}");
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        }
        return ContentHash(nupkg);
    }
}
