using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>
/// Runs the jobs of a GitHub Actions workflow on this machine as the runner would, without GitHub: each job in a fresh
/// workspace and RUNNER_TEMP of its own; `run:` scripts with `bash --noprofile --norc -eo pipefail` (the runner's
/// `shell: bash`), the workflow, job and step `env` and the runner's variables (CI, GITHUB_ACTIONS, RUNNER_TEMP, ...),
/// every `${{ }}` expression replaced from the matrix entry and the run's github/runner context (an expression it does
/// not know fails the test, so a change to the workflow is noticed). The actions the generated workflows use are done by
/// hand, as they behave: checkout (a clone of the repository at the commit), setup-dotnet (nothing: this machine's SDK
/// is the one global.json pins), upload-artifact and download-artifact (a folder per artifact). Any other action fails
/// the test. A builder can run inside a wrapper (e.g. other namespaces), given as the command that precedes bash.
/// </summary>
public sealed class GitHubJobRunner
{
    private static readonly Regex Expression = new(@"\$\{\{\s*(.*?)\s*\}\}", RegexOptions.Compiled);

    private readonly YamlMappingNode _workflow;
    private readonly string _repository;
    private readonly string _commit;
    private readonly string _artifacts;

    public GitHubJobRunner(string workflowFile, string repository, string commit, string artifacts)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(workflowFile))
        {
            yaml.Load(reader);
        }

        _workflow = (YamlMappingNode)yaml.Documents.Single().RootNode;
        _repository = repository;
        _commit = commit;
        _artifacts = artifacts;
        Directory.CreateDirectory(artifacts);
    }

    /// <summary>The job's matrix entries (strategy.matrix.include), each as name to value.</summary>
    public IReadOnlyList<Dictionary<string, string>> Matrix(string job) =>
        Map(Map(Job(job), "strategy"), "matrix") is { } matrix && matrix.Children.TryGetValue(new YamlScalarNode("include"), out var entries) && entries is YamlSequenceNode include
            ? include.Cast<YamlMappingNode>().Select(e => e.Children.ToDictionary(c => Scalar(c.Key), c => c.Value is YamlScalarNode s ? s.Value ?? "" : string.Join(",", ((YamlSequenceNode)c.Value).Select(Scalar)))).ToList()
            : new List<Dictionary<string, string>>();

    /// <summary>
    /// Runs <paramref name="job"/> in <paramref name="machine"/> (a fresh folder: workspace and RUNNER_TEMP below it).
    /// <paramref name="afterCheckout"/> may change the workspace (a tampered builder); <paramref name="wrapper"/> runs
    /// each script inside another command. Returns the log; a failing step fails with the log unless
    /// <paramref name="expectFailure"/>, which returns at the first failing step.
    /// </summary>
    public (bool Succeeded, string Log) Run(string job, string machine, IReadOnlyDictionary<string, string>? matrix = null,
        Action<string>? afterCheckout = null, IReadOnlyList<string>? wrapper = null, bool expectFailure = false)
    {
        var workspace = Path.Combine(machine, "work", "app");
        var temp = Path.Combine(machine, "temp");
        Directory.CreateDirectory(temp);
        var log = new StringBuilder();
        var context = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["runner.temp"] = temp,
            ["github.server_url"] = "https://github.com",
            ["github.repository"] = "acme/app",
            ["github.sha"] = _commit,
            ["github.ref"] = "refs/heads/main",
            ["github.event_name"] = "push",
        };
        foreach (var pair in matrix ?? new Dictionary<string, string>())
        {
            context["matrix." + pair.Key] = pair.Value;
        }

        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["CI"] = "true",
            ["GITHUB_ACTIONS"] = "true",
            ["RUNNER_ENVIRONMENT"] = "github-hosted",
            ["RUNNER_TEMP"] = temp,
            ["GITHUB_WORKSPACE"] = workspace,
            ["GITHUB_SHA"] = _commit,
            ["GITHUB_REPOSITORY"] = "acme/app",
            ["GITHUB_SERVER_URL"] = "https://github.com",
            ["GITHUB_REF"] = "refs/heads/main",
            ["GITHUB_RUN_ID"] = "1",
            ["GITHUB_JOB"] = job,
        };
        AddEnv(environment, Map(_workflow, "env"), context);
        AddEnv(environment, Map(Job(job), "env"), context);

        var index = 0;
        foreach (var step in ((YamlSequenceNode)Job(job)["steps"]).Cast<YamlMappingNode>())
        {
            index++;
            var name = Text(step, "name") ?? $"step {index}";
            log.AppendLine($"--- {job}: {name}");
            if (Text(step, "uses") is { } uses)
            {
                Use(uses, Map(step, "with"), context, workspace, log);
                if (uses.StartsWith("actions/checkout@", StringComparison.Ordinal))
                {
                    afterCheckout?.Invoke(workspace);
                }

                continue;
            }

            var script = Path.Combine(temp, $"step-{index}.sh");
            File.WriteAllText(script, Substitute(Text(step, "run") ?? throw new AssertionException($"{job}/{name}: neither uses nor run"), context));
            var stepEnvironment = new Dictionary<string, string?>(environment, StringComparer.Ordinal);
            AddEnv(stepEnvironment, Map(step, "env"), context);
            var command = (wrapper ?? Array.Empty<string>()).Concat(new[] { "bash", "--noprofile", "--norc", "-eo", "pipefail", script }).ToList();
            var result = SecureBuild.TestSupport.Run.Process(command[0], command.Skip(1), Directory.Exists(workspace) ? workspace : machine, stepEnvironment, TimeSpan.FromMinutes(15));
            log.Append(result.Output);
            if (result.ExitCode != 0)
            {
                log.AppendLine($"--- {job}: {name} failed with exit code {result.ExitCode}");
                if (expectFailure)
                {
                    return (false, log.ToString());
                }

                Assert.Fail(log.ToString());
            }
        }

        return (true, log.ToString());
    }

    private void Use(string uses, YamlMappingNode? with, IReadOnlyDictionary<string, string> context, string workspace, StringBuilder log)
    {
        string? With(string key) => with is not null && Text(with, key) is { } value ? Substitute(value, context) : null;
        var action = uses.Substring(0, uses.IndexOf('@'));
        switch (action)
        {
            case "actions/checkout":
                Git(Path.GetDirectoryName(workspace)!, "clone", "-q", "--no-local", _repository, workspace);
                Git(workspace, "checkout", "-q", "--detach", _commit);
                log.AppendLine($"checked out {_commit} into {workspace}");
                break;
            case "actions/setup-dotnet":
                log.AppendLine("setup-dotnet: the SDK global.json pins is this machine's");
                break;
            case "actions/upload-artifact":
                var from = With("path")!;
                Assert.That(Directory.Exists(from) && Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories).Any(), Is.True, $"upload-artifact: {from} is empty (if-no-files-found: error)");
                ScratchDirectory.Copy(from, Path.Combine(_artifacts, With("name")!));
                log.AppendLine($"uploaded {With("name")}");
                break;
            case "actions/download-artifact":
                var to = With("path")!;
                if (With("name") is { } single)
                {
                    ScratchDirectory.Copy(Path.Combine(_artifacts, single), to);
                }
                else
                {
                    var pattern = new Regex("^" + Regex.Escape(With("pattern")!).Replace(@"\*", ".*") + "$");
                    foreach (var artifact in Directory.GetDirectories(_artifacts).Where(d => pattern.IsMatch(Path.GetFileName(d))))
                    {
                        ScratchDirectory.Copy(artifact, Path.Combine(to, Path.GetFileName(artifact)));
                    }
                }

                log.AppendLine($"downloaded {With("name") ?? With("pattern")} into {to}");
                break;
            default:
                throw new AssertionException($"the runner stand-in does not know the action {uses}");
        }
    }

    private static void AddEnv(Dictionary<string, string?> environment, YamlMappingNode? env, IReadOnlyDictionary<string, string> context)
    {
        if (env is null)
        {
            return;
        }

        foreach (var pair in env.Children)
        {
            environment[Scalar(pair.Key)] = Substitute(Scalar(pair.Value), context);
        }
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> context) =>
        Expression.Replace(text, m => context.TryGetValue(m.Groups[1].Value, out var value)
            ? value
            : throw new AssertionException($"the runner stand-in cannot evaluate ${{{{ {m.Groups[1].Value} }}}}"));

    private YamlMappingNode Job(string name) => (YamlMappingNode)Map(_workflow, "jobs")![name];

    private static YamlMappingNode? Map(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value as YamlMappingNode : null;

    private static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    private static void Git(string directory, params string[] arguments)
    {
        Directory.CreateDirectory(directory);
        var result = SecureBuild.TestSupport.Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}
