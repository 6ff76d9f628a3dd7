using System.CommandLine;
using System.Globalization;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.IO;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Cli;

/// <summary>`securebuild bundle verify`: offline Sigstore bundle verification against a trusted_root.json.</summary>
internal static class BundleCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var bundle = new Command("bundle", "Sigstore bundles (*.sigstore.json).");
        bundle.Subcommands.Add(CreateVerify(stdout, stderr));
        return bundle;
    }

    private static Command CreateVerify(TextWriter stdout, TextWriter stderr)
    {
        var bundleFile = new Option<string>("--bundle") { Description = "The Sigstore bundle to verify.", Required = true };
        var trustedRoot = new Option<string>("--trusted-root") { Description = "The trusted_root.json holding the trusted CAs, logs and timestamp authorities (no TUF, no network)." };
        var fromTuf = new Option<bool>("--trusted-root-from-tuf") { Description = "Use the TUF-verified trusted_root.json that `securebuild trust update` cached (checked again offline; refused when stale) instead of --trusted-root." };
        var tufCache = new Option<string>("--tuf-cache") { Description = "With --trusted-root-from-tuf: the cache `trust update --cache-dir` wrote. Default: the public-good instance's default cache." };
        var key = new Option<string>("--key") { Description = "Public key (PEM or securesystemslib JSON) for a key-signed (publicKey hint) bundle." };
        var identity = new CertificateIdentityOptions();
        var payloadType = new Option<string>("--payload-type") { Description = "Required DSSE payloadType (e.g. application/vnd.in-toto+json)." };
        var at = new Option<string>("--at") { Description = "Verification time ('now') as RFC 3339 (2026-01-01T00:00:00Z) or Unix seconds; default: the system clock. Signing certificates are always checked at the bundle's proven signing times." };
        var tlogThreshold = new Option<int>("--tlog-threshold") { Description = "Verified transparency-log entries required (0 accepts a key-signed bundle that was never logged).", DefaultValueFactory = _ => 1 };
        var strictKeyHint = new Option<bool>("--strict-key-hint") { Description = "Require the bundle's key hint to be base64(SHA-256(SPKI)) of --key." };
        var noSubjectCheck = new Option<bool>("--no-subject-check") { Description = "For in-toto DSSE bundles, do not require the artifact's SHA-256 among the statement subjects." };
        var artifact = new Argument<string>("artifact")
        {
            Description = "The signed file, or sha256:HEX; for a DSSE bundle optional (a file that must be a statement subject).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("verify", "Verify a Sigstore bundle offline. Exit 0 verified, 1 not verified, 2 usage or unreadable input.")
        {
            bundleFile, trustedRoot, fromTuf, tufCache, key, payloadType, at, tlogThreshold, strictKeyHint, noSubjectCheck, artifact,
        };
        identity.AddTo(command);
        command.SetAction(parse =>
        {
            const string name = "securebuild bundle verify";
            string? keyPath = parse.GetValue(key);
            if (keyPath is not null && identity.AnyGiven(parse))
            {
                stderr.WriteLine($"{name}: --key and --certificate-identity/--certificate-identity-regexp/--certificate-oidc-issuer exclude each other.");
                return CliApplication.Usage;
            }

            if ((parse.GetValue(trustedRoot) is null) == !parse.GetValue(fromTuf))
            {
                stderr.WriteLine($"{name}: give either --trusted-root FILE or --trusted-root-from-tuf.");
                return CliApplication.Usage;
            }

            if (parse.GetValue(tlogThreshold) < 0)
            {
                stderr.WriteLine($"{name}: --tlog-threshold must not be negative.");
                return CliApplication.Usage;
            }

            var options = new SigstoreVerificationOptions
            {
                ExpectedPayloadType = parse.GetValue(payloadType),
                TransparencyLogThreshold = parse.GetValue(tlogThreshold),
                RequireKeyHintMatch = parse.GetValue(strictKeyHint),
                RequireSubjectMatch = !parse.GetValue(noSubjectCheck),
            };
            if (keyPath is null && identity.Apply(parse, options) is { } identityError)
            {
                stderr.WriteLine($"{name}: {identityError} (Or give --key for a key-signed bundle.)");
                return CliApplication.Usage;
            }

            string? atText = parse.GetValue(at);
            if (atText is not null)
            {
                if (!TryParseTime(atText, out var time))
                {
                    stderr.WriteLine($"{name}: --at '{atText}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
                    return CliApplication.Usage;
                }

                options.VerificationTime = time;
            }

            // Reading inputs: any problem here is a usage/input error (exit 2), not a verification failure.
            SigstoreArtifact? subject = null;
            byte[] bundleBytes;
            byte[] rootBytes;
            try
            {
                rootBytes = parse.GetValue(fromTuf)
                    ? SigstoreTrustedRootSource.LoadCachedTrustedRoot(parse.GetValue(tufCache) ?? SigstoreTrustedRootSource.DefaultCacheDirectory(SigstoreTrustedRootSource.PublicGoodMetadataUrl), DateTimeOffset.UtcNow)
                    : InputFile.ReadAllBytes(parse.GetValue(trustedRoot)!, InputKind.TrustedRoot);
                if (keyPath is not null)
                {
                    options.PublicKey = PublicKey.Load(keyPath);
                }

                string? artifactArg = parse.GetValue(artifact);
                if (artifactArg is not null)
                {
                    subject = ReadArtifact(artifactArg);
                }

                bundleBytes = InputFile.ReadAllBytes(parse.GetValue(bundleFile)!, InputKind.Bundle);
            }
            catch (TufException e)
            {
                stderr.WriteLine($"{name}: {e.Message}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is KeyFormatException || e is FormatException)
            {
                stderr.WriteLine($"{name}: {(e is KeyFormatException k ? $"{k.Code}: {k.Message} {k.Fix}" : "SB3906: " + e.Message)}");
                return CliApplication.Usage;
            }

            // A trusted root or bundle that is readable but malformed does not verify (e.g. a trust-root key without
            // the start of its validity): that is a verification failure, not a usage error.
            SigstoreTrustedRoot root;
            try
            {
                root = SigstoreTrustedRoot.Parse(rootBytes);
            }
            catch (SigstoreFormatException e)
            {
                stdout.WriteLine($"FAIL: {parse.GetValue(bundleFile)}: cannot verify against {parse.GetValue(trustedRoot) ?? "the TUF-verified trusted root"}: {e.Message}");
                return CliApplication.Failure;
            }

            SigstoreBundle parsed;
            try
            {
                parsed = SigstoreBundle.Parse(bundleBytes);
            }
            catch (SigstoreFormatException e)
            {
                stdout.WriteLine($"FAIL: {parse.GetValue(bundleFile)}: the bundle is malformed: {e.Message}");
                return CliApplication.Failure;
            }

            var result = new SigstoreVerifier(root).Verify(parsed, subject, options);
            if (!result.Verified)
            {
                stdout.WriteLine($"FAIL: {parse.GetValue(bundleFile)}: {result.FailureCode}: {result.Failure}");
                return CliApplication.Failure;
            }

            stdout.WriteLine($"OK: {parse.GetValue(bundleFile)} verified");
            foreach (string check in result.Checks)
            {
                stdout.WriteLine("  - " + check);
            }

            return CliApplication.Success;
        });
        return command;
    }

    private static SigstoreArtifact ReadArtifact(string arg)
    {
        if (arg.StartsWith("sha256:", StringComparison.Ordinal) && !File.Exists(arg))
        {
            string hex = arg.Substring("sha256:".Length);
            if (hex.Length != 64 || !Hex.TryDecode(hex, out var digest))
            {
                throw new FormatException($"'{arg}' is not sha256: followed by 64 hex digits.");
            }

            return SigstoreArtifact.FromSha256(digest);
        }

        return SigstoreArtifact.FromFile(arg);
    }

    internal static bool TryParseTime(string text, out DateTimeOffset time)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && seconds <= 253402300799)
        {
            time = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        return DateTimeOffset.TryParseExact(
            text,
            new[] { "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK" },
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
            out time);
    }
}
