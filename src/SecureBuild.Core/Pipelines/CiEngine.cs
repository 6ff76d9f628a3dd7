namespace SecureBuild.Core.Pipelines;

/// <summary>The CI engines `securebuild init` writes a pipeline for.</summary>
public enum CiEngine
{
    GitHub,
    Tekton,
    Azure,
}

/// <summary>Engine names on the command line, where each engine's definition lives, and detection from a repository's files.</summary>
public static class CiEngines
{
    /// <summary>Every engine, in the order --check reports them.</summary>
    public static IReadOnlyList<CiEngine> All { get; } = new[] { CiEngine.GitHub, CiEngine.Tekton, CiEngine.Azure };

    /// <summary>"github", "tekton", "azure" (what --ci accepts).</summary>
    public static string Name(CiEngine engine) => engine switch
    {
        CiEngine.GitHub => "github",
        CiEngine.Tekton => "tekton",
        _ => "azure",
    };

    public static CiEngine Parse(string name) => name.ToLowerInvariant() switch
    {
        "github" => CiEngine.GitHub,
        "tekton" => CiEngine.Tekton,
        "azure" => CiEngine.Azure,
        _ => throw new PipelineException(PipelineCodes.UnknownEngine, $"'{name}' is not an engine securebuild init writes pipelines for.", "Give --ci github, --ci tekton or --ci azure."),
    };

    /// <summary>The file the pipeline is written to, relative to the repository root ('/' separated).</summary>
    public static string DefinitionPath(CiEngine engine) => engine switch
    {
        CiEngine.GitHub => ".github/workflows/securebuild.yml",
        CiEngine.Tekton => ".tekton/securebuild.yaml",
        _ => "azure-pipelines.securebuild.yml",
    };

    /// <summary>
    /// The engines whose marks the repository carries: a .github/workflows (or .github) folder, a .tekton folder, an
    /// azure-pipelines.yml (or .yaml). Several or none: the caller asks the user to choose with --ci.
    /// </summary>
    public static IReadOnlyList<CiEngine> Detect(string root)
    {
        var found = new List<CiEngine>();
        if (Directory.Exists(Path.Combine(root, ".github")))
        {
            found.Add(CiEngine.GitHub);
        }

        if (Directory.Exists(Path.Combine(root, ".tekton")))
        {
            found.Add(CiEngine.Tekton);
        }

        if (File.Exists(Path.Combine(root, "azure-pipelines.yml")) || File.Exists(Path.Combine(root, "azure-pipelines.yaml")))
        {
            found.Add(CiEngine.Azure);
        }

        return found;
    }
}
