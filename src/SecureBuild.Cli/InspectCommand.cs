using System.CommandLine;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild inspect PACKAGE.nupkg|DIR [--links DIR] [--key PUB] [--baseline OLD.nupkg] [--format text|json]`:
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
        var format = new Option<string>("--format") { Description = "Output format: text (default) or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("inspect", "Account for every file of a package by the build's in-toto links, and list what the package can do to its consumers.")
        {
            input, links, keys, baseline, format,
        };
        command.SetAction(parse =>
        {
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

            stdout.Write(parse.GetValue(format) == "json" ? JsonText.Write(report.ToJson()) + "\n" : report.ToText());
            return report.Failed ? CliApplication.Failure : CliApplication.Success;
        });
        return command;
    }
}
