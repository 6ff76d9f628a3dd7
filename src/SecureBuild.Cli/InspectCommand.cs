using System.CommandLine;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild inspect PACKAGE.nupkg|DIR [--links DIR] [--key PUB] [--baseline OLD.nupkg] [--format text|json|html]`:
/// accounts for every file of a package by the build's links and lists what the package can do (Core/Inspection).
/// Exit 0 when nothing fails the default policy, 1 when something does (an unaccounted or unreadable file), 2 when an
/// input cannot be read.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("package") { Description = "The .nupkg to inspect, or a folder (a publish output)." };
        var links = new Option<string>("--links") { Description = "The build's attestations folder (its *.link files): every file must be a product or a material of a recorded step." };
        var keys = new Option<string[]>("--key") { Description = "Public key the links must be signed by (repeatable); without it the links are not signature-checked.", AllowMultipleArgumentsPerToken = true };
        var baseline = new Option<string>("--baseline") { Description = "The previous release (.nupkg or folder): capabilities new in this release are reported." };
        var attestation = new Option<string>("--attestation") { Description = "Also write the result as a signed in-toto statement (DSSE, .intoto.jsonl) to this file; needs --signing-key." };
        var signingKey = new Option<string>("--signing-key") { Description = "Private key that signs the --attestation." };
        var format = new Option<string>("--format") { Description = "Output format: text (default), json, or html (one self-contained page).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "html");
        var command = new Command("inspect", "Account for every file of a package by the build's in-toto links, and list what the package can do to its consumers.")
        {
            input, links, keys, baseline, format, attestation, signingKey,
        };
        command.SetAction(parse =>
        {
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
                    Input = parse.GetValue(input)!,
                    LinksDirectory = parse.GetValue(links),
                    Baseline = parse.GetValue(baseline),
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
