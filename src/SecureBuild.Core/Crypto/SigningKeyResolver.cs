using System.Collections.Concurrent;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Crypto;

/// <summary>How a resolved signing key came about.</summary>
public enum SigningKeySource
{
    /// <summary>The configured key (SecureBuildSigningKey).</summary>
    Configured,

    /// <summary>The per-user development key, created by this call.</summary>
    DevelopmentKeyCreated,

    /// <summary>The per-user development key, which existed already.</summary>
    DevelopmentKeyExisting,
}

/// <summary>The key links are signed with, or why there is none.</summary>
public sealed class SigningKeyResolution
{
    private SigningKeyResolution(SigningKey? key, string? keyFile, SigningKeySource source, string? errorCode, string? error)
    {
        Key = key;
        KeyFile = keyFile;
        Source = source;
        ErrorCode = errorCode;
        Error = error;
    }

    /// <summary>The key; null when <see cref="Error"/> says why there is none.</summary>
    public SigningKey? Key { get; }

    /// <summary>The file the key was loaded from.</summary>
    public string? KeyFile { get; }

    public SigningKeySource Source { get; }

    /// <summary>The SB code of <see cref="Error"/>.</summary>
    public string? ErrorCode { get; }

    /// <summary>Cause and fix, ready to log; null when there is a key.</summary>
    public string? Error { get; }

    /// <summary>
    /// For a development key: the warning that it signed the links (SB2001), which a build shows once; null for a
    /// configured key.
    /// </summary>
    public string? DevelopmentKeyWarning => Key is null ? null : Source switch
    {
        SigningKeySource.DevelopmentKeyCreated => SigningKeyResolver.DevelopmentKeyCreatedMessage(KeyFile!, Key.KeyId),
        SigningKeySource.DevelopmentKeyExisting => SigningKeyResolver.DevelopmentKeyUsedMessage(KeyFile!, Key.KeyId),
        _ => null,
    };

    internal static SigningKeyResolution Found(SigningKey key, string file, SigningKeySource source) => new(key, file, source, null, null);

    internal static SigningKeyResolution Failed(string code, string error, SigningKeySource source) => new(null, null, source, code, error);
}

/// <summary>
/// Finds the key links are signed with: SecureBuildSigningKey when set, otherwise a per-user development key (ed25519)
/// created on first use. Loaded keys are kept for the life of the process (an MSBuild node builds many projects),
/// keyed by path and content.
/// </summary>
public static class SigningKeyResolver
{
    /// <summary>SB1007: SecureBuildRequireSigningKey is true and no key is configured.</summary>
    public const string SigningKeyRequired = "SB1007";

    /// <summary>SB2001 (warning): the links were signed with the development key.</summary>
    public const string DevelopmentKeyUsed = "SB2001";

    private static readonly ConcurrentDictionary<string, SigningKey> Loaded = new(StringComparer.Ordinal);

    /// <summary>
    /// The configured key (<paramref name="signingKey"/>), else an error when one is required, else the development
    /// key at <paramref name="developmentKeyFile"/> (default: ~/.securebuild/development-key), created when missing.
    /// Never throws for a bad or missing key: the resolution carries the SB code, cause and fix.
    /// </summary>
    public static SigningKeyResolution Resolve(string? signingKey, string? developmentKeyFile, bool requireSigningKey)
    {
        var source = string.IsNullOrWhiteSpace(signingKey) ? SigningKeySource.DevelopmentKeyExisting : SigningKeySource.Configured;
        try
        {
            if (source == SigningKeySource.Configured)
            {
                var file = Path.GetFullPath(signingKey!.Trim());
                return SigningKeyResolution.Found(Load(file), file, source);
            }

            if (requireSigningKey)
            {
                return SigningKeyResolution.Failed(SigningKeyRequired,
                    "No signing key is configured and SecureBuildRequireSigningKey is true. Set SecureBuildSigningKey (MSBuild property or environment variable) to a private key file; create one with `securebuild keygen --type ed25519 -o build.key`.",
                    source);
            }

            var path = DevelopmentKeyPath(developmentKeyFile);
            var created = EnsureDevelopmentKey(path);
            return SigningKeyResolution.Found(Load(path), path, created ? SigningKeySource.DevelopmentKeyCreated : SigningKeySource.DevelopmentKeyExisting);
        }
        catch (KeyFormatException e)
        {
            var property = source == SigningKeySource.Configured ? "SecureBuildSigningKey" : "SecureBuildDevelopmentKeyFile";
            return SigningKeyResolution.Failed(e.Code, $"{property}: {e.Message} {e.Fix}", source);
        }
    }

    /// <summary>
    /// The key file <see cref="Resolve"/> would load, without loading it; null when Resolve has more to do than load
    /// an existing key (report a missing key, create or repair the development key).
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
            var path = DevelopmentKeyPath(developmentKeyFile);
            return File.Exists(path) && File.Exists(path + ".pub") ? path : null;
        }
        catch (KeyFormatException)
        {
            return null;
        }
    }

    /// <summary>The SB2001 text for a development key this build created.</summary>
    public static string DevelopmentKeyCreatedMessage(string path, string keyId) =>
        $"SecureBuild created a development signing key at {path} (keyid {keyId.Substring(0, 8)}) and signed this build's links with it. It proves nothing to anyone else: set SecureBuildSigningKey to your build key for builds you publish.";

    /// <summary>The SB2001 text for an existing development key.</summary>
    public static string DevelopmentKeyUsedMessage(string path, string keyId) =>
        $"SecureBuild signed this build's links with the development key at {path} (keyid {keyId.Substring(0, 8)}). It proves nothing to anyone else: set SecureBuildSigningKey to your build key for builds you publish.";

    /// <summary>~/.securebuild/development-key.</summary>
    /// <exception cref="KeyFormatException">SB1008: there is no home directory.</exception>
    public static string DefaultDevelopmentKeyFile()
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

    /// <summary>
    /// Creates the development key (ed25519, readable by the owner only, in a directory that is private when this
    /// creates it) unless it exists; true when this call created it. Concurrent callers (threads or build nodes)
    /// agree on one key: the first to publish it wins and it is never replaced. A missing public half is restored.
    /// </summary>
    public static bool EnsureDevelopmentKey(string path)
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
        PrivateFile.CreateDirectory(directory);
        var key = SigningKey.Generate(KeyType.Ed25519);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            PrivateFile.WriteNew(temp, new System.Text.UTF8Encoding(false).GetBytes(key.ExportPrivate()));
            if (!PrivateFile.TryPublishNew(temp, path))
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

    private static string DevelopmentKeyPath(string? developmentKeyFile) =>
        string.IsNullOrWhiteSpace(developmentKeyFile) ? DefaultDevelopmentKeyFile() : Path.GetFullPath(developmentKeyFile!.Trim());

    private static SigningKey Load(string path)
    {
        // Keyed by content, not size and time: a key file replaced by another key of the same size within the time
        // granularity must not keep signing with the old key. Reading a key file is cheap; parsing is not.
        var before = ReadBytes(path);
        var cacheKey = before is null ? null : path + "|" + Sha256Hex.Of(before);
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
            return File.Exists(path) ? InputFile.ReadAllBytes(path, InputKind.Key) : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null; // SigningKey.Load reports it
        }
    }
}
