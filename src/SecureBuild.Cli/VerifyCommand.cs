using System.CommandLine;
using System.Globalization;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.IO;
using SecureBuild.Core.Spiffe;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild verify`: a drop-in for Debian's `in-toto-verify` 1.3.1 (same options, same verdicts, same exit codes:
/// 0 verified, 1 verification failed, 2 bad arguments or unreadable layout/key files), with failures that name the
/// step, rule, artifacts and key, and dropped links reported with the reason.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var layout = new Option<string>("--layout", "-l") { Description = "The root layout to verify the supply chain against.", Required = true };
        var layoutKeys = new Option<string[]>("--layout-keys", "-k")
        {
            Description = "Public key file(s) of the layout owner(s); the layout must carry a valid signature by every one.",
            AllowMultipleArgumentsPerToken = true,
        };
        var keyTypes = new Option<string[]>("--key-types", "-t")
        {
            Description = "Type of each --layout-keys file, by position: rsa (PEM, the default for all), ed25519 or ecdsa (securesystemslib JSON).",
            AllowMultipleArgumentsPerToken = true,
        };
        var linkDir = new Option<string>("--link-dir", "-d") { Description = "Directory with the link files (<step>.<keyid[:8]>.link).", DefaultValueFactory = _ => "." };
        var gpg = new Option<string[]>("--gpg", "-g") { Description = "Not supported: GPG layout keys.", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.ZeroOrMore };
        var gpgHome = new Option<string>("--gpg-home") { Description = "Not supported: GPG home directory." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print each check, dropped links and warnings." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the failure." };
        var timeout = new Option<string>("--inspection-timeout") { Description = "Seconds an inspection command may run (default 10, as in in-toto)." };
        var trust = TrustRepositoryOptions.Create();
        var roles = new Option<string>("--roles") { Description = "The roles file the layout was made from (securebuild-roles/v1): the report names each step's role and the functionaries that performed it." };
        var svidSignedAt = new Option<string>("--svid-signed-at") { Description = "Steps with SPIFFE ID functionaries (cert_constraints): when their links were signed, RFC 3339 or Unix seconds (the SVIDs must have been valid then; they live about an hour). Default: now." };

        var command = new Command("verify", "Verify a supply chain against an in-toto layout (like in-toto-verify, with the same verdicts). Inspections run in the current directory.")
        {
            layout, layoutKeys, keyTypes, linkDir, gpg, gpgHome, verbose, quiet, timeout, trust.Url, trust.Root, trust.Cache, roles, svidSignedAt,
        };
        command.SetAction(parse =>
        {
            const string me = "securebuild verify";
            if (parse.GetResult(gpg) is not null || parse.GetResult(gpgHome) is not null)
            {
                stderr.WriteLine($"{me}: GPG keys (--gpg, --gpg-home) are not supported. Export the owner's key and pass it with --layout-keys, or use in-toto-verify for GPG-signed layouts.");
                return CliApplication.Usage;
            }

            bool isVerbose = parse.GetValue(verbose);
            bool isQuiet = parse.GetValue(quiet);
            if (isVerbose && isQuiet)
            {
                stderr.WriteLine($"{me}: --verbose and --quiet cannot be used together.");
                return CliApplication.Usage;
            }

            var keyFiles = parse.GetValue(layoutKeys) ?? Array.Empty<string>();
            if (keyFiles.Length == 0)
            {
                stderr.WriteLine($"{me}: wrong arguments: specify at least one layout key with --layout-keys <path> [<path> ...].");
                return CliApplication.Usage;
            }

            var types = parse.GetValue(keyTypes);
            if (types is { Length: > 0 } && types.Length != keyFiles.Length)
            {
                stderr.WriteLine($"{me}: {keyFiles.Length} --layout-keys but {types.Length} --key-types: pass one type per key (by position), or none to use rsa for all.");
                return CliApplication.Usage;
            }

            var inspectionTimeout = TimeSpan.FromSeconds(10);
            var timeoutText = parse.GetValue(timeout);
            if (timeoutText is not null)
            {
                if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || seconds > int.MaxValue / 1000.0)
                {
                    stderr.WriteLine($"{me}: --inspection-timeout must be a positive number of seconds, not '{timeoutText}'.");
                    return CliApplication.Usage;
                }

                inspectionTimeout = TimeSpan.FromSeconds(seconds);
            }

            TrustRepositoryOptions.Source? policy;
            try
            {
                policy = trust.Open(parse);
            }
            catch (TufException e)
            {
                stderr.WriteLine($"{me}: the trust repository: {e.Message}");
                return TrustRepositoryOptions.ExitCode(e);
            }

            var keys = new List<PublicKey>();
            for (int i = 0; i < keyFiles.Length; i++)
            {
                string expected = types is { Length: > 0 } ? types[i] : "rsa";
                if (expected is not ("rsa" or "ed25519" or "ecdsa"))
                {
                    stderr.WriteLine($"{me}: unknown key type '{expected}' (choose rsa, ed25519 or ecdsa).");
                    return CliApplication.Usage;
                }

                PublicKey key;
                try
                {
                    key = policy is null ? PublicKey.Load(keyFiles[i]) : PublicKey.Parse(System.Text.Encoding.UTF8.GetString(policy.Fetch(keyFiles[i])), $"{keyFiles[i]} (from the trust repository)");
                }
                catch (KeyFormatException e)
                {
                    stderr.WriteLine($"{me}: layout key {keyFiles[i]}: {e.Code}: {e.Message} {e.Fix}");
                    return CliApplication.Usage;
                }
                catch (TufException e)
                {
                    stderr.WriteLine($"{me}: layout key {keyFiles[i]} from the trust repository: {e.Message}");
                    return TrustRepositoryOptions.ExitCode(e);
                }

                if (key.KeyTypeName != expected)
                {
                    string why = types is { Length: > 0 } ? $"--key-types says {expected}" : "the key type is rsa when --key-types is omitted (as in in-toto-verify)";
                    stderr.WriteLine($"{me}: layout key {keyFiles[i]} is an {key.KeyTypeName} key, but {why}. Pass -t {key.KeyTypeName} for it.");
                    return CliApplication.Usage;
                }

                keys.Add(key);
            }

            string layoutPath = parse.GetValue(layout)!;
            byte[] layoutBytes;
            try
            {
                if (policy is not null)
                {
                    layoutBytes = policy.Fetch(layoutPath);
                }
                else if (!InputFile.Exists(layoutPath))
                {
                    stderr.WriteLine($"{me}: the layout file {layoutPath} does not exist.");
                    return CliApplication.Usage;
                }
                else
                {
                    layoutBytes = InputFile.ReadAllBytes(layoutPath, InputKind.Layout, limit: LayoutVerifierOptions.DefaultMaxMetadataFileBytes);
                }
            }
            catch (TufException e)
            {
                stderr.WriteLine($"{me}: the layout {layoutPath} from the trust repository: {e.Message}");
                return TrustRepositoryOptions.ExitCode(e);
            }
            catch (InputFileException e) when (e.Problem == InputFileProblem.TooLarge)
            {
                stderr.WriteLine($"{me}: FormatError: {e.Message}");
                return CliApplication.Failure;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
            {
                stderr.WriteLine($"{me}: cannot read the layout file {layoutPath}: {e.Message}");
                return CliApplication.Usage;
            }

            var options = new LayoutVerifierOptions
            {
                LinkDirectory = parse.GetValue(linkDir) ?? ".",
                WorkingDirectory = Directory.GetCurrentDirectory(),
                InspectionTimeout = inspectionTimeout,
            };
            if (parse.GetValue(svidSignedAt) is { } signedAtText)
            {
                if (!BundleCommand.TryParseTime(signedAtText, out var signedAt))
                {
                    stderr.WriteLine($"{me}: SB5242: --svid-signed-at '{signedAtText}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
                    return CliApplication.Usage;
                }

                options.CertificateTime = signedAt;
            }

            LayoutRoles? roleFile = null;
            try
            {
                roleFile = parse.GetValue(roles) is { } rolesPath ? LayoutRoles.Load(rolesPath) : null;
            }
            catch (RolesException e)
            {
                stderr.WriteLine($"{me}: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }

            var result = new LayoutVerifier(options).Verify(layoutBytes, layoutPath, keys);
            Report(result, layoutPath, isVerbose, isQuiet, stdout, stderr);
            if (roleFile is not null)
            {
                ReportRoles(result, roleFile, parse.GetValue(linkDir) ?? ".", isQuiet, stdout, stderr);
            }

            return result.Passed ? CliApplication.Success : CliApplication.Failure;
        });
        return command;
    }

    private static void Report(VerificationResult result, string layoutPath, bool verbose, bool quiet, TextWriter stdout, TextWriter stderr)
    {
        const string me = "securebuild verify";
        if (verbose)
        {
            foreach (var line in result.Log)
            {
                stderr.WriteLine(line);
            }

            foreach (var drop in result.DroppedLinks)
            {
                stderr.WriteLine($"{me}: dropped link ({drop.Reason}): {drop.Message}");
            }
        }

        if (!quiet)
        {
            foreach (var warning in result.Warnings)
            {
                stderr.WriteLine($"{me}: warning: {warning.Message}");
            }
        }

        foreach (var failure in result.Failures)
        {
            stderr.WriteLine($"{me}: {failure.Kind}: {failure.Message}");
            if (failure.SublayoutPath.Count > 0)
            {
                stderr.WriteLine($"  in sublayout: {string.Join(" > ", failure.SublayoutPath)}");
            }

            if (failure.Step is not null)
            {
                stderr.WriteLine($"  step:      {failure.Step}{(failure.Side is null ? "" : $" (expected_{failure.Side})")}");
            }

            if (failure.RuleText is not null)
            {
                stderr.WriteLine($"  rule:      {failure.RuleText}");
            }

            if (failure.Artifacts.Count > 0)
            {
                stderr.WriteLine($"  artifacts: {string.Join(", ", failure.Artifacts.Take(20))}{(failure.Artifacts.Count > 20 ? $", ... ({failure.Artifacts.Count} in all)" : "")}");
            }

            if (failure.KeyId is not null)
            {
                stderr.WriteLine($"  key:       {failure.KeyId}");
            }

            if (failure.File is not null)
            {
                stderr.WriteLine($"  file:      {failure.File}");
            }

            foreach (var detail in failure.Details)
            {
                stderr.WriteLine($"  - {detail}");
            }
        }

        if (result.Passed && !quiet)
        {
            stdout.WriteLine($"{me}: PASSED: {layoutPath} ({result.StepCount} step(s), {result.InspectionCount} inspection(s), {result.LinkCount} link(s) verified)");
        }
    }

    /// <summary>
    /// With --roles: each step whose links were checked, its role and the functionaries whose links count for it; for
    /// a failed step, its role (so a link signed outside the role is named next to the role's own functionaries).
    /// </summary>
    private static void ReportRoles(VerificationResult result, LayoutRoles roles, string linkDir, bool quiet, TextWriter stdout, TextWriter stderr)
    {
        foreach (var failure in result.Failures.Where(f => f.Step is not null && f.SublayoutPath.Count == 0))
        {
            var role = roles.RoleOf(failure.Step!);
            stderr.WriteLine($"  role:      {role?.ToString() ?? "(none in the roles file)"}");
            foreach (var (file, keyId) in StepLinksOutside(role, linkDir, failure.Step!))
            {
                stderr.WriteLine($"  outside the role: {file} is signed by {keyId}, which is not a functionary of the role");
            }

            if (role is not null)
            {
                var missing = MissingFunctionaries(role, linkDir, failure.Step!);
                int signed = role.Keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count() - missing.Count;
                if (signed < role.Threshold)
                {
                    stderr.WriteLine($"  missing:   {RolesException.ThresholdShort}: {role.Threshold - signed} more of the role {role.Name} must sign (threshold {role.Threshold}, {signed} valid link(s)); no valid link from {string.Join(", ", missing.Select(role.Describe))}");
                }
            }
        }

        if (quiet || !result.Passed)
        {
            return;
        }

        foreach (var step in result.PerformedBy)
        {
            var role = roles.RoleOf(step.Key);
            string by = string.Join(", ", step.Value.Select(k => role?.Describe(k) ?? k));
            stdout.WriteLine($"  {step.Key}: role {role?.Name ?? "(none in the roles file)"}, performed by {by}");
        }
    }

    /// <summary>The role's key ids that have no link for the step that their key's signature verifies (in-toto counts one link per key).</summary>
    private static IReadOnlyList<string> MissingFunctionaries(Role role, string linkDir, string step)
    {
        var missing = new List<string>();
        foreach (var key in role.Keys.GroupBy(k => k.KeyId, StringComparer.Ordinal).Select(g => g.First()))
        {
            bool valid;
            try
            {
                valid = Metablock.Load(Path.Combine(linkDir, Path.GetDirectoryName(step) ?? "", LinkFile.FileName(Path.GetFileName(step), key.KeyId))).VerifySignature(key);
            }
            catch (Exception e) when (e is InTotoFormatException || e is Core.Json.JsonFormatException || e is IOException || e is UnauthorizedAccessException || e is ArgumentException)
            {
                valid = false;
            }

            if (!valid)
            {
                missing.Add(key.KeyId);
            }
        }

        return missing;
    }

    private static string? CertificateUri(string pem)
    {
        try
        {
            var uris = SvidVerifier.SafeUriSans(SvidCertificates.ReadCertificates(System.Text.Encoding.UTF8.GetBytes(pem), "cert")[0]);
            return uris.Count == 1 ? uris[0] : null;
        }
        catch (SvidException)
        {
            return null;
        }
    }

    /// <summary>The step's link files in the link directory signed by keys that are not the role's (in-toto only looks for the role's).</summary>
    private static IEnumerable<(string File, string KeyId)> StepLinksOutside(Role? role, string linkDir, string step)
    {
        string prefix = Path.GetFileName(step) + ".";
        string dir = Path.Combine(linkDir, Path.GetDirectoryName(step) ?? "");
        var inRole = new HashSet<string>(role?.Keys.Select(k => k.KeyId) ?? Array.Empty<string>(), StringComparer.Ordinal);
        if (!Directory.Exists(dir))
        {
            yield break;
        }

        foreach (string file in LinkFile.FindIn(dir).Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)))
        {
            Metablock block;
            try
            {
                block = Metablock.Load(file);
            }
            catch (Exception e) when (e is InTotoFormatException || e is Core.Json.JsonFormatException || e is IOException || e is UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var signature in block.Signatures.Where(sig => !inRole.Contains(sig.KeyId)))
            {
                if (signature.Cert is null)
                {
                    yield return (Path.GetFileName(file), signature.KeyId);
                    continue;
                }

                // Signed with an SVID: named by its SPIFFE ID (whether the SVID is valid, the verifier's failure says).
                string? uri = CertificateUri(signature.Cert);
                bool allowed = uri is not null && SpiffeId.TryParse(uri, out var id, out _, out _) && role?.SpiffeIds.Any(p => p.Allows(id!)) == true;
                if (!allowed)
                {
                    yield return (Path.GetFileName(file), $"the SVID of {uri ?? "an unreadable certificate"} (key {signature.KeyId})");
                }
            }
        }
    }
}
