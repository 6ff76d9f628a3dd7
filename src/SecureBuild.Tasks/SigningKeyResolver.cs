using System.Collections.Concurrent;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Tasks;

/// <summary>
/// Finds the key links are signed with: SecureBuildSigningKey when set, otherwise a per-user
/// development key created on first use (with a warning saying so, once per build and node).
/// Loaded keys are kept for the life of the MSBuild node, keyed by path and content.
/// </summary>
internal static class SigningKeyResolver
{
    private static readonly ConcurrentDictionary<string, SigningKey> Loaded = new(StringComparer.Ordinal);
    private const string WarnedKey = "SecureBuild.DevelopmentKeyWarned";

    public static SigningKey? Resolve(string? signingKey, string? developmentKeyFile, bool requireSigningKey, IBuildEngine engine, TaskLoggingHelper log)
    {
        try
        {
            if (!string.IsNullOrWhiteSpace(signingKey))
            {
                return Load(Path.GetFullPath(signingKey!.Trim()));
            }
            if (requireSigningKey)
            {
                log.LogError(null, "SB1007", null, null, 0, 0, 0, 0,
                    "No signing key is configured and SecureBuildRequireSigningKey is true. Set SecureBuildSigningKey (MSBuild property or environment variable) to a private key file; create one with `securebuild keygen --type ed25519 -o build.key`.");
                return null;
            }
            var path = string.IsNullOrWhiteSpace(developmentKeyFile) ? DefaultDevelopmentKeyFile() : Path.GetFullPath(developmentKeyFile!.Trim());
            var created = EnsureDevelopmentKey(path);
            var key = Load(path);
            if (created)
            {
                WarnOnce(engine, log, $"SecureBuild created a development signing key at {path} (keyid {key.KeyId.Substring(0, 8)}) and signed this build's links with it. It proves nothing to anyone else: set SecureBuildSigningKey to your build key for builds you publish.");
            }
            else
            {
                WarnDevelopmentKeyUsed(engine, log, path, key.KeyId);
            }
            return key;
        }
        catch (KeyFormatException e)
        {
            var property = string.IsNullOrWhiteSpace(signingKey) ? "SecureBuildDevelopmentKeyFile" : "SecureBuildSigningKey";
            log.LogError(null, e.Code, null, null, 0, 0, 0, 0, $"{property}: {e.Message} {e.Fix}");
            return null;
        }
    }

    /// <summary>
    /// The key file <see cref="Resolve"/> would load, without loading it; null when Resolve has more to do
    /// than load an existing key (report a missing key, create or repair the development key).
    /// </summary>
    public static string? ExistingKeyFile(string? signingKey, string? developmentKeyFile, bool requireSigningKey)
    {
        if (!string.IsNullOrWhiteSpace(signingKey))
        {
            return Path.GetFullPath(signingKey!.Trim());
        }
        if (requireSigningKey)
        {
            return null;
        }
        try
        {
            var path = string.IsNullOrWhiteSpace(developmentKeyFile) ? DefaultDevelopmentKeyFile() : Path.GetFullPath(developmentKeyFile!.Trim());
            return File.Exists(path) && File.Exists(path + ".pub") ? path : null;
        }
        catch (KeyFormatException)
        {
            return null;
        }
    }

    /// <summary>The warning (once per build and node) that links are signed with the existing development key.</summary>
    public static void WarnDevelopmentKeyUsed(IBuildEngine engine, TaskLoggingHelper log, string path, string keyId) =>
        WarnOnce(engine, log, $"SecureBuild signed this build's links with the development key at {path} (keyid {keyId.Substring(0, 8)}). It proves nothing to anyone else: set SecureBuildSigningKey to your build key for builds you publish.");

    private static void WarnOnce(IBuildEngine buildEngine, TaskLoggingHelper log, string message)
    {
        if (!BuildState.FirstTime(buildEngine, WarnedKey))
        {
            log.LogMessage(MessageImportance.Low, message);
            return;
        }
        log.LogWarning(null, "SB2001", null, null, 0, 0, 0, 0, message);
    }

