using Microsoft.Build.Evaluation;
using Microsoft.Build.Execution;
using Microsoft.Build.Framework;
using Microsoft.Build.Logging;

namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// Evaluates a project on SecureBuild.Sdk in-process, straight from src/SecureBuild.Sdk/Sdk: the project imports
/// Sdk.props before its body and Sdk.targets after it, which is what MSBuild does for <c>&lt;Project Sdk="SecureBuild.Sdk"&gt;</c>.
/// Each evaluation has its own directory (under the temp folder, so no Directory.Build.props of this repository
/// applies) and its own project collection.
/// </summary>
public sealed class SdkEvaluation : IDisposable
{
    private static readonly object BuildGate = new();
    private readonly ProjectCollection _collection;

    private SdkEvaluation(string directory, Project project, ProjectCollection collection)
    {
        Directory = directory;
        Project = project;
        _collection = collection;
    }

    /// <summary>The folder of SecureBuild.Sdk's Sdk.props and Sdk.targets in this checkout.</summary>
    public static string SdkFolder => RepositoryRoot.Combine("src/SecureBuild.Sdk/Sdk");

    /// <summary>The directory holding the project (and whatever <see cref="Evaluate"/> was asked to write next to it).</summary>
    public string Directory { get; }

    public Project Project { get; }

    /// <summary>
    /// A project whose SDK is SecureBuild.Sdk alone (it imports Microsoft.NET.Sdk itself) with
    /// <paramref name="properties"/> in its body, evaluated with <paramref name="globalProperties"/> (how `-p:` and
    /// environment variables reach a build).
    /// </summary>
    public static SdkEvaluation Evaluate(string properties = "", IDictionary<string, string>? globalProperties = null, string items = "") =>
        EvaluateXml($$"""
            <Project>
              <Import Project="{{SdkFolder}}/Sdk.props" />
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                {{properties}}
              </PropertyGroup>
              <ItemGroup>{{items}}</ItemGroup>
              <Import Project="{{SdkFolder}}/Sdk.targets" />
            </Project>
            """, globalProperties);

    /// <summary>
    /// Evaluates the project XML as given (App/App.csproj), after writing <paramref name="files"/> (relative to the
    /// directory above App) and letting <paramref name="prepare"/> add more (a global.json, a nuget.config).
    /// </summary>
    public static SdkEvaluation EvaluateXml(string projectXml, IDictionary<string, string>? globalProperties = null, IDictionary<string, string>? files = null,
        Action<string>? prepare = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "sb-sdk-eval-" + Guid.NewGuid().ToString("N").Substring(0, 12));
        var projectPath = Path.Combine(directory, "App", "App.csproj");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(projectPath)!);
        foreach (var (relative, content) in files ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(directory, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
        prepare?.Invoke(directory);
        File.WriteAllText(projectPath, projectXml);
        var collection = new ProjectCollection(globalProperties ?? new Dictionary<string, string>());
        try
        {
            var project = collection.LoadProject(projectPath);
            return new SdkEvaluation(directory, project, collection);
        }
        catch
        {
            collection.Dispose();
            ScratchDirectory.TryDelete(directory);
            throw;
        }
    }

    public string Property(string name) => Project.GetPropertyValue(name);

    /// <summary>The full paths of the files this evaluation imported whose path ends with <paramref name="suffix"/> ('/'-separated).</summary>
    public IReadOnlyList<string> ImportsEndingWith(string suffix) =>
        Project.Imports.Select(i => i.ImportedProject.FullPath.Replace('\\', '/'))
            .Where(p => p.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>
    /// Runs <paramref name="targets"/> of a fresh instance of the project in-process and returns it: for targets that
    /// only compute properties and items (no tool, no file written), the cheapest way to see what they resolve.
    /// </summary>
    public ProjectInstance Run(params string[] targets) => Run(out _, targets);

    /// <summary>As <see cref="Run(string[])"/>, with what the build logged (normal verbosity) in <paramref name="log"/>.</summary>
    /// <remarks>No logger type of our own: a class implementing an MSBuild interface would not load before MSBuildLocator
    /// registers, and NUnit's discovery would then find no test in the assembly.</remarks>
    public ProjectInstance Run(out string log, params string[] targets)
    {
        var instance = Project.CreateProjectInstance();
        var writer = new StringWriter();
        var logger = new ConsoleLogger(LoggerVerbosity.Normal, writer.Write, null, null);
        bool ok;
        lock (BuildGate)
        {
            // One in-process build at a time: MSBuild's BuildManager is one per process.
            ok = instance.Build(targets, new ILogger[] { logger });
        }
        log = writer.ToString();
        Assert.That(ok, Is.True, $"targets {string.Join(";", targets)} failed:\n{log}");
        return instance;
    }

    public void Dispose()
    {
        _collection.UnloadAllProjects();
        _collection.Dispose();
        ScratchDirectory.TryDelete(Directory);
    }
}
