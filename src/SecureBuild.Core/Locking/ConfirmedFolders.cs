using System.Collections.Concurrent;
using System.Text;

namespace SecureBuild.Core.Locking;

/// <summary>
/// The package and pack folders one build has already confirmed against their <see cref="PackageVerificationState"/>
/// entry (by lstat, by listing, or by verifying them in full), with what was expected of them. A multi-targeted
/// project verifies the same folders once per target framework; within one build the later frameworks take the first
/// answer instead of looking at every file again.
/// <para>
/// It holds one build's snapshot and nothing more: the caller keeps it for one build (the tasks register it with the
/// build engine for the build's lifetime), so the next build looks at the disk again. Only folders that passed are
/// kept; a failure is verified and reported again by every framework. An answer counts only for the same folder, the
/// same expected content hashes (from project.assets.json and the lock) and the same state entry.
/// </para>
/// </summary>
public sealed class ConfirmedFolders
{
    private readonly ConcurrentDictionary<string, PackageVerificationState.Entry> _confirmed = new(StringComparer.Ordinal);

    /// <summary>How many folders are confirmed.</summary>
    public int Count => _confirmed.Count;

    /// <summary>The key of a package folder: the folder and every content hash expected of it, in order.</summary>
    public static string KeyOf(PackageToVerify package)
    {
        var key = new StringBuilder(package.Directory).Append('\0').Append(package.Key);
        foreach (var expected in package.ExpectedContentHashes)
        {
            key.Append('\0').Append(expected.Key).Append('=').Append(expected.Value);
        }
        return key.ToString();
    }

    /// <summary>True when this build confirmed <paramref name="key"/> with the same entry (fingerprint and content hash).</summary>
    public bool Confirms(string key, PackageVerificationState.Entry entry) =>
        _confirmed.TryGetValue(key, out var confirmed) &&
        string.Equals(confirmed.Fingerprint, entry.Fingerprint, StringComparison.Ordinal) &&
        string.Equals(confirmed.ContentHash, entry.ContentHash, StringComparison.Ordinal) &&
        string.Equals(confirmed.Signature, entry.Signature, StringComparison.Ordinal);

    /// <summary>Records that the folder under <paramref name="key"/> holds as <paramref name="entry"/> says.</summary>
    public void Add(string key, PackageVerificationState.Entry entry) => _confirmed[key] = entry;

    /// <summary>Forgets a folder (it failed, or it changed while this build looked at it).</summary>
    public void Remove(string key) => _confirmed.TryRemove(key, out _);
}
