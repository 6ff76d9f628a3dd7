using System.CommandLine;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild inspect PACKAGE.nupkg|DIR [--links DIR] [--key PUB] [--baseline OLD.nupkg|Id@Version | --baseline-from-cache]
/// [--policy FILE] [--format text|json|html]` (and `--print-policy`):
/// accounts for every file of a package by the build's links and lists what the package can do (Core/Inspection).
/// Exit 0 when nothing fails the default policy, 1 when something does (an unaccounted or unreadable file), 2 when an
/// input cannot be read.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string?>("package") { Description = "The .nupkg to inspect, or a folder (a publish output).", Arity = ArgumentArity.ZeroOrOne };
        var links = new Option<string>("--links") { Description = "The build's attestations folder (its *.link files): every file must be a product or a material of a recorded step." };
        var keys = new Option<string[]>("--key") { Description = "Public key the links must be signed by (repeatable); without it the links are not signature-checked.", AllowMultipleArgumentsPerToken = true };
        var baseline = new Option<string>("--baseline") { Description = "The previous release (.nupkg, folder, or PackageId@Version from the NuGet global packages folder): capabilities new in this release are reported." };
        var baselineFromCache = new Option<bool>("--baseline-from-cache") { Description = "Take as baseline the highest earlier release of the package's id in the NuGet global packages folder (NUGET_PACKAGES, else ~/.nuget/packages)." };
        var policy = new Option<string>("--policy") { Description = "A policy file (docs/inspect-policy.md): which findings fail, warn or are allowed." };
        var printPolicy = new Option<bool>("--print-policy") { Description = "Print the effective policy (the default, or --policy's with every default filled in) as JSON and exit." };
        var attestation = new Option<string>("--attestation") { Description = "Also write the result as a signed in-toto statement (DSSE, .intoto.jsonl) to this file; needs --signing-key." };
        var signingKey = new Option<string>("--signing-key") { Description = "Private key that signs the --attestation." };
        var verifyAttestation = new Option<string>("--verify-attestation") { Description = "Check, before restoring the package, an inspection attestation (.intoto.jsonl or .sigstore.json) instead of inspecting: signed by a --key, about this package, and passed. Exit 0 passed, 1 not, 2 unreadable." };
        var format = new Option<string>("--format") { Description = "Output format: text (default), json, or html (one self-contained page).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "html");
        var command = new Command("inspect", "Account for every file of a package by the build's in-toto links, and list what the package can do to its consumers.")
        {
            input, links, keys, baseline, baselineFromCache, policy, printPolicy, format, attestation, signingKey, verifyAttestation,
        };
        command.SetAction(parse =>
        {
            InspectionPolicy effectivePolicy;
            try
            {
                effectivePolicy = parse.GetValue(policy) is { } policyPath ? InspectionPolicy.Load(policyPath) : InspectionPolicy.Default;
            }
            catch (InspectionException e)
            {
                stderr.WriteLine($"securebuild inspect: {e.Message}");
                return CliApplication.Usage;
            }

            if (parse.GetValue(printPolicy))
            {
                stdout.Write(JsonText.Write(effectivePolicy.ToJson(), indented: true).TrimEnd('\n') + "\n");
                return CliApplication.Success;
            }

            if (parse.GetValue(input) is not { } package)
            {
                stderr.WriteLine($"securebuild inspect: {InspectionCodes.InspectUsage}: no package given: name the .nupkg or publish folder to inspect (or use --print-policy).");
                return CliApplication.Usage;
            }

            if (parse.GetValue(verifyAttestation) is { } verifyPath)
            {
                return VerifyAttestation(package, verifyPath, parse.GetValue(keys) ?? Array.Empty<string>(), stdout, stderr);
            }

            var attestationPath = parse.GetValue(attestation);
            var signingKeyPath = parse.GetValue(signingKey);
            if ((attestationPath is null) != (signingKeyPath is null))
            {
                stderr.WriteLine($"securebuild inspect: {InspectionCodes.AttestationOptions}: --attestation and --signing-key go together: give both to write a signed attestation, or neither.");
                return CliApplication.Usage;
            }

            InspectionReport report;
            try
            {
                var options = new InspectionOptions
                {
                    Input = package,
                    LinksDirectory = parse.GetValue(links),
                    Baseline = parse.GetValue(baseline),
                    BaselineFromCache = parse.GetValue(baselineFromCache),
                    PackagesFolder = PackagesFolder(),
                    Policy = effectivePolicy,
                    LinkKeys = (parse.GetValue(keys) ?? Array.Empty<string>()).Select(PublicKey.Load).ToList(),
                };
                report = PackageInspector.Inspect(options);
            }
            catch (InspectionException e)
            {
                stderr.WriteLine($"securebuild inspect: {e.Message}");
                return CliApplication.Usage;
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"securebuild inspect: {e.Message}");
                return CliApplication.Usage;
            }
            catch (InputFileException e)
            {
                stderr.WriteLine($"securebuild inspect: {e.Message}");
                return CliApplication.Usage;
            }

            if (attestationPath is not null && !WriteAttestation(report, attestationPath, signingKeyPath!, stderr))
            {
                return CliApplication.Usage;
            }

            stdout.Write(parse.GetValue(format) switch
            {
                "json" => JsonText.Write(report.ToJson()) + "\n",
                "html" => InspectionHtml.Write(report),
                _ => report.ToText(),
            });
            return report.Failed ? CliApplication.Failure : CliApplication.Success;
        });
        return command;
    }

    /// <summary>NuGet's global packages folder as NuGet finds it: NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    private static string PackagesFolder()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in new[] { "NUGET_PACKAGES", "HOME" })
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                environment[name] = value;
            }
        }

        if (!environment.ContainsKey("HOME"))
        {
            environment["HOME"] = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return SecureBuild.Core.Hermetic.HermeticPlan.PackagesFolder(environment);
    }

    /// <summary>`--verify-attestation`: the consumer's check of an inspection attestation before restore.</summary>
    private static int VerifyAttestation(string package, string attestationPath, IReadOnlyList<string> keyPaths, TextWriter stdout, TextWriter stderr)
    {
        if (keyPaths.Count == 0)
        {
            stderr.WriteLine($"securebuild inspect: {InspectionCodes.AttestationUnverifiable}: --verify-attestation needs the --key the attestation must be signed by.");
            return CliApplication.Usage;
        }

        List<PublicKey> publicKeys;
        List<SecureBuild.Core.Attestation.DsseEnvelope> envelopes;
        Dictionary<string, string> digests;
        try
        {
            publicKeys = keyPaths.Select(PublicKey.Load).ToList();
            envelopes = EnvelopeFile.Read(attestationPath);
            digests = ArtifactDigests.Of(package);
        }
        catch (Exception e) when (e is KeyFormatException || e is IOException || e is UnauthorizedAccessException || e is InvalidDataException ||
            e is SecureBuild.Core.Attestation.AttestationFormatException || e is SecureBuild.Core.Sigstore.SigstoreFormatException)
        {
            stderr.WriteLine($"securebuild inspect: {InspectionCodes.AttestationUnverifiable}: the attestation cannot be checked: {e.Message}");
            return CliApplication.Usage;
        }

        var result = InspectionAttestation.Verify(envelopes, publicKeys, digests);
        if (!result.Passed)
        {
            foreach (var failure in result.Failures)
            {
                stderr.WriteLine($"FAILED: {failure}");
            }

            return CliApplication.Failure;
        }

        var predicate = result.Statement!.Predicate;
        var steps = predicate is not null && predicate.TryGetValue("steps", out var list) && list is JsonList stepList ? stepList.Count : 0;
        var verified = predicate is not null && predicate.TryGetValue("linksVerified", out var flag) && flag is JsonBool { Value: true };
        stdout.WriteLine($"PASSED: {Path.GetFileName(package)} was inspected and passed, attested by a key given ({string.Join(", ", publicKeys.Select(k => k.KeyId.Substring(0, Math.Min(8, k.KeyId.Length))))}); " +
            (steps == 0 ? "no links were given to the inspection: its files were not accounted for." : $"accounted against {steps} links{(verified ? ", their signatures verified" : ", their signatures not checked")}."));
        return CliApplication.Success;
    }

    private static bool WriteAttestation(InspectionReport report, string path, string keyPath, TextWriter stderr)
    {
        try
        {
            var line = InspectionAttestation.Sign(report, SigningKey.Load(keyPath));
            AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(line));
            return true;
        }
        catch (Exception e) when (e is KeyFormatException || e is IOException || e is UnauthorizedAccessException || e is InspectionException)
        {
            stderr.WriteLine($"securebuild inspect: {InspectionCodes.AttestationNotWritten}: the attestation {path} was not written: {e.Message}");
            return false;
        }
    }
}
