using System.CommandLine;
using SecureBuild.Core.Pipelines;
using SecureBuild.Core.Tuf;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>
/// Reproducibility verbs: `securebuild diff` (the .NET-aware diff), `securebuild rebuild` (build twice under varied
/// conditions and compare) and `securebuild compare` (k-of-n agreement of attestations from different builders).
/// </summary>
internal static class ReproCommands
{
    public static Command CreateDiff(TextWriter stdout, TextWriter stderr)
    {
        var left = new Argument<string>("A") { Description = "First file, package or directory." };
        var right = new Argument<string>("B") { Description = "Second file, package or directory." };
        var format = new Option<string>("--format") { Description = "Output format.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "html");
        var output = new Option<string>("--output", "-o") { Description = "Write the report to this file instead of standard output." };
        var command = new Command("diff", "Compare two builds' outputs (assemblies, PDBs, packages, JSON, text) and explain every difference. Exit 0 identical, 1 different, 2 usage or unreadable input.")
        {
            left, right, format, output,
        };
        command.SetAction(parse =>
        {
            DiffReport report;
            try
            {
                report = ArtifactDiffer.Compare(parse.GetValue(left)!, parse.GetValue(right)!);
            }
            catch (Exception e) when (e is ArgumentException || e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"securebuild diff: SB3902: {e.Message} Give two readable files or two directories.");
                return CliApplication.Usage;
            }

            if (!Write(report, parse.GetValue(format)!, parse.GetValue(output), stdout, stderr, "securebuild diff"))
            {
                return CliApplication.Usage;
            }

            return report.Identical ? CliApplication.Success : CliApplication.Failure;
        });
        return command;
    }