    private static SigningKey Load(string path)
    {
        // Keyed by content, not size and time: a key file replaced by another key of the same size within
        // the time granularity must not keep signing with the old key. Reading a key file is cheap; parsing is not.
        var before = ReadBytes(path);
        var cacheKey = before is null ? null : path + "|" + Core.Crypto.Sha256Hex.Of(before);
        if (cacheKey is not null && Loaded.TryGetValue(cacheKey, out var cached))
        {
            return cached;
        }
        var key = SigningKey.Load(path);
        var after = ReadBytes(path);
        if (cacheKey is not null && after is not null && after.SequenceEqual(before!))
        {
            Loaded[cacheKey] = key;
        }
        return key;
    }

    private static byte[]? ReadBytes(string path)
    {
        try
        {
            return File.Exists(path) ? Core.IO.InputFile.ReadAllBytes(path, Core.IO.InputKind.Key) : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null; // SigningKey.Load reports it
        }
    }

    internal static string DefaultDevelopmentKeyFile()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetEnvironmentVariable("HOME") ?? "";
        }
        if (string.IsNullOrEmpty(home))
        {
            throw new KeyFormatException("SB1008", "SecureBuild found no signing key and no home directory to keep a development key in.",
                "Set SecureBuildSigningKey to a private key file, or SecureBuildDevelopmentKeyFile to where the development key may be created.");
        }
        return Path.Combine(home, ".securebuild", "development-key");
    }

    /// <summary>Creates the development key (ed25519) unless it exists; true when this call created it.</summary>
    internal static bool EnsureDevelopmentKey(string path)
    {
        if (File.Exists(path))
        {
            if (!File.Exists(path + ".pub"))
            {
                // A build stopped between creating the key and writing its public half: restore it.
                AtomicFile.WriteAllBytes(path + ".pub", new System.Text.UTF8Encoding(false).GetBytes(SigningKey.Load(path).ExportPublic()));
            }
            return false;
        }
        var directory = Path.GetDirectoryName(path)!;
        CreatePrivateDirectory(directory);
        var key = SigningKey.Generate(KeyType.Ed25519);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            WriteOwnerOnly(temp, new System.Text.UTF8Encoding(false).GetBytes(key.ExportPrivate()));
            if (!TryPublishNew(temp, path))
            {
                return false; // another build node won the race: keep its key, never overwrite
            }
            AtomicFile.WriteAllBytes(path + ".pub", new System.Text.UTF8Encoding(false).GetBytes(key.ExportPublic()));
            return true;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Gives the complete file <paramref name="temp"/> the name <paramref name="path"/> unless that exists (then false).</summary>
    private static bool TryPublishNew(string temp, string path)
    {
#if NET
        // On Unix File.Move checks that the target is absent and then rename()s, which silently replaces
        // a key another thread or node created in between. link() creates the name atomically or fails.
        if (!OperatingSystem.IsWindows())
        {
            if (link(temp, path) == 0)
            {
                return true;
            }
            if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == EEXIST)
            {
                return false;
            }
            // No hard links on this file system: fall back to File.Move.
        }
#endif
        try
        {
            File.Move(temp, path); // on Windows (MoveFileEx without REPLACE_EXISTING) this never overwrites
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

#if NET
    private const int EEXIST = 17; // Linux, macOS and the BSDs

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int link(string oldPath, string newPath);
#endif

    private static void CreatePrivateDirectory(string directory)
    {
#if NET
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return;
        }
#endif
        Directory.CreateDirectory(directory);
    }

    /// <summary>Creates <paramref name="file"/> readable by its owner only (on Unix, from the first byte).</summary>
    private static void WriteOwnerOnly(string file, byte[] bytes)
    {
#if NET
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var stream = new FileStream(file, options);
#else
        using var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write);
#endif
        stream.Write(bytes, 0, bytes.Length);
        stream.Flush(true);
    }
}
