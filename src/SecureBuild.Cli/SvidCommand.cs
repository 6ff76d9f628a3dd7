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
        command.Subcommands.Add(CreateFetch(stdout, stderr));
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

            if (!TryMaxTtl(me, parse.GetValue(maxTtl), policy, stderr))
            {
                return CliApplication.Usage;
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

    private static Command CreateFetch(TextWriter stdout, TextWriter stderr)
    {
        var socket = new Option<string>("--socket") { Description = $"The Workload API: unix:///path or tcp://IP:PORT. Default: ${WorkloadApiClient.EndpointVariable}." };
        var output = new Option<string>("--out", "-o") { Description = "Directory to write svid.pem (chain, leaf first), svid.key (PKCS#8 PEM, owner-only) and bundle.pem.", Required = true };
        var maxTtl = new Option<string>("--max-ttl") { Description = "Refuse an SVID valid for longer (default 24h)." };
        var timeout = new Option<string>("--timeout") { Description = "Limit for the whole call (default 30s): an agent that never answers is cut off." };
        var command = new Command("fetch", "Fetch this workload's X.509-SVID from the SPIFFE Workload API (FetchX509SVID), check it against its own bundle now, and write it as files to sign with. Exit 0 written, 1 refused, 2 usage or no usable answer.")
        {
            socket, output, maxTtl, timeout,
        };
        command.SetAction(parse =>
        {
            const string me = "securebuild svid fetch";
            var policy = new SvidPolicy();
            if (!TryMaxTtl(me, parse.GetValue(maxTtl), policy, stderr))
            {
                return CliApplication.Usage;
            }

            var limit = TimeSpan.FromSeconds(30);
            if (parse.GetValue(timeout) is { } timeoutText && !TryParseDuration(timeoutText, out limit))
            {
                stderr.WriteLine($"{me}: {SvidException.Unreadable}: --timeout '{timeoutText}' is not a positive duration (e.g. 10s, 1m).");
                return CliApplication.Usage;
            }

            WorkloadSvid svid;
            IReadOnlyList<X509Certificate> chain, bundle;
            try
            {
                svid = WorkloadApiClient.FetchX509Svids(parse.GetValue(socket), limit).Svids[0];
                chain = SvidCertificates.ReadCertificates(svid.CertificatesDer, "the Workload API's x509_svid");
                bundle = SvidCertificates.ReadCertificates(svid.BundleDer, "the Workload API's bundle");
            }
            catch (SvidException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }

            try
            {
                var id = SvidVerifier.Verify(chain, new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal)
                {
                    [SpiffeId.TryParse(svid.SpiffeId, out var claimed, out _, out _) ? claimed!.TrustDomain : ""] = bundle,
                }, DateTimeOffset.UtcNow, policy);
                if (id.ToString() != svid.SpiffeId)
                {
                    throw new SvidException(SvidException.WorkloadApi, "workload-api",
                        $"the Workload API says the SVID is {svid.SpiffeId}, but its certificate names {id}.", "The agent's answer is inconsistent: report it; nothing was written.");
                }

                string dir = Path.GetFullPath(parse.GetValue(output)!);
                Directory.CreateDirectory(dir);
                foreach (string name in new[] { "svid.pem", "svid.key", "bundle.pem" })
                {
                    File.Delete(Path.Combine(dir, name)); // the key is created owner-only, never over an older file's mode
                }

                var utf8 = new System.Text.UTF8Encoding(false);
                AtomicFile.WriteAllOrNone(new (string, byte[], Func<string, Stream>?)[]
                {
                    (Path.Combine(dir, "svid.pem"), utf8.GetBytes(SvidCertificates.ToPem(chain)), null),
                    (Path.Combine(dir, "svid.key"), utf8.GetBytes(SvidCertificates.PrivateKeyPem(svid.KeyDer)), KeygenCommand.OwnerOnly),
                    (Path.Combine(dir, "bundle.pem"), utf8.GetBytes(SvidCertificates.ToPem(bundle)), null),
                });
                stdout.WriteLine($"OK: {id}, valid {Utc(chain[0].NotBefore)} .. {Utc(chain[0].NotAfter)} -> {dir}/svid.pem, svid.key, bundle.pem");
                return CliApplication.Success;
            }
            catch (SvidException e)
            {
                stderr.WriteLine($"{me}: refused ({e.Rule}): {e.Message}");
                return CliApplication.Failure;
            }
        });
        return command;
    }

    private static bool TryMaxTtl(string me, string? text, SvidPolicy policy, TextWriter stderr)
    {
        if (text is null)
        {
            return true;
        }

        if (!TryParseDuration(text, out var ttl))
        {
            stderr.WriteLine($"{me}: {SvidException.Unreadable}: --max-ttl '{text}' is not a positive duration (e.g. 1h, 90m, 24h, 2d, or seconds).");
            return false;
        }

        policy.MaxTtl = ttl;
        return true;
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
