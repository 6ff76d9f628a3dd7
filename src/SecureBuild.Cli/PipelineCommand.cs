using System.CommandLine;
using SecureBuild.Core.IO;
using SecureBuild.Core.Pipelines;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild pipeline check FILE...`: lints GitHub Actions workflows and Tekton files for the hardening rules of the
/// generated ones (Core's <see cref="WorkflowChecker"/>, SB5500–SB5507, SB5509 and SB5510; <see cref="TektonChecker"/>,
/// SB5520–SB5526). A file with a tekton.dev document is a Tekton file. Exit 0 no finding, 1 findings, 2 a file that is
/// not a readable workflow or Tekton file (SB5508).
/// </summary>
internal static class PipelineCommand
{
    /// <summary>Bounds for hostile YAML: aliases are expanded into the tree, so a small file could otherwise name a huge one.</summary>
    private const int MaxNodes = 200_000;

    /// <summary>Nesting bound: a self-referencing alias makes a cyclic graph; real workflows nest fewer than 15 levels.</summary>
    private const int MaxDepth = 64;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("WORKFLOW") { Description = "GitHub Actions workflow files (.github/workflows/*.yml) or Tekton files (.tekton/*.yaml).", Arity = ArgumentArity.OneOrMore };
        var check = new Command("check", "Lint GitHub Actions workflows (actions pinned by commit SHA, least permissions, no pull_request_target checkout of untrusted code, no secrets or OIDC in build jobs, OIDC for signing jobs, timeouts, concurrency, no persisted credentials, no script injection, a compare threshold the builders can meet) and Tekton files (Chains type hints, images pinned by digest, non-root read-only unprivileged steps). Exit 0 clean, 1 findings, 2 unreadable.")
        {
            files,
        };
        check.SetAction(parse =>
        {
            int exit = CliApplication.Success;
            foreach (var file in parse.GetValue(files)!)
            {
                IReadOnlyList<PipelineFinding> findings;
                try
                {
                    var documents = ReadDocuments(file);
                    findings = TektonChecker.IsTekton(documents) ? TektonChecker.Check(documents) : WorkflowChecker.Check(Single(documents));
                }
                catch (PipelineException e)
                {
                    stderr.WriteLine($"securebuild pipeline check: {file}: {e.Message}");
                    exit = CliApplication.Usage;
                    continue;
                }

                foreach (var finding in findings)
                {
                    stdout.WriteLine(finding.Format(file));
                }

                stdout.WriteLine(findings.Count == 0 ? $"{file}: OK" : $"{file}: {findings.Count} finding(s)");
                if (findings.Count > 0 && exit == CliApplication.Success)
                {
                    exit = CliApplication.Failure;
                }
            }

            return exit;
        });
        var command = new Command("pipeline", "Check CI pipeline definitions.") { check };
        return command;
    }

    /// <summary>Parses one workflow file into Core's tree.</summary>
    /// <exception cref="PipelineException">SB5508: unreadable, not YAML, several documents, duplicate keys, or too large.</exception>
    internal static WorkflowNode Read(string path) => Single(ReadDocuments(path));

    private static WorkflowNode Single(IReadOnlyList<WorkflowNode> documents) =>
        documents.Count == 1 ? documents[0] : throw Unreadable($"holds {documents.Count} YAML documents; a workflow is exactly one");

    /// <summary>Parses every YAML document of a file (a Tekton file holds several) into Core's trees.</summary>
    /// <exception cref="PipelineException">SB5508: unreadable, not YAML, duplicate keys, or too large (the node bound is for the whole file).</exception>
    internal static IReadOnlyList<WorkflowNode> ReadDocuments(string path)
    {
        string text;
        try
        {
            text = InputFile.ReadAllText(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw Unreadable($"cannot be read: {e.Message}");
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw Unreadable($"is not valid YAML (line {e.Start.Line}: {e.Message})");
        }
        catch (ArgumentException e)
        {
            // YamlDotNet's mapping refuses a key given twice; GitHub refuses such a workflow too.
            throw Unreadable($"is not a valid workflow ({e.Message})");
        }

        int budget = MaxNodes;
        var documents = new List<WorkflowNode>();
        foreach (var document in stream.Documents)
        {
            documents.Add(Convert(document.RootNode, ref budget, 0));
        }

        return documents;
    }

    private static WorkflowNode Convert(YamlNode node, ref int budget, int depth)
    {
        if (--budget < 0)
        {
            throw Unreadable($"expands to more than {MaxNodes} YAML nodes (aliases)");
        }

        if (depth > MaxDepth)
        {
            throw Unreadable($"nests deeper than {MaxDepth} levels (or an alias refers to itself)");
        }

        int line = (int)Math.Min(int.MaxValue, node.Start.Line);
        switch (node)
        {
            case YamlMappingNode map:
                var entries = new List<KeyValuePair<string, WorkflowNode>>();
                foreach (var entry in map.Children)
                {
                    var key = entry.Key is YamlScalarNode k ? k.Value ?? string.Empty : throw Unreadable($"line {entry.Key.Start.Line}: a mapping key that is not a scalar");
                    entries.Add(new KeyValuePair<string, WorkflowNode>(key, Convert(entry.Value, ref budget, depth + 1)));
                }

                return new WorkflowMap(line, entries);
            case YamlSequenceNode list:
                var items = new List<WorkflowNode>();
                foreach (var item in list.Children)
                {
                    items.Add(Convert(item, ref budget, depth + 1));
                }

                return new WorkflowList(line, items);
            case YamlScalarNode scalar:
                return new WorkflowScalar(line, scalar.Value ?? string.Empty);
            default:
                throw Unreadable($"line {line}: an unsupported YAML node");
        }
    }

    private static PipelineException Unreadable(string what) =>
        new(PipelineCodes.UnreadableWorkflow, $"the file {what}.", "Give a GitHub Actions workflow file (one YAML document with a jobs mapping) or a Tekton file (tekton.dev resources).");
}
