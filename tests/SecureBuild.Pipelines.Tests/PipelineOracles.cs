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

/// <summary>YAML text parsed by the checker's own reader (`securebuild pipeline check`).</summary>
internal static class GeneratedYaml
{
    public static WorkflowNode Parse(string yaml)
    {
        var dir = ScratchDirectory.Create("securebuild-pipeline-yaml");
        try
        {
            var file = Path.Combine(dir, "p.yml");
            File.WriteAllText(file, yaml);
            return PipelineCommand.Read(file);
        }
        finally
        {
            ScratchDirectory.TryDelete(dir);
        }
    }
}
