using System.CommandLine;
using System.Globalization;
using Org.BouncyCastle.X509;
using SecureBuild.Core.IO;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Cli;

/// <summary>`securebuild svid verify`: one X.509-SVID checked by the SPIFFE standards and a short-lived policy.</summary>
internal static class SvidCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("svid", "SPIFFE X.509-SVIDs (workload identity certificates).");
        command.Subcommands.Add(CreateVerify(stdout, stderr));
        return command;
    }

    private static Command CreateVerify(TextWriter stdout, TextWriter stderr)
    {
        var cert = new Argument<string>("cert") { Description = "The SVID: PEM or DER certificates, leaf first, then intermediates." };
        var bundle = new Option<string>("--bundle") { Description = "The trust bundle of the SVID's trust domain: PEM, concatenated DER or a SPIFFE JWK Set.", Required = true };
        var spiffeId = new Option<string[]>("--spiffe-id") { Description = "An allowed SPIFFE ID, exact or spiffe://TD/PATH/* for any ID below PATH (repeatable).", AllowMultipleArgumentsPerToken = true };
        var trustDomain = new Option<string>("--trust-domain") { Description = "The bundle's trust domain. Default: the trust domain of --spiffe-id, else the one the bundle's CAs name." };
        var maxTtl = new Option<string>("--max-ttl") { Description = "Longest validity period of the leaf (e.g. 1h, 90m, 24h, 2d; default 24h): an SVID valid longer is not short-lived." };
        var at = new Option<string>("--at") { Description = "Check validity at this time (RFC 3339 or Unix seconds), e.g. when the signature was made. Default: now." };
        var command = new Command("verify", "Verify an X.509-SVID: one URI SAN with a SPIFFE ID, leaf not a CA, key usage, a path to the bundle of its own trust domain, valid at --at, short-lived, an allowed ID. Exit 0 valid, 1 refused (naming the rule), 2 unreadable or usage.")
        {
            cert, bundle, spiffeId, trustDomain, maxTtl, at,
        };
        command.SetAction(parse =>
        {
            const string me = "securebuild svid verify";
            var policy = new SvidPolicy();
            try
            {
                policy.AllowedIds = (parse.GetValue(spiffeId) ?? Array.Empty<string>()).Select(SpiffePattern.Parse).ToList();
            }
            catch (FormatException e)
            {
                stderr.WriteLine($"{me}: {SvidException.Unreadable}: --spiffe-id {e.Message}");
                return CliApplication.Usage;
            }

            if (parse.GetValue(maxTtl) is { } ttlText)
            {
                if (!TryParseDuration(ttlText, out var ttl))
                {
                    stderr.WriteLine($"{me}: {SvidException.Unreadable}: --max-ttl '{ttlText}' is not a positive duration (e.g. 1h, 90m, 24h, 2d, or seconds).");
                    return CliApplication.Usage;
                }

                policy.MaxTtl = ttl;
            }

            DateTimeOffset when = DateTimeOffset.UtcNow;
            if (parse.GetValue(at) is { } atText && !BundleCommand.TryParseTime(atText, out when))
            {
                stderr.WriteLine($"{me}: {SvidException.Unreadable}: --at '{atText}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
                return CliApplication.Usage;
            }

            IReadOnlyList<X509Certificate> chain;
            IReadOnlyList<X509Certificate> cas;
            string certPath = parse.GetValue(cert)!;
            string bundlePath = parse.GetValue(bundle)!;
            try
            {
                chain = SvidCertificates.ReadCertificates(InputFile.ReadAllBytes(certPath, InputKind.Metadata), certPath);
                cas = SvidCertificates.ReadBundle(InputFile.ReadAllBytes(bundlePath, InputKind.Metadata), bundlePath);
            }
            catch (InputFileException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }
            catch (SvidException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }

            string? domain = parse.GetValue(trustDomain);
            if (domain is not null)
            {
                domain = SpiffeId.NormalizeTrustDomain(domain);
                if (domain is null)
                {
                    stderr.WriteLine($"{me}: {SvidException.Unreadable}: --trust-domain '{parse.GetValue(trustDomain)}' is not a trust domain name (lower case a-z 0-9 . - _).");
                    return CliApplication.Usage;
                }
            }
            else
            {
                var fromIds = policy.AllowedIds.Select(p => p.Id.TrustDomain).Distinct().ToList();
                var fromCas = cas.Select(SvidVerifier.CaTrustDomain).Where(d => d is not null).Distinct().ToList();
                domain = fromIds.Count == 1 ? fromIds[0] : fromIds.Count == 0 && fromCas.Count == 1 ? fromCas[0] : null;
                if (domain is null)
                {
                    stderr.WriteLine($"{me}: {SvidException.Unreadable}: cannot tell which trust domain the bundle {bundlePath} is for"
                        + (fromIds.Count > 1 ? $" (--spiffe-id names {string.Join(", ", fromIds)})" : " (its CAs name none, or several)")
                        + ". Give --trust-domain.");
                    return CliApplication.Usage;
                }
            }

            try
            {
                var bundles = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal) { [domain] = cas };
                var id = SvidVerifier.Verify(chain, bundles, when, policy);
                var leaf = chain[0];
                stdout.WriteLine($"OK: {id} (trust domain {domain}), valid {Utc(leaf.NotBefore)} .. {Utc(leaf.NotAfter)}, checked at {Utc(when.UtcDateTime)}");
                return CliApplication.Success;
            }
            catch (SvidException e) when (e.Code != SvidException.Unreadable)
            {
                stderr.WriteLine($"{me}: refused ({e.Rule}): {e.Message}");
                return CliApplication.Failure;
            }
            catch (SvidException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }
        });
        return command;
    }

    private static string Utc(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>1h, 90m, 3600s, 2d, or plain seconds; positive.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        string t = text.Trim();
        if (t.Length == 0)
        {
            return false;
        }

        double unit = char.ToLowerInvariant(t[t.Length - 1]) switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => 0,
        };
        string number = unit == 0 ? t : t.Substring(0, t.Length - 1);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) || n <= 0 || double.IsInfinity(n))
        {
            return false;
        }

        double seconds = n * (unit == 0 ? 1 : unit);
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
