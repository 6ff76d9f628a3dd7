using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Locking;

/// <summary>
/// A digest of a folder's files, independent of where the folder is: SHA-256 over the sorted list of
/// "&lt;relative path&gt;\0&lt;SHA-256 of the content&gt;\n". Used for targeting packs, which the SDK
/// installs as folders without their .nupkg. Cached with <see cref="PackageVerificationState"/> by
/// the folder's fingerprint.
/// </summary>
public static class DirectoryTreeDigest
{
    /// <param name="directory">The folder (a targeting pack).</param>
    /// <param name="state">Fingerprints of folders hashed before, by earlier builds.</param>
    /// <param name="confirmed">What this build already confirmed: a pack confirmed once is not listed again in the same build.</param>
    public static (string Sha256, int Files) Compute(string directory, PackageVerificationState state, ConfirmedFolders? confirmed = null)
    {
        var root = new DirectoryInfo(directory);
        var key = "tree:" + root.FullName;
        if (confirmed is not null && state.Get(key) is { } known && confirmed.Confirms(key, known) && Parse(known) is { } answer)
        {
            state.Keep(key, known);
            return answer;
        }
        var files = root.EnumerateFiles("*", SearchOption.AllDirectories)
            .Select(f => (Relative: f.FullName.Substring(root.FullName.Length).Replace('\\', '/').TrimStart('/'), Info: f))
            .OrderBy(f => f.Relative, StringComparer.Ordinal).ToList();
        var listing = new StringBuilder();
        foreach (var (relative, info) in files)
        {
            listing.Append(relative).Append('\t').Append(info.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        var fingerprint = Crypto.Sha256Hex.Of(listing.ToString());
        var cached = state.Get(key);
        if (cached is not null && cached.Fingerprint == fingerprint && Parse(cached) is { } unchanged)
        {
            state.Keep(key, cached);
            confirmed?.Add(key, cached);
            return unchanged;
        }
        var text = new StringBuilder();
        using (var sha = SHA256.Create())
        {
            foreach (var (relative, info) in files)
            {
                InputFile.Hash(info.FullName, InputKind.Artifact, null, sha);
                text.Append(relative).Append('\0').Append(Crypto.Hex.Encode(sha.Hash!)).Append('\n');
            }
        }
        var digest = Crypto.Sha256Hex.Of(text.ToString());
        var entry = new PackageVerificationState.Entry(fingerprint, digest + ":" + files.Count.ToString(CultureInfo.InvariantCulture), null);
        state.Set(key, entry);
        confirmed?.Add(key, entry);
        return (digest, files.Count);
    }

    private static (string Sha256, int Files)? Parse(PackageVerificationState.Entry entry)
    {
        var parts = entry.ContentHash.Split(':');
        return parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? (parts[0], count) : null;
    }
}
