using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Locking;

/// <summary>
/// The per-user memory of package and pack folders that passed verification, outside every obj/ folder: a clean build
/// (<c>git clean -xdf</c>, a fresh clone) finds here what an earlier build of any repository verified, and confirms a
/// folder by lstat of its recorded entries instead of re-hashing the package. One small file per folder, named by the
/// SHA-256 of the folder's key, holding the same entry <see cref="PackageVerificationState"/> keeps in obj/.
/// <para>
/// It is trusted exactly as far as the obj/ state is: an entry answers only when the folder's fingerprint (every entry's
/// type, size, inode, device, mtime and ctime, and the content hashes expected of it) is the one recorded when it passed;
/// any write to the folder after that changes a ctime, which no process can set back, and the folder is verified again
/// in full. Only folders that passed are written; a failure deletes the folder's file. A missing, unreadable, foreign or
/// damaged file is no entry. Writes are atomic (temp file and rename), so concurrent builds cannot leave half a file.
/// </para>
/// </summary>
public sealed class UserVerificationStore
{
    private const string Header = "securebuild-verified-folder 1";

    public UserVerificationStore(string directory) => Directory = Path.GetFullPath(directory);

    /// <summary>Where the entries are.</summary>
    public string Directory { get; }

    /// <summary>
    /// The default place: <c>$XDG_CACHE_HOME/securebuild/verified-folders</c>, else <c>~/.cache/securebuild/verified-folders</c>;
    /// on Windows <c>%LOCALAPPDATA%\SecureBuild\verified-folders</c>. Null when no home directory is known.
    /// </summary>
    public static string? DefaultDirectory(Func<string, string?> environment)
    {
        if (Path.DirectorySeparatorChar == '\\')
        {
            var local = environment("LOCALAPPDATA");
            return string.IsNullOrWhiteSpace(local) ? null : Path.Combine(local!, "SecureBuild", "verified-folders");
        }
        return IO.UserCache.Root(environment) is { } root ? Path.Combine(root, "securebuild", "verified-folders") : null;
    }

    /// <summary>The file that holds <paramref name="key"/>'s entry.</summary>
    public string FileOf(string key) => Path.Combine(Directory, Crypto.Sha256Hex.Of(key).Substring(0, 40) + ".entry");

    /// <summary>The entry that passed for <paramref name="key"/> (a folder, or "tree:" and a folder), or null.</summary>
    public PackageVerificationState.Entry? Read(string key)
    {
        try
        {
            var file = FileOf(key);
            if (!File.Exists(file))
            {
                return null;
            }
            var text = InputFile.ReadAllText(file, InputKind.Cache);
            var newline = text.IndexOf('\n');
            if (newline < 0 || !string.Equals(text.Substring(0, newline), Header, StringComparison.Ordinal))
            {
                return null;
            }
            var line = text.Substring(newline + 1).TrimEnd('\n');
            // The key is in the line: two keys whose hashes share a file name never answer for each other.
            return PackageVerificationState.TryParseLine(line, out var recordedKey, out var entry) && string.Equals(recordedKey, key, StringComparison.Ordinal)
                ? entry
                : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Remembers that <paramref name="key"/> passed as <paramref name="entry"/> says; a failure to write is only a lost cache entry.</summary>
    public void Write(string key, PackageVerificationState.Entry entry)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var text = Header + "\n" + PackageVerificationState.FormatLine(key, entry);
            AtomicFile.WriteAllBytes(FileOf(key), new UTF8Encoding(false).GetBytes(text));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Forgets <paramref name="key"/> (it failed, or changed while it was looked at).</summary>
    public void Delete(string key)
    {
        try
        {
            File.Delete(FileOf(key));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
        }
    }
}