    public static Command CreateRebuild(TextWriter stdout, TextWriter stderr)
    {
        var target = new Argument<string>("PROJECT|SOLUTION")
        {
            Description = "The project, solution or directory to rebuild (default: the current directory).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var variations = new Option<string>("--variations")
        {
            Description = "What to vary, reprotest-style: all (default), none, or a list like all,-home or build_path,timezone. Known: " + string.Join(", ", Variations.All) + ".",
            DefaultValueFactory = _ => "all",
        };
        var configuration = new Option<string>("--configuration", "-c") { Description = "Build configuration.", DefaultValueFactory = _ => "Release" };
        var verb = new Option<string>("--command") { Description = "dotnet command both builds run: pack (default; builds too) or build.", DefaultValueFactory = _ => "pack" };
        verb.AcceptOnlyFromAmong("pack", "build");
        var keep = new Option<bool>("--keep") { Description = "Keep the two build directories (their path is printed)." };
        var sequential = new Option<bool>("--sequential") { Description = "Build one after the other even on a machine with several cores." };
        var root = new Option<string>("--root") { Description = "Directory to copy (default: the git work tree, else the nearest directory with a global.json, else the project's directory)." };
        var format = new Option<string>("--format") { Description = "Report format on standard output.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var report = new Option<string>("--report") { Description = "Directory to write report.html, report.json and report.txt into." };
        var key = new Option<string>("--key") { Description = "Private key that signs the reproducibility attestation (in-toto Statement in DSSE)." };
        var attestation = new Option<string>("--attestation") { Description = "Where to write the attestation (default: reproducibility.intoto.jsonl in --report, else in the current directory). Needs --key." };
        var linkKey = new Option<string>("--link-key") { Description = "A rebuilder's private key: when both builds agree, sign an in-toto link for the roles file's rebuild step whose products are the rebuilt packages." };
        var linkStep = new Option<string>("--step") { Description = "With --link-key: the rebuild step's name (the roles file's rebuilders \"step\").", DefaultValueFactory = _ => LayoutRoles.DefaultRebuildStep };
        var linkDir = new Option<string>("--link-dir") { Description = "With --link-key: where to write <step>.<keyid8>.link (the verifier's link directory).", DefaultValueFactory = _ => "." };
        var properties = new Option<string[]>("--property", "-p")
        {
            Description = "MSBuild property for both builds, Name=Value (repeatable; e.g. -p:WarningsNotAsErrors=NU1603, -p \"TargetFrameworks=net8.0;net10.0\").",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("rebuild", "Build the source twice from clean copies in isolated directories under varied conditions and compare every output. Exit 0 identical, 1 different, 2 usage or when the source cannot be built at all.")
        {
            target, variations, configuration, verb, keep, sequential, root, format, report, key, attestation, properties, linkKey, linkStep, linkDir,
        };
        command.SetAction(parse =>
        {
            SigningKey? signingKey = null;
            SigningKey? rebuilderKey = null;
            var options = new RebuildOptions
            {
                Target = parse.GetValue(target) ?? ".",
                Root = parse.GetValue(root),
                Configuration = parse.GetValue(configuration)!,
                Command = parse.GetValue(verb)!,
                Keep = parse.GetValue(keep),
                Parallel = parse.GetValue(sequential) ? false : null,
                Progress = line => stderr.WriteLine("rebuild: " + line),
            };
            try
            {
                options.ExtraArguments = PropertyArgument.ToSwitches(parse.GetValue(properties) ?? Array.Empty<string>());
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine($"securebuild rebuild: SB3471: {e.Message}");
                return CliApplication.Usage;
            }

            try
            {
                options.Variations = Variations.Parse(parse.GetValue(variations));
                if (parse.GetValue(key) is { } keyPath)
                {
                    signingKey = SigningKey.Load(keyPath);
                }
                else if (parse.GetValue(attestation) is not null)
                {
                    stderr.WriteLine("securebuild rebuild: --attestation needs --key to sign it.");
                    return CliApplication.Usage;
                }

                if (parse.GetValue(linkKey) is { } linkKeyPath)
                {
                    rebuilderKey = SigningKey.Load(linkKeyPath);
                    try
                    {
                        LinkFile.FileName(parse.GetValue(linkStep)!, rebuilderKey.KeyId);
                    }
                    catch (ArgumentException e)
                    {
                        stderr.WriteLine($"securebuild rebuild: {RolesException.NoPackages}: --step: {e.Message} Give the roles file's rebuilders step name (default {LayoutRoles.DefaultRebuildStep}).");
                        return CliApplication.Usage;
                    }
                }
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine($"securebuild rebuild: {e.Message}");
                return CliApplication.Usage;
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"securebuild rebuild: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }

            RebuildResult result;
            try
            {
                result = new Rebuilder(new ProcessRunner()).Run(options);
            }
            catch (RebuildException e)
            {
                stderr.WriteLine($"securebuild rebuild: SB3904: {e.Message}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"securebuild rebuild: SB3904: {e.Message}");
                return CliApplication.Usage;
            }

            foreach (var skipped in result.NotApplied)
            {
                stderr.WriteLine($"rebuild: not varied: {skipped.Key}: {skipped.Value}");
            }

            if (options.Keep)
            {
                stderr.WriteLine($"rebuild: kept the builds in {result.WorkDirectory}");
            }

            var reportDir = parse.GetValue(report);
            if (reportDir is not null)
            {
                Directory.CreateDirectory(reportDir);
                File.WriteAllText(Path.Combine(reportDir, "report.html"), ReportWriters.Html(result.Report, "Reproducibility: " + string.Join(" ", result.Command)));
                File.WriteAllText(Path.Combine(reportDir, "report.json"), ReportWriters.JsonText(result.Report));
                File.WriteAllText(Path.Combine(reportDir, "report.txt"), ReportWriters.Text(result.Report));
                stderr.WriteLine($"rebuild: reports in {Path.GetFullPath(reportDir)} (report.html, report.json, report.txt)");
            }

            if (signingKey is not null)
            {
                var path = parse.GetValue(attestation) ?? Path.Combine(reportDir ?? ".", "reproducibility.intoto.jsonl");
                var statement = ReproducibilityAttestation.CreateStatement(result, typeof(ReproCommands).Assembly.GetName().Version?.ToString());
                var directory = Path.GetDirectoryName(Path.GetFullPath(path));
                if (directory is not null)
                {
                    Directory.CreateDirectory(directory);
                }

                Core.IO.AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(ReproducibilityAttestation.Sign(statement, signingKey)));
                stderr.WriteLine($"rebuild: attestation {path} signed by {signingKey.KeyId}");
            }

            bool linked = rebuilderKey is null || WriteRebuildLink(result, rebuilderKey, parse.GetValue(linkStep)!, parse.GetValue(linkDir)!, stderr);
            if (parse.GetValue(format) == "json")
            {
                stdout.Write(ReportWriters.JsonText(result.Report));
            }
            else
            {
                stdout.Write(ReportWriters.Text(result.Report));
                stdout.WriteLine(result.Reproducible
                    ? $"REPRODUCIBLE: {result.A.Outputs.Count} outputs identical ({(result.Parallel ? "concurrent" : "sequential")} builds: {result.A.Duration.TotalSeconds:0.0} s and {result.B.Duration.TotalSeconds:0.0} s)."
                    : "NOT REPRODUCIBLE.");
            }

            return !result.Reproducible ? CliApplication.Failure : linked ? CliApplication.Success : CliApplication.Usage;
        });
        return command;
    }

    /// <summary>
    /// The rebuilder's link for the roles file's rebuild step: only when its two builds agree (what it signs is then
    /// what it can rebuild), with the packages named relative to the copied root, as the build's pack link names them.
    /// </summary>
    private static bool WriteRebuildLink(RebuildResult result, SigningKey key, string step, string linkDir, TextWriter stderr)
    {
        try
        {
            if (!result.Reproducible)
            {
                throw new RolesException(RolesException.NotReproducible,
                    "the two rebuilds differ (see the report), so no rebuild link was written: a rebuilder attests only bytes it reproduces.",
                    "Make the build reproducible (the report names each difference and its likely cause), then rebuild again.");
            }

            var link = ReleaseSteps.RebuildLink(step, result.A.OutputDigests, result.Command);
            string path = LinkFile.WriteSigned(link, key, linkDir);
            stderr.WriteLine($"rebuild: link {path} ({link.Products.Count} package(s)) signed by {key.KeyId}");
            return true;
        }
        catch (RolesException e)
        {
            stderr.WriteLine($"securebuild rebuild: {e.Code}: {e.Message} {e.Fix}");
            return false;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"securebuild rebuild: SB3904: cannot write the rebuild link into {linkDir}: {e.Message}");
            return false;
        }
    }

    public static Command CreateCompare(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("ATTESTATION") { Description = "Provenance or reproducibility attestations (.intoto.jsonl, one DSSE envelope per line, or .sigstore.json bundles).", Arity = ArgumentArity.OneOrMore };
        var keys = new Option<string[]>("--key") { Description = "Public key of a trusted builder (repeat the option for each).", Required = true };
        var threshold = new Option<int>("--threshold") { Description = "How many builders (distinct keys) must attest the same digest for each subject.", DefaultValueFactory = _ => 2 };
        var subjects = new Option<string[]>("--subject") { Description = "Only these subject names must agree (repeat the option for each; default: every subject named)." };
        var orgPolicy = new Option<string>("--org-policy") { Description = "The organisation's policy (securebuild-org-policy/v1), a file or, with --trust-repo, a target of the organisation's TUF repository: too few builder keys, a lower threshold or (with --policy) a self-hosted builder fail the verification (SB5453)." };
        var policy = new Option<string>("--policy") { Description = "The verification policy (securebuild/policy.json, written by `securebuild init`): its threshold applies, and the summary records its digest." };
        var vsa = new Option<string>("--vsa") { Description = "Write the SLSA verification summary (https://slsa.dev/verification_summary/v1) here: an in-toto Statement, or a signed DSSE line with --vsa-key. Needs --resource-uri." };
        var vsaPredicate = new Option<string>("--vsa-predicate") { Description = "Also write the summary's predicate alone here (for signers that take a predicate, e.g. actions/attest)." };
        var vsaKey = new Option<string>("--vsa-key") { Description = "Private key that signs the summary (DSSE, .intoto.jsonl)." };
        var resourceUri = new Option<string>("--resource-uri") { Description = "What was verified, for the summary (e.g. git+https://github.com/ORG/REPO@COMMIT)." };
        var trust = TrustRepositoryOptions.Create();
        var command = new Command("compare", "Check that k of n builders (distinct keys) agree on the digests of their attestations' subjects; optionally write a SLSA verification summary. Exit 0 agreed, 1 not, 2 usage or unreadable input.")
        {
            files, keys, threshold, subjects, policy, orgPolicy, vsa, vsaPredicate, vsaKey, resourceUri, trust.Url, trust.Root, trust.Cache,
        };
        command.SetAction(parse =>
        {
            var trusted = new List<PublicKey>();
            var inputs = new List<AttestationInput>();
            try
            {
                foreach (var keyFile in parse.GetValue(keys)!)
                {
                    trusted.Add(PublicKey.Load(keyFile));
                }

                foreach (var file in parse.GetValue(files)!)
                {
                    if (file.EndsWith(SigstoreBundleWriter.FileSuffix, StringComparison.OrdinalIgnoreCase))
                    {
                        var bundle = SigstoreBundle.Load(file);
                        if (bundle.DsseEnvelope is { } envelope)
                        {
                            inputs.Add(new AttestationInput(file, envelope));
                        }
                        else
                        {
                            stderr.WriteLine($"securebuild compare: {file}: a message-signature bundle carries no attestation.");
                            return CliApplication.Usage;
                        }

                        continue;
                    }

                    var lines = InputFile.ReadAllLines(file, InputKind.Bundle);
                    for (int i = 0; i < lines.Length; i++)
                    {
                        if (lines[i].Trim().Length > 0)
                        {
                            inputs.Add(new AttestationInput($"{file}:{i + 1}", DsseEnvelope.Parse(lines[i])));
                        }
                    }
                }
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"securebuild compare: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is AttestationFormatException || e is SigstoreFormatException)
            {
                stderr.WriteLine($"securebuild compare: SB3903: {e.Message} Give attestations as written by SecureBuild (.intoto.jsonl, .sigstore.json).");
                return CliApplication.Usage;
            }

            int k = parse.GetValue(threshold);
            OrgPolicy? org;
            try
            {
                org = parse.GetValue(orgPolicy) is { } orgPath ? trust.LoadOrgPolicy(parse, orgPath) : null;
            }
            catch (PipelineException e)
            {
                stderr.WriteLine($"securebuild compare: {e.Message}");
                return CliApplication.Usage;
            }
            catch (TufException e)
            {
                stderr.WriteLine($"securebuild compare: the organisation policy from the trust repository: {e.Message}");
                return TrustRepositoryOptions.ExitCode(e);
            }

            var summaryOptions = new SummaryOptions(parse.GetValue(vsa), parse.GetValue(vsaPredicate), parse.GetValue(vsaKey), parse.GetValue(resourceUri), parse.GetValue(policy), org);
            if (!summaryOptions.Prepare(parse.GetResult(threshold) is { Implicit: false }, ref k, stderr))
            {
                return CliApplication.Usage;
            }

            if (k < 1 || k > trusted.Select(t => t.KeyId).Distinct().Count())
            {
                stderr.WriteLine($"securebuild compare: --threshold must be between 1 and the number of distinct --key values ({trusted.Select(t => t.KeyId).Distinct().Count()}).");
                return CliApplication.Usage;
            }

            var result = AttestationAgreement.Evaluate(inputs, trusted, k, parse.GetValue(subjects));
            if (!summaryOptions.MeetsOrgPolicy(trusted.Select(t => t.KeyId).Distinct().Count(), k, result, stderr))
            {
                return CliApplication.Failure;
            }

            if (!summaryOptions.Write(result, k, parse.GetValue(files)!, stdout, stderr))
            {
                return CliApplication.Usage;
            }
            foreach (var ignored in result.Ignored)
            {
                stderr.WriteLine($"ignored: {ignored}");
            }

            foreach (var shared in result.SharedWorkers)
            {
                stdout.WriteLine($"SHARED WORKER: {shared}");
            }

            foreach (var conflict in result.Conflicts)
            {
                stdout.WriteLine($"CONFLICT: {conflict}");
            }

            foreach (var subject in result.Subjects)
            {
                var best = subject.Value.OrderByDescending(d => result.Independent(d.Value)).First();
                var count = result.Independent(best.Value);
                stdout.WriteLine($"{(count >= k ? "agreed" : "short ")} {count}/{k}  {subject.Key}  {best.Key}");
            }

            if (!result.Passed)
            {
                foreach (var failure in result.Failures)
                {
                    stdout.WriteLine($"FAILED: {failure}");
                }

                return CliApplication.Failure;
            }

            stdout.WriteLine($"PASSED: {result.Subjects.Count} subject(s) attested identically by at least {k} of {result.Builders.Count} builders.");
            return CliApplication.Success;
        });
        return command;
    }

    private static bool Write(DiffReport report, string format, string? output, TextWriter stdout, TextWriter stderr, string verb)
    {
        var text = format switch
        {
            "json" => ReportWriters.JsonText(report),
            "html" => ReportWriters.Html(report),
            _ => ReportWriters.Text(report),
        };
        if (output is null)
        {
            stdout.Write(text);
            return true;
        }

        try
        {
            File.WriteAllText(output, text);
            stderr.WriteLine($"{verb}: wrote {output}");
            return true;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"{verb}: SB3907: cannot write the report: {e.Message}");
            return false;
        }
    }
}
