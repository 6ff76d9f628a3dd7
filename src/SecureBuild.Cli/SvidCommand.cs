using System.CommandLine;
using System.Globalization;
using Org.BouncyCastle.X509;
using SecureBuild.Core.IO;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Cli;

/// <summary>`securebuild svid verify|verify-signature|fetch`: X.509-SVIDs checked by the SPIFFE standards and a short-lived policy, signatures made with them, and the Workload API.</summary>
internal static class SvidCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("svid", "SPIFFE X.509-SVIDs (workload identity certificates).");
        command.Subcommands.Add(CreateVerify(stdout, stderr));
        command.Subcommands.Add(CreateVerifySignature(stdout, stderr));
        command.Subcommands.Add(CreateFetch(stdout, stderr));
        return command;
    }

    private static Command CreateVerify(TextWriter stdout, TextWriter stderr)
    {
        var cert = new Argument<string>("cert") { Description = "The SVID: PEM or DER certificates, leaf first, then intermediates." };
        var options = new SvidTrustOptions("Check validity at this time (RFC 3339 or Unix seconds), e.g. when the signature was made. Default: now.");
        var command = new Command("verify", "Verify an X.509-SVID: one URI SAN with a SPIFFE ID, leaf not a CA, key usage, a path to the bundle of its own trust domain, valid at --at, short-lived, an allowed ID. Exit 0 valid, 1 refused (naming the rule), 2 unreadable or usage.")
        {
            cert,
        };
        options.AddTo(command);
        command.SetAction(parse =>
        {
            const string me = "securebuild svid verify";
            IReadOnlyList<X509Certificate> chain;
            string certPath = parse.GetValue(cert)!;
            try
            {
                chain = SvidCertificates.ReadCertificates(InputFile.ReadAllBytes(certPath, InputKind.Metadata), certPath);
            }
            catch (Exception e) when (e is InputFileException || e is SvidException)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }

            if (!options.TryRead(parse, me, stderr, out var policy, out var when, out var bundles))
            {
                return CliApplication.Usage;
            }

            return Refusals(me, stderr, () =>
            {
                var id = SvidVerifier.Verify(chain, bundles, when, policy);
                var leaf = chain[0];
                stdout.WriteLine($"OK: {id} (trust domain {id.TrustDomain}), valid {Utc(leaf.NotBefore)} .. {Utc(leaf.NotAfter)}, checked at {Utc(when.UtcDateTime)}");
            });
        });
        return command;
    }

    private static Command CreateVerifySignature(TextWriter stdout, TextWriter stderr)
    {
        var signature = new Argument<string>("signature") { Description = "A Sigstore bundle signed with an X.509-SVID (x509CertificateChain), as SecureBuildSigning=spiffe writes them." };
        var artifact = new Option<string>("--artifact") { Description = "The signed file, for a bundle that signs an artifact (a .nupkg's .sigstore.json)." };
        var options = new SvidTrustOptions("When the signature was made (RFC 3339 or Unix seconds), for a bundle without a timestamp (or without --trusted-root): the SVID must have been valid then. SVIDs are short-lived, so name the build's time when checking later. Default: now.", timestamps: true);
        var command = new Command("verify-signature", "Verify a signature made with an X.509-SVID: the chain it carries checked as `svid verify` checks an SVID at the signing time (the bundle's verified RFC 3161 timestamp with --trusted-root, else --at), and the signature with the SVID's key. Exit 0 valid (prints the signer's SPIFFE ID), 1 refused (naming the rule), 2 unreadable or usage.")
        {
            signature, artifact,
        };
        options.AddTo(command);
        command.SetAction(parse =>
        {
            const string me = "securebuild svid verify-signature";
            string path = parse.GetValue(signature)!;
            SigstoreBundle bundle;
            byte[]? artifactBytes = null;
            try
            {
                bundle = SigstoreBundle.Load(path);
                if (parse.GetValue(artifact) is { } artifactPath)
                {
                    artifactBytes = InputFile.ReadAllBytes(artifactPath, InputKind.Artifact);
                }
            }
            catch (Exception e) when (e is InputFileException || e is SigstoreFormatException)
            {
                stderr.WriteLine($"{me}: {SvidException.Unreadable}: {e.Message}");
                return CliApplication.Usage;
            }

            if (!options.TryRead(parse, me, stderr, out var policy, out var when, out var bundles)
                || !options.TryReadTimestampAuthorities(parse, me, stderr, out var timestampAuthorities))
            {
                return CliApplication.Usage;
            }

            return Refusals(me, stderr, () =>
            {
                var verified = SvidSignatures.Verify(bundle, bundles, when, policy, artifactBytes, timestampAuthorities);
                string what = verified.Envelope is { } envelope ? $"DSSE {envelope.PayloadType}" : "artifact";
                stdout.WriteLine($"OK: {what} signed by {verified.Id}, SVID valid {Utc(verified.Leaf.NotBefore)} .. {Utc(verified.Leaf.NotAfter)}, checked at {CheckedAt(verified)}");
            });
        });
        return command;
    }

    /// <summary>Runs a check: exit 0, 1 for a refusal naming its rule, 2 for unreadable input (SB5220).</summary>
    private static int Refusals(string me, TextWriter stderr, Action check)
    {
        try
        {
            check();
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
            IReadOnlyList<X509Certificate> bundle;
            try
            {
                svid = WorkloadApiClient.FetchX509Svids(parse.GetValue(socket), limit).Svids[0];
                bundle = SvidCertificates.ReadCertificates(svid.BundleDer, "the Workload API's bundle");
            }
            catch (SvidException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Usage;
            }

            return Refusals(me, stderr, () =>
            {
                // The SVID checked against its own bundle now, the agent's ID against the certificate's, the key against the leaf.
                var signer = SvidSigner.FromWorkloadApi(svid, policy, DateTimeOffset.UtcNow);
                var id = signer.Id;
                var chain = signer.Chain;
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
            });
        });
        return command;
    }

    /// <summary>Reads --bundle and decides its trust domain (--trust-domain, else --spiffe-id's, else the one its CAs name).</summary>
    internal static bool TryTrustBundle(string me, string bundlePath, string? trustDomain, SvidPolicy policy, TextWriter stderr, out string domain, out IReadOnlyList<X509Certificate> cas)
    {
        domain = "";
        try
        {
            cas = SvidCertificates.ReadBundle(InputFile.ReadAllBytes(bundlePath, InputKind.Metadata), bundlePath);
        }
        catch (Exception e) when (e is InputFileException || e is SvidException)
        {
            cas = Array.Empty<X509Certificate>();
            stderr.WriteLine($"{me}: {e.Message}");
            return false;
        }

        if (trustDomain is not null)
        {
            domain = SpiffeId.NormalizeTrustDomain(trustDomain) ?? "";
            if (domain.Length == 0)
            {
                stderr.WriteLine($"{me}: {SvidException.Unreadable}: --trust-domain '{trustDomain}' is not a trust domain name (lower case a-z 0-9 . - _).");
                return false;
            }

            return true;
        }

        var fromIds = policy.AllowedIds.Select(p => p.Id.TrustDomain).Distinct().ToList();
        var fromCas = cas.Select(SvidVerifier.CaTrustDomain).Where(d => d is not null).Distinct().ToList();
        domain = (fromIds.Count == 1 ? fromIds[0] : fromIds.Count == 0 && fromCas.Count == 1 ? fromCas[0] : null) ?? "";
        if (domain.Length == 0)
        {
            stderr.WriteLine($"{me}: {SvidException.Unreadable}: cannot tell which trust domain the bundle {bundlePath} is for"
                + (fromIds.Count > 1 ? $" (--spiffe-id names {string.Join(", ", fromIds)})" : " (its CAs name none, or several)")
                + ". Give --trust-domain.");
            return false;
        }

        return true;
    }

    internal static bool TryMaxTtl(string me, string? text, SvidPolicy policy, TextWriter stderr)
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

    /// <summary>The time an SVID signature was checked at, and where it came from.</summary>
    internal static string CheckedAt(SvidSignature verified) =>
        Utc(verified.SignedAt.UtcDateTime) + (verified.Timestamped ? " (the RFC 3161 timestamp's verified time)" : "");

    internal static string Utc(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

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
