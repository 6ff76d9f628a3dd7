using Microsoft.Build.Framework;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Tasks;

/// <summary>
/// Certificate signing for one step (SecureBuildSigning=keyless or spiffe; key signing needs none of this). Keyless: reads the settings the targets pass as <c>SigningSettings</c> items
/// (ItemSpec = setting name without the SecureBuild prefix, metadata Value), and on the first signature acquires the
/// identity token and starts a <see cref="KeylessSigner"/> (one Fulcio certificate per step). Everything that decides
/// lives in Core; this only translates. <see cref="Dispose"/> drops the ephemeral key.
/// SecureBuildSigning=spiffe signs the same bundles with the workload's X.509-SVID instead (<see cref="SvidSigner"/>):
/// from the files SvidFile, SvidKeyFile and SvidBundleFile (what <c>securebuild svid fetch</c> writes), else from the
/// SPIFFE Workload API (SpiffeEndpoint, else $SPIFFE_ENDPOINT_SOCKET), fetched once per step, when it first signs;
/// with TimestampUrl, each SVID signature also carries an RFC 3161 timestamp.
/// </summary>
internal sealed class CertificateSigning : ICertificateSigner, IDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly Action<string, string> _warn;
    private BoundedHttp? _http;
    private readonly bool _spiffe;
    private KeylessSigner? _signer;
    private SvidSigner? _svid;
    private string _svidSource = "";

    private CertificateSigning(Dictionary<string, string> settings, Action<string, string> warn, bool spiffe)
    {
        _settings = settings;
        _warn = warn;
        _spiffe = spiffe;
    }

    /// <summary>The settings' mode: null for key signing, a session for keyless or spiffe.</summary>
    /// <exception cref="KeylessException">SB5050: SecureBuildSigning is neither key, keyless nor spiffe.</exception>
    public static CertificateSigning? For(ITaskItem[] settings, Action<string, string> warn)
    {
        var map = settings.GroupBy(i => i.ItemSpec, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last().GetMetadata("Value").Trim(), StringComparer.OrdinalIgnoreCase);
        string mode = map.TryGetValue("Signing", out var m) ? m.ToLowerInvariant() : string.Empty;
        return mode switch
        {
            "" or "key" => null,
            "keyless" => new CertificateSigning(map, warn, spiffe: false),
            "spiffe" => new CertificateSigning(map, warn, spiffe: true),
            _ => throw new KeylessException(KeylessException.BadSetting, $"SecureBuildSigning '{m}' is not 'key', 'keyless' or 'spiffe'", "Set SecureBuildSigning to key (the default: SecureBuildSigningKey or the development key), keyless (a Fulcio certificate for the CI's identity) or spiffe (the workload's X.509-SVID)."),
        };
    }

    /// <summary>The mode for fingerprints: a switch between key and keyless re-signs the step.</summary>
    public static string Describe(ITaskItem[] settings) =>
        string.Join(";", settings.OrderBy(i => i.ItemSpec, StringComparer.Ordinal).Select(i => i.ItemSpec + "=" + i.GetMetadata("Value")));

    /// <summary>HTTP requests made so far (token request excluded).</summary>
    public int RoundTrips => _signer?.RoundTrips ?? 0;

    public string? Identity => _svid?.Id.ToString() ?? _signer?.Certificate.Identities.FirstOrDefault();

    /// <summary>What signed, for the build log.</summary>
    public string Summary => _spiffe
        ? $"signed with the X.509-SVID of {Identity} ({_svidSource}, valid until {_svid?.Chain[0].NotAfter.ToUniversalTime():yyyy-MM-dd'T'HH:mm:ss'Z'})"
        : $"signed keyless as {Identity} ({RoundTrips} requests to Fulcio, Rekor and the TSA)";

    /// <summary>SecureBuildSigning=spiffe: the SVID that also signs the step's in-toto link; otherwise null (links are key-signed).</summary>
    /// <exception cref="SvidException">As for every SVID signature.</exception>
    public SvidSigner? LinkSigner() => _spiffe ? Svid() : null;

    public SigstoreBundle SignDsse(string payloadType, byte[] payload)
    {
        if (_spiffe)
        {
            return Svid().SignDsse(payloadType, payload);
        }

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
        SigstoreBundle bundle;
        if (_spiffe)
        {
            bundle = Svid().SignArtifact(File.ReadAllBytes(path));
        }
        else
        {
            var made = Signer().SignArtifact(File.ReadAllBytes(path));
            if (made.Warning is not null)
            {
                _warn(made.WarningCode, made.Warning);
            }

            bundle = made.Bundle;
        }

        string bundlePath = path + SigstoreBundleWriter.FileSuffix;
        SigstoreBundleWriter.Save(bundle, bundlePath);
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

    /// <exception cref="SvidException">SB5220-SB5232 the SVID; SB5234 incomplete settings or the Workload API under .NET Framework.</exception>
    private SvidSigner Svid()
    {
        if (_svid is not null)
        {
            return _svid;
        }

        string? chain = Get("SvidFile"), key = Get("SvidKeyFile"), bundle = Get("SvidBundleFile");
        if (chain is not null || key is not null || bundle is not null)
        {
            if (chain is null || key is null || bundle is null)
            {
                throw new SvidException(SvidException.SigningSettings, "svid-settings",
                    "SecureBuildSigning=spiffe with SVID files needs all three of SecureBuildSvidFile, SecureBuildSvidKeyFile and SecureBuildSvidBundleFile"
                    + $" (missing: {string.Join(", ", new[] { ("SecureBuildSvidFile", chain), ("SecureBuildSvidKeyFile", key), ("SecureBuildSvidBundleFile", bundle) }.Where(p => p.Item2 is null).Select(p => p.Item1))}).",
                    "Set the three to the files `securebuild svid fetch --out DIR` writes (svid.pem, svid.key, bundle.pem), or none of them to use the Workload API.");
            }

            _svidSource = "from " + chain;
            _svid = Timestamped(SvidSigner.FromFiles(chain, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow));
            return _svid;
        }

#if NET
        var answer = global::SecureBuild.Cli.WorkloadApiClient.FetchX509Svids(Get("SpiffeEndpoint"), TimeSpan.FromSeconds(30));
        _svidSource = "from the Workload API";
        _svid = Timestamped(SvidSigner.FromWorkloadApi(answer.Svids[0], new SvidPolicy(), DateTimeOffset.UtcNow));
        return _svid;
#else
        throw new SvidException(SvidException.SigningSettings, "svid-settings",
            "SecureBuildSigning=spiffe without SVID files asks the SPIFFE Workload API (gRPC over HTTP/2), which the .NET Framework MSBuild (Visual Studio) cannot speak.",
            "Build with `dotnet build`, or fetch the SVID first (`securebuild svid fetch --out DIR`) and set SecureBuildSvidFile, SecureBuildSvidKeyFile and SecureBuildSvidBundleFile.");
#endif
    }

    /// <summary>
    /// With SecureBuildTimestampUrl, the SVID's signatures get RFC 3161 timestamps from that TSA (the keyless signer's
    /// client and settings), checked against SecureBuildTrustedRoot's timestamp authorities when it is set.
    /// </summary>
    /// <exception cref="KeylessException">SB5050 a bad URL, SB5041 an unusable trusted root.</exception>
    private SvidSigner Timestamped(SvidSigner svid)
    {
        if (Get("TimestampUrl") is null)
        {
            return svid;
        }

        // Only the TSA and trusted-root settings are read here; Fulcio and Rekor take no part in SVID signing.
        var settings = KeylessSettings.From(null, null, Get("TimestampUrl"), null, Get("TrustedRoot"));
        _http = new BoundedHttp(settings.RequestTimeout);
        svid.UseTimestampAuthority(new Core.Transparency.TimestampClient(settings.TimestampUrl!, _http), settings.TrustedRoot?.TimestampAuthorities);
        _svidSource += $", timestamped by {settings.TimestampUrl!.GetLeftPart(UriPartial.Authority)}";
        return svid;
    }

    private string? Get(string name) => _settings.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
}
