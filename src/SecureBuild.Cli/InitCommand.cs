using System.CommandLine;
using System.Reflection;
using SecureBuild.Core.Tuf;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Pipelines;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild init [--ci github|tekton|azure] [--force] [--dry-run] [--check]`: adopts SecureBuild.Sdk in a
/// repository (global.json pin, Directory.Build.props), writes the lock (through `securebuild lock`), the verification
/// policy and the CI definition. Idempotent; never overwrites a user's file without --force; prints what it did.
/// --check writes nothing and reports drift (SB5407) and uncommitted pipeline files (SB5409). Exit codes: 0 done / in
/// sync, 1 something kept, drifted or the lock failed, 2 usage or a file init cannot edit. --org-policy holds the
/// settings to the organisation's floor (SB5453: exit 2 before anything is written; with --check, exit 1).
/// </summary>
internal static class InitCommand
{
    private const string Me = "securebuild init";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var ci = new Option<string?>("--ci") { Description = "The CI engine: github, tekton or azure (default: detected from .github/, .tekton/, azure-pipelines.yml)." };
        var force = new Option<bool>("--force") { Description = "Replace generated files that differ and a different SecureBuild.Sdk pin (your versions are in git)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what init would write; write nothing." };
        var check = new Option<bool>("--check") { Description = "Write nothing; report files that differ from what init generates (hand edits) and uncommitted pipeline files." };
        var noLock = new Option<bool>("--no-lock") { Description = "Do not create securebuild.lock.json (it needs a build; run `securebuild lock` later)." };
        var builders = new Option<string[]>("--builder")
        {
            Description = "A builder of the matrix (repeatable): a runner label (ubuntu-24.04), self-hosted:LABEL[,LABEL], or container[:IMAGE@sha256:DIGEST]. Default: the policy's, else ubuntu-24.04, ubuntu-22.04, container.",
        };
        var threshold = new Option<int?>("--threshold") { Description = "How many builders must agree on every output (default: the policy's, else 2)." };
        var branch = new Option<string>("--branch") { Description = "The branch whose pushes are built and signed.", DefaultValueFactory = _ => "main" };
        var root = new Option<string?>("--root") { Description = "The repository root (default: the nearest directory holding .git, else global.json)." };
        var orgPolicy = new Option<string?>("--org-policy")
        {
            Description = "The organisation's policy (securebuild-org-policy/v1), a file or, with --trust-repo, a target of the organisation's TUF repository: the threshold defaults to its minimum, and settings below it are refused (with --check: reported).",
        };
        var trust = TrustRepositoryOptions.Create();
        var command = new Command("init", "Set up SecureBuild in a repository: pin and adopt the SDK, write the lock, the verification policy and a hardened CI pipeline.")
        {
            ci, force, dryRun, check, noLock, builders, threshold, branch, root, orgPolicy, trust.Url, trust.Root, trust.Cache,
        };
        command.SetAction(parse =>
        {
            var repo = Path.GetFullPath(parse.GetValue(root) ?? RepositoryRoot.Find(Directory.GetCurrentDirectory()));
            try
            {
                OrgPolicy? org;
                try
                {
                    org = parse.GetValue(orgPolicy) is { } orgPath ? trust.LoadOrgPolicy(parse, orgPath) : null;
                }
                catch (TufException e)
                {
                    stderr.WriteLine($"{Me}: the organisation policy from the trust repository: {e.Message}");
                    return TrustRepositoryOptions.ExitCode(e);
                }

                var settings = Settings(repo, parse.GetValue(builders) ?? Array.Empty<string>(), parse.GetValue(threshold), parse.GetValue(branch)!, parse.GetValue(check) ? null : org);
                if (parse.GetValue(check))
                {
                    return Check(repo, parse.GetValue(ci), settings, org, stdout, stderr);
                }

                var engine = Engine(repo, parse.GetValue(ci));
                var violations = org?.Violations(settings.Builders, settings.Threshold, engine) ?? Array.Empty<string>();
                foreach (var violation in violations)
                {
                    stderr.WriteLine($"{Me}: {OrgViolation(violation)}");
                }

                if (violations.Count > 0)
                {
                    return CliApplication.Usage;
                }

                return Run(repo, engine, settings, parse.GetValue(force), parse.GetValue(dryRun), parse.GetValue(noLock), stdout, stderr);
            }
            catch (PipelineException e)
            {
                stderr.WriteLine($"{Me}: {e.Message}");
                return CliApplication.Usage;
            }
        });
        return command;
    }

    private static int Run(string repo, CiEngine engine, PipelineSettings settings, bool force, bool dryRun, bool noLock, TextWriter stdout, TextWriter stderr)
    {
        var plan = RepositoryInitializer.Plan(repo, engine, settings, force);
        var prefix = dryRun ? "would " : string.Empty;
        foreach (var file in plan)
        {
            switch (file.Action)
            {
                case InitAction.Create:
                    stdout.WriteLine($"{prefix}create    {file.Path}");
                    break;
                case InitAction.Update:
                    stdout.WriteLine($"{prefix}update    {file.Path}");
                    break;
                case InitAction.Unchanged:
                    stdout.WriteLine($"unchanged {file.Path}");
                    break;
                default:
                    stderr.WriteLine($"{Me}: {file.Code}: {file.Reason}");
                    break;
            }
        }

        bool kept = plan.Any(f => f.Action == InitAction.Kept);
        var lockPath = Path.Combine(repo, RepositoryLock.DefaultFileName);
        if (dryRun)
        {
            stdout.WriteLine(File.Exists(lockPath) ? $"unchanged {RepositoryLock.DefaultFileName}" :
                noLock ? $"skip      {RepositoryLock.DefaultFileName} (--no-lock)" : $"would create {RepositoryLock.DefaultFileName} (securebuild lock: builds the repository)");
            return kept ? CliApplication.Failure : CliApplication.Success;
        }

        RepositoryInitializer.Apply(repo, plan);
        if (File.Exists(lockPath))
        {
            stdout.WriteLine($"unchanged {RepositoryLock.DefaultFileName} (exists; `securebuild lock` checks it against the build)");
        }
        else if (noLock)
        {
            stdout.WriteLine($"skip      {RepositoryLock.DefaultFileName} (--no-lock; run `securebuild lock` before the first CI build, which requires it)");
        }
        else
        {
            stdout.WriteLine($"create    {RepositoryLock.DefaultFileName} (securebuild lock: builds the repository)");
            if (LockCommand.Run(stdout, stderr, update: false, pinSdk: false, project: null, rootOption: repo, properties: Array.Empty<string>()) != CliApplication.Success)
            {
                stderr.WriteLine($"{Me}: {PipelineCodes.LockFailed}: the lock could not be written (above: why). The other files are in place; fix the build, then run `securebuild lock` (or init again).");
                return CliApplication.Failure;
            }
        }

        if (kept)
        {
            return CliApplication.Failure;
        }

        stdout.WriteLine($"done: commit these files; the pipeline ({CiEngines.DefinitionPath(engine)}) builds on {settings.Builders.Count} builders and requires {settings.Threshold} to agree.");
        return CliApplication.Success;
    }

    private static int Check(string repo, string? ci, PipelineSettings settings, OrgPolicy? org, TextWriter stdout, TextWriter stderr)
    {
        var engines = ci is not null
            ? new[] { CiEngines.Parse(ci) }
            : CiEngines.All.Where(e => File.Exists(Path.Combine(repo, CiEngines.DefinitionPath(e)))).ToArray();
        if (engines.Length == 0)
        {
            stderr.WriteLine($"{Me}: {PipelineCodes.Drift}: no SecureBuild pipeline definition in {repo} ({string.Join(", ", CiEngines.All.Select(CiEngines.DefinitionPath))}). Run `securebuild init`.");
            return CliApplication.Failure;
        }

        var findings = new List<string>();
        foreach (var engine in engines)
        {
            findings.AddRange(RepositoryInitializer.Check(repo, engine, settings));
        }

        findings = findings.Distinct(StringComparer.Ordinal).ToList();
        findings.AddRange(Uncommitted(repo, engines));
        if (org is not null)
        {
            findings.AddRange(engines.SelectMany(e => org.Violations(settings.Builders, settings.Threshold, e)).Distinct(StringComparer.Ordinal).Select(OrgViolation));
        }
        foreach (var finding in findings)
        {
            stderr.WriteLine($"{Me}: {finding}");
        }

        if (findings.Count > 0)
        {
            return CliApplication.Failure;
        }

        stdout.WriteLine($"in sync: {string.Join(", ", engines.Select(CiEngines.DefinitionPath))}, {PipelineSettings.PolicyPath}, global.json and Directory.Build.props are what init generates.");
        return CliApplication.Success;
    }

    /// <summary>SB5409 for each pipeline or build-definition file git reports as changed and not committed (nothing when git or the work tree is missing).</summary>
    private static IEnumerable<string> Uncommitted(string repo, IEnumerable<CiEngine> engines)
    {
        var paths = engines.Select(CiEngines.DefinitionPath).Concat(new[] { PipelineSettings.PolicyPath, "global.json", "Directory.Build.props", RepositoryLock.DefaultFileName });
        foreach (var (path, untracked) in GitSource.Uncommitted(repo, paths, TimeSpan.FromSeconds(30)) ?? Array.Empty<(string, bool)>())
        {
            yield return $"{PipelineCodes.Uncommitted}: {path} {(untracked ? "is not committed" : "has changes git has not committed")}: a pipeline or build definition changes only through a reviewed commit. Commit it, or restore it with `git checkout -- FILE`.";
        }
    }

    private static CiEngine Engine(string repo, string? ci)
    {
        if (ci is not null)
        {
            return CiEngines.Parse(ci);
        }

        var found = CiEngines.Detect(repo);
        if (found.Count == 1)
        {
            return found[0];
        }

        throw new PipelineException(PipelineCodes.UnknownEngine,
            found.Count == 0 ? "no CI engine detected (no .github/, .tekton/ or azure-pipelines.yml)." : $"several CI engines detected ({string.Join(", ", found.Select(CiEngines.Name))}).",
            "Choose one with --ci github, --ci tekton or --ci azure.");
    }

    private static string OrgViolation(string violation) =>
        $"{PipelineCodes.OrgPolicyViolated}: {violation}. Change --builder / --threshold / --ci to meet the organisation policy (init --force rewrites the pipeline and policy).";

    /// <summary>
    /// The builders and threshold: the options, else the existing policy's, else the defaults; with an organisation
    /// policy and no --threshold, a threshold below its minimum is raised to it where the builders allow.
    /// </summary>
    private static PipelineSettings Settings(string repo, string[] builderSpecs, int? threshold, string branch, OrgPolicy? org)
    {
        var settings = new PipelineSettings { Branch = branch, SecureBuildVersion = ToolVersion() };
        VerificationPolicy? policy = null;
        var policyPath = Path.Combine(repo, PipelineSettings.PolicyPath);
        if (builderSpecs.Length == 0 && threshold is null && File.Exists(policyPath))
        {
            policy = VerificationPolicy.Load(policyPath);
        }

        if (builderSpecs.Length > 0)
        {
            settings.Builders = builderSpecs.Select(PipelineBuilder.Parse).ToList();
        }
        else if (policy is not null)
        {
            settings.Builders = policy.Builders.Select(PipelineBuilder.Parse).ToList();
        }

        settings.Threshold = threshold ?? policy?.Threshold ?? Math.Min(2, settings.Builders.Count);
        if (org is not null && threshold is null && settings.Threshold < org.MinThreshold && org.MinThreshold <= settings.Builders.Count)
        {
            settings.Threshold = org.MinThreshold;
        }

        settings.Validate();
        return settings;
    }

    /// <summary>
    /// This tool's package version (a prerelease label included, a "+commit" suffix not): the SDK and tool version the
    /// repository is pinned to. The assembly version would drop the label and pin a version that was never published.
    /// </summary>
    internal static string ToolVersion()
    {
        var informational = typeof(InitCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return typeof(InitCommand).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.1.0";
        }

        var plus = informational!.IndexOf('+');
        return plus >= 0 ? informational.Substring(0, plus) : informational;
    }
}
