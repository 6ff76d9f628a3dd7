using Microsoft.Build.Framework;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Tasks;

/// <summary>
/// SecureBuildSigning=keyless for one step: reads the settings the targets pass as <c>SigningSettings</c> items
/// (ItemSpec = setting name without the SecureBuild prefix, metadata Value), and on the first signature acquires the
/// identity token and starts a <see cref="KeylessSigner"/> (one Fulcio certificate per step). Everything that decides
/// lives in Core; this only translates. <see cref="Dispose"/> drops the ephemeral key.
/// </summary>
internal sealed class KeylessSigning : IDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly Action<string, string> _warn;
    private BoundedHttp? _http;
    private KeylessSigner? _signer;

    private KeylessSigning(Dictionary<string, string> settings, Action<string, string> warn)
    {
        _settings = settings;
        _warn = warn;
    }

    /// <summary>The settings' mode: null for key signing, a session for keyless.</summary>
    /// <exception cref="KeylessException">SB5050: SecureBuildSigning is neither key nor keyless.</exception>
    public static KeylessSigning? For(ITaskItem[] settings, Action<string, string> warn)
    {
        var map = settings.GroupBy(i => i.ItemSpec, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last().GetMetadata("Value").Trim(), StringComparer.OrdinalIgnoreCase);
        string mode = map.TryGetValue("Signing", out var m) ? m.ToLowerInvariant() : string.Empty;
        return mode switch
        {
            "" or "key" => null,
            "keyless" => new KeylessSigning(map, warn),
            _ => throw new KeylessException(KeylessException.BadSetting, $"SecureBuildSigning '{m}' is not 'key' or 'keyless'", "Set SecureBuildSigning to key (the default: SecureBuildSigningKey or the development key) or keyless (a Fulcio certificate for the CI's identity)."),
        };
    }

    /// <summary>The mode for fingerprints: a switch between key and keyless re-signs the step.</summary>
    public static string Describe(ITaskItem[] settings) =>
        string.Join(";", settings.OrderBy(i => i.ItemSpec, StringComparer.Ordinal).Select(i => i.ItemSpec + "=" + i.GetMetadata("Value")));

    /// <summary>HTTP requests made so far (token request excluded).</summary>
    public int RoundTrips => _signer?.RoundTrips ?? 0;

    public string? Identity => _signer?.Certificate.Identities.FirstOrDefault();

    public SigstoreBundle SignDsse(string payloadType, byte[] payload)
    {
        var made = Signer().SignDsse(payloadType, payload);
        if (made.Warning is not null)
        {
            _warn(made.WarningCode, made.Warning);
        }

        return made.Bundle;
    }

    /// <summary>Signs a file's bytes (a .nupkg) into <c>&lt;file&gt;.sigstore.json</c> beside it, as cosign sign-blob --bundle.</summary>
    public string SignFile(string path)
    {
        var made = Signer().SignArtifact(File.ReadAllBytes(path));
        if (made.Warning is not null)
        {
            _warn(made.WarningCode, made.Warning);
        }

        string bundlePath = path + SigstoreBundleWriter.FileSuffix;
        SigstoreBundleWriter.Save(made.Bundle, bundlePath);
        return bundlePath;
    }

    public void Dispose()
    {
        _signer?.Dispose();
        _http?.Dispose();
    }

    private KeylessSigner Signer()
    {
        if (_signer is not null)
        {
            return _signer;
        }

        var settings = KeylessSettings.From(Get("FulcioUrl"), Get("RekorUrl"), Get("TimestampUrl"), Get("TransparencyLog"), Get("TrustedRoot"));
        _http = new BoundedHttp(settings.RequestTimeout);
        var token = IdentityTokenSource.Acquire(Get("IdentityTokenFile"), Environment.GetEnvironmentVariable, _http, DateTimeOffset.UtcNow);
        _signer = KeylessSigner.Start(settings, token, _http);
        return _signer;
    }

    private string? Get(string name) => _settings.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
}
