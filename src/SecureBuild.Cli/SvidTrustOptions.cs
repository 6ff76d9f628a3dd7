using System.CommandLine;
using Org.BouncyCastle.X509;
using SecureBuild.Core.IO;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Cli;

/// <summary>The trust options of the verifying commands: the bundle, its trust domain, allowed IDs, the lifetime limit, the time, and (for signatures) the trusted timestamp authorities.</summary>
internal sealed class SvidTrustOptions
{
    private readonly Option<string> _bundle;
    private readonly Option<string[]> _spiffeId = new("--spiffe-id") { Description = "An allowed SPIFFE ID, exact or spiffe://TD/PATH/* for any ID below PATH (repeatable).", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string> _trustDomain = new("--trust-domain") { Description = "The bundle's trust domain. Default: the trust domain of --spiffe-id, else the one the bundle's CAs name." };
    private readonly Option<string> _maxTtl = new("--max-ttl") { Description = "Longest validity period of the leaf (e.g. 1h, 90m, 24h, 2d; default 24h): an SVID valid longer is not short-lived." };
    private readonly Option<string> _at;
    private readonly Option<string>? _trustedRoot;

    private readonly bool _ownsAt;
    private readonly bool _ownsTrustedRoot;

    /// <summary>The options of an `svid` verb: a required --bundle and its own --at; with <paramref name="timestamps"/>, its own --trusted-root for the signature's timestamps.</summary>
    public SvidTrustOptions(string atDescription, bool timestamps = false)
    {
        _bundle = new Option<string>("--bundle") { Description = "The trust bundle of the SVID's trust domain: PEM, concatenated DER or a SPIFFE JWK Set.", Required = true };
        _at = new Option<string>("--at") { Description = atDescription };
        _ownsAt = true;
        if (timestamps)
        {
            _trustedRoot = new Option<string>("--trusted-root") { Description = TrustedRootDescription };
            _ownsTrustedRoot = true;
        }
    }

    /// <summary>The SPIFFE mode of another verb: an optional bundle option named <paramref name="bundleName"/>, the verb's own --at and --trusted-root.</summary>
    public SvidTrustOptions(string bundleName, Option<string> sharedAt, Option<string> sharedTrustedRoot)
    {
        _bundle = new Option<string>(bundleName) { Description = "SPIFFE mode: the trust bundle of the signing SVID's trust domain (PEM, concatenated DER or a SPIFFE JWK Set); the signature's certificate chain must be an X.509-SVID of it." };
        _at = sharedAt;
        _trustedRoot = sharedTrustedRoot;
    }

    /// <summary>What --trusted-root means for an SVID signature.</summary>
    public const string TrustedRootDescription = "A Sigstore trusted_root.json whose timestampAuthorities you trust: a bundle with RFC 3161 timestamps (SecureBuildTimestampUrl) has the SVID checked at the verified timestamp time instead of --at.";

    /// <summary>Whether the trust bundle was given (the SPIFFE mode of a command that has others).</summary>
    public bool Given(ParseResult parse) => parse.GetValue(_bundle) is not null;

    public void AddTo(Command command)
    {
        command.Options.Add(_bundle);
        command.Options.Add(_spiffeId);
        command.Options.Add(_trustDomain);
        command.Options.Add(_maxTtl);
        if (_ownsAt)
        {
            command.Options.Add(_at);
        }

        if (_ownsTrustedRoot)
        {
            command.Options.Add(_trustedRoot!);
        }
    }

    /// <summary>The timestamp authorities of --trusted-root, or null when it is not given (timestamps are then not used).</summary>
    public bool TryReadTimestampAuthorities(ParseResult parse, string me, TextWriter stderr, out IReadOnlyList<CertificateAuthorityInstance>? timestampAuthorities)
    {
        timestampAuthorities = null;
        if (_trustedRoot is null || parse.GetValue(_trustedRoot) is not { } path)
        {
            return true;
        }

        try
        {
            timestampAuthorities = SigstoreTrustedRoot.Load(path).TimestampAuthorities;
            return true;
        }
        catch (Exception e) when (e is InputFileException || e is IOException || e is UnauthorizedAccessException || e is SigstoreFormatException)
        {
            stderr.WriteLine($"{me}: {SvidException.Unreadable}: --trusted-root {path} cannot be used: {e.Message} Give a Sigstore trusted_root.json listing the timestamp authorities you trust.");
            return false;
        }
    }

    public bool TryRead(ParseResult parse, string me, TextWriter stderr, out SvidPolicy policy, out DateTimeOffset when, out Dictionary<string, IReadOnlyList<X509Certificate>> bundles)
    {
        policy = new SvidPolicy();
        when = DateTimeOffset.UtcNow;
        bundles = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal);
        try
        {
            policy.AllowedIds = (parse.GetValue(_spiffeId) ?? Array.Empty<string>()).Select(SpiffePattern.Parse).ToList();
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"{me}: {SvidException.Unreadable}: --spiffe-id {e.Message}");
            return false;
        }

        if (!SvidCommand.TryMaxTtl(me, parse.GetValue(_maxTtl), policy, stderr))
        {
            return false;
        }

        if (parse.GetValue(_at) is { } atText && !BundleCommand.TryParseTime(atText, out when))
        {
            stderr.WriteLine($"{me}: {SvidException.Unreadable}: --at '{atText}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
            return false;
        }

        if (!SvidCommand.TryTrustBundle(me, parse.GetValue(_bundle)!, parse.GetValue(_trustDomain), policy, stderr, out var domain, out var cas))
        {
            return false;
        }

        bundles[domain] = cas;
        return true;
    }
}
