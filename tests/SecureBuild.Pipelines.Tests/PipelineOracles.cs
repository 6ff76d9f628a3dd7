using SecureBuild.Cli;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// The outside validators in Interop/ (copies, never the shared folder): each run with node from the source tree, its
/// npm packages installed by build/install-prerequisites.sh. A missing node or node_modules fails with that instruction.
/// </summary>
internal static class PipelineOracles
{
    public static string Folder(string name) => RepositoryRoot.Combine("tests/SecureBuild.Pipelines.Tests/Interop/" + name);

    /// <summary>Runs FOLDER/validate.mjs on <paramref name="file"/>; the exit code (0 valid, 1 invalid) and the report.</summary>
    public static ProcessResult Validate(string folder, string file, params string[] options)
    {
        var dir = Folder(folder);
        if (!Directory.Exists(Path.Combine(dir, "node_modules")))
        {
            Assert.Fail($"{dir}/node_modules is missing: run build/install-prerequisites.sh (it runs npm ci there, pinned by package-lock.json).");
        }

        ProcessResult result;
        try
        {
            result = Run.Process("node", new[] { Path.Combine(dir, "validate.mjs") }.Concat(options).Append(file), dir, timeout: TimeSpan.FromMinutes(3));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"node cannot be started ({e.Message}): run build/install-prerequisites.sh (it installs Debian's nodejs).");
            throw;
        }

        Assert.That(result.ExitCode, Is.AnyOf(0, 1), $"validator {folder} did not give a verdict:\n{result}");
        return result;
    }
}

/// <summary>YAML text parsed by the checker's own reader, and `securebuild pipeline check` run on it.</summary>
internal static class GeneratedYaml
{
    /// <summary>The one document of a workflow (SB5508 for several).</summary>
    public static WorkflowNode Parse(string yaml) => InFile(yaml, PipelineCommand.Read);

    /// <summary>Every document of a file (a Tekton file holds several).</summary>
    public static IReadOnlyList<WorkflowNode> ParseAll(string yaml) => InFile(yaml, PipelineCommand.ReadDocuments);

    /// <summary>`securebuild pipeline check` on a file holding <paramref name="yaml"/>: exit code, stdout, stderr.</summary>
    public static (int Exit, string Out, string Err) Check(string yaml) => InFile(yaml, file =>
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApplication.Run(new[] { "pipeline", "check", file }, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    });

    /// <summary>
    /// The <paramref name="findings"/> of <paramref name="broken"/> are all of rule <paramref name="code"/>, one of them at
    /// <paramref name="where"/>, each with a line, a cause and a fix; `pipeline check` exits 1 and prints it.
    /// </summary>
    public static void AssertOnlyRule(IReadOnlyList<PipelineFinding> findings, string broken, string code, string where)
    {
        Assert.That(findings.Select(f => f.Code).Distinct(), Is.EqualTo(new[] { code }), string.Join("\n", findings.Select(f => f.Format("p.yml"))));
        Assert.That(findings.Select(f => f.Where), Does.Contain(where));
        Assert.That(findings.All(f => f.Cause.Length > 20 && f.Fix.Length > 10 && f.Line > 0));
        var (exit, stdout, _) = Check(broken);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain($": {code}: {where}: "));
    }

    private static T InFile<T>(string yaml, Func<string, T> use)
    {
        var dir = ScratchDirectory.Create("securebuild-pipeline-yaml");
        try
        {
            var file = Path.Combine(dir, "p.yml");
            File.WriteAllText(file, yaml);
            return use(file);
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }
}
