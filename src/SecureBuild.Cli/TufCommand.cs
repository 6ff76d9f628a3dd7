using System.CommandLine;
using SecureBuild.Core.IO;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild tuf`: a plain TUF client with the command line of the tuf-conformance client protocol, so that suite
/// can drive it: `--metadata-dir DIR init TRUSTED_ROOT`, `--metadata-url URL --metadata-dir DIR refresh`,
/// `... download --target-name NAME --target-base-url URL --target-dir DIR`. Exit 0 success, 1 any refusal, 2 usage.
/// </summary>
internal static class TufCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var metadataDir = new Option<string>("--metadata-dir") { Description = "The local trusted metadata directory.", Required = true, Recursive = true };
        var metadataUrl = new Option<string>("--metadata-url") { Description = "The repository's metadata URL (http(s), file:// or a directory).", Recursive = true };
        var tuf = new Command("tuf", "A TUF 1.0 client (the tuf-conformance client command line).") { metadataDir, metadataUrl };

        var trustedRoot = new Argument<string>("trusted-root") { Description = "The initial trusted root.json (obtained out of band)." };
        var init = new Command("init", "Start trusting a repository: copy its initial root into --metadata-dir.") { trustedRoot };
        init.SetAction(parse => TrustCommand.Guard("securebuild tuf init", stderr, () =>
        {
            byte[] root = InputFile.ReadAllBytes(parse.GetValue(trustedRoot)!, InputKind.Metadata);
            var parsed = (TufRootMetadata)TufMetadata.Parse(root, "root", "trusted root");
            string dir = parse.GetValue(metadataDir)!;
            Directory.CreateDirectory(dir);
            AtomicFile.WriteAllBytes(Path.Combine(dir, "root.json"), root);
            stdout.WriteLine($"OK: trusting root version {parsed.Version} in {Path.GetFullPath(dir)}");
            return CliApplication.Success;
        }));

        var referenceTime = TrustCommand.ReferenceTimeOption();
        var refresh = new Command("refresh", "Update root, timestamp, snapshot and targets metadata.") { referenceTime };
        refresh.SetAction(parse => Run("securebuild tuf refresh", parse, metadataDir, metadataUrl, null, parse.GetValue(referenceTime), stdout, stderr, client =>
        {
            client.Refresh();
            stdout.WriteLine($"OK: root version {client.Root.Version}, timestamp {client.Timestamp!.Version}, snapshot {client.Snapshot!.Version}, targets {client.TopLevelTargets!.Version}");
        }));

        var targetName = new Option<string>("--target-name") { Description = "The target to download.", Required = true };
        var targetBaseUrl = new Option<string>("--target-base-url") { Description = "The repository's targets URL.", Required = true };
        var targetDir = new Option<string>("--target-dir") { Description = "Where to write it (as its URL-encoded name).", Required = true };
        var downloadTime = TrustCommand.ReferenceTimeOption();
        var download = new Command("download", "Refresh, then download one target, checking its length and hashes.") { targetName, targetBaseUrl, targetDir, downloadTime };
        download.SetAction(parse => Run("securebuild tuf download", parse, metadataDir, metadataUrl, parse.GetValue(targetBaseUrl), parse.GetValue(downloadTime), stdout, stderr, client =>
        {
            string name = parse.GetValue(targetName)!;
            var info = client.FindTarget(name)
                ?? throw new TufException(TufException.TargetNotFound, $"no trusted role lists target '{name}'.", "Check the target name.");
            byte[] bytes = client.DownloadTarget(info);
            string dir = parse.GetValue(targetDir)!;
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, Uri.EscapeDataString(name));
            AtomicFile.WriteAllBytes(path, bytes);
            stdout.WriteLine($"OK: {name} ({bytes.Length} bytes) -> {path}");
        }));

        tuf.Subcommands.Add(init);
        tuf.Subcommands.Add(refresh);
        tuf.Subcommands.Add(download);
        return tuf;
    }

    private static int Run(string name, ParseResult parse, Option<string> metadataDir, Option<string> metadataUrl, string? targetBaseUrl, string? referenceTime,
        TextWriter stdout, TextWriter stderr, Action<TufClient> body)
    {
        string? url = parse.GetValue(metadataUrl);
        if (url is null)
        {
            stderr.WriteLine($"{name}: give --metadata-url.");
            return CliApplication.Usage;
        }

        if (!TrustCommand.TryClock(name, referenceTime, stderr, out var clock))
        {
            return CliApplication.Usage;
        }

        int code = TrustCommand.Guard(name, stderr, () =>
        {
            using var fetcher = new TufFetcher();
            var client = new TufClient(new TufClientOptions
            {
                MetadataBaseUrl = url,
                TargetBaseUrl = targetBaseUrl,
                MetadataDirectory = parse.GetValue(metadataDir)!,
                Clock = clock,
                Fetcher = fetcher,
            });
            body(client);
            return CliApplication.Success;
        });
        // The conformance protocol: any refusal or failure is exit 1.
        return code == CliApplication.Success ? code : CliApplication.Failure;
    }
}
