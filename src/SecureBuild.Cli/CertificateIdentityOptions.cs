using System.CommandLine;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Cli;

/// <summary>
/// cosign's names for who must have signed a certificate bundle: --certificate-identity (exact SAN) or
/// --certificate-identity-regexp (a pattern searched in the SANs), and --certificate-oidc-issuer (exact).
/// Shared by `bundle verify` and `provenance verify`.
/// </summary>
internal sealed class CertificateIdentityOptions
{
    public Option<string> Identity { get; } = new("--certificate-identity") { Description = "Expected certificate identity (SAN), exact match, for certificate (keyless) bundles." };

    public Option<string> IdentityRegexp { get; } = new("--certificate-identity-regexp") { Description = "A regular expression one certificate SAN must match (searched like cosign's; anchor it with ^...$)." };

    public Option<string> Issuer { get; } = new("--certificate-oidc-issuer") { Description = "Expected OIDC issuer of the certificate, exact match (e.g. https://token.actions.githubusercontent.com)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Identity);
        command.Options.Add(IdentityRegexp);
        command.Options.Add(Issuer);
    }

    /// <summary>True when any of the three was given.</summary>
    public bool AnyGiven(ParseResult parse) =>
        parse.GetValue(Identity) is not null || parse.GetValue(IdentityRegexp) is not null || parse.GetValue(Issuer) is not null;

    /// <summary>Copies the options into <paramref name="options"/>; returns a usage error (exit 2) or null.</summary>
    public string? Apply(ParseResult parse, SigstoreVerificationOptions options)
    {
        string? id = parse.GetValue(Identity);
        string? pattern = parse.GetValue(IdentityRegexp);
        string? issuer = parse.GetValue(Issuer);
        if (id is not null && pattern is not null)
        {
            return "--certificate-identity and --certificate-identity-regexp exclude each other.";
        }

        if ((id is null && pattern is null) || issuer is null)
        {
            return "a certificate bundle needs --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer.";
        }

        if (pattern is not null && IdentityPattern.Compile(pattern, out string? error) is null)
        {
            return $"{SigstoreVerificationCodes.BadIdentityPattern}: {error}";
        }

        options.CertificateIdentity = id;
        options.CertificateIdentityRegexp = pattern;
        options.CertificateOidcIssuer = issuer;
        return null;
    }
}
