using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Tasks;

/// <summary>
/// The MSBuild side of <see cref="Core.Crypto.SigningKeyResolver"/>, which decides which key signs: this logs what it
/// found (the SB error, or the development-key warning once per build and node) for the tasks that sign.
/// </summary>
internal static class SigningKeyResolver
{
    private const string WarnedKey = "SecureBuild.DevelopmentKeyWarned";

    /// <summary>The signing key, or null after logging the error that says why there is none.</summary>
    public static SigningKey? Resolve(string? signingKey, string? developmentKeyFile, bool requireSigningKey, IBuildEngine engine, TaskLoggingHelper log)
    {
        var resolution = Core.Crypto.SigningKeyResolver.Resolve(signingKey, developmentKeyFile, requireSigningKey);
        if (resolution.Key is null)
        {
            log.LogError(null, resolution.ErrorCode, null, null, 0, 0, 0, 0, resolution.Error);
            return null;
        }
        if (resolution.DevelopmentKeyWarning is { } warning)
        {
            WarnOnce(engine, log, warning);
        }
        return resolution.Key;
    }

    /// <inheritdoc cref="Core.Crypto.SigningKeyResolver.ExistingKeyFile"/>
    public static string? ExistingKeyFile(string? signingKey, string? developmentKeyFile, bool requireSigningKey) =>
        Core.Crypto.SigningKeyResolver.ExistingKeyFile(signingKey, developmentKeyFile, requireSigningKey);

    /// <summary>The warning (once per build and node) that links are signed with the existing development key.</summary>
    public static void WarnDevelopmentKeyUsed(IBuildEngine engine, TaskLoggingHelper log, string path, string keyId) =>
        WarnOnce(engine, log, Core.Crypto.SigningKeyResolver.DevelopmentKeyUsedMessage(path, keyId));

    private static void WarnOnce(IBuildEngine buildEngine, TaskLoggingHelper log, string message)
    {
        if (!BuildState.FirstTime(buildEngine, WarnedKey))
        {
            log.LogMessage(MessageImportance.Low, message);
            return;
        }
        log.LogWarning(null, Core.Crypto.SigningKeyResolver.DevelopmentKeyUsed, null, null, 0, 0, 0, 0, message);
    }
}
