using System.Text;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Pipelines;

/// <summary>What `securebuild init` does with one file.</summary>
public enum InitAction
{
    Create,
    Update,
    Unchanged,

    /// <summary>Needs a change init does not make without --force (see <see cref="InitFile.Code"/>).</summary>
    Kept,
}

/// <summary>One file of the plan: repository-relative path ('/'), the action, the new bytes, and for Kept the code and reason.</summary>
public sealed class InitFile
{
    public InitFile(string path, InitAction action, byte[]? bytes, string? code = null, string? reason = null)
    {
        Path = path;
        Action = action;
        Bytes = bytes;
        Code = code;
        Reason = reason;
    }

    public string Path { get; }

    public InitAction Action { get; }

    public byte[]? Bytes { get; }

    public string? Code { get; }

    public string? Reason { get; }
}

/// <summary>
/// `securebuild init` without the lock (which needs a build; the CLI runs it): plans every file first — the global.json
/// pin, Directory.Build.props adoption, the verification policy and the CI definition — so bad input aborts before
/// anything is written; then writes only what changes, each file atomically. A generated file that exists with other
/// content and an SDK pin to another version are kept unless <c>force</c>. <see cref="Check"/> reports drift.
/// </summary>
public static class RepositoryInitializer
{
    /// <summary>The generated pipeline definition for <paramref name="engine"/>.</summary>
    public static string Definition(CiEngine engine, PipelineSettings settings) => engine switch
    {
        CiEngine.GitHub => GitHubWorkflow.Generate(settings),
        CiEngine.Tekton => TektonPipeline.Generate(settings),
        _ => AzurePipeline.Generate(settings),
    };

    /// <summary>Plans init in <paramref name="root"/>; writes nothing.</summary>
    /// <exception cref="PipelineException">Settings or a repository file init cannot use (SB5401, SB5403, SB5406, SB5408).</exception>
    public static IReadOnlyList<InitFile> Plan(string root, CiEngine engine, PipelineSettings settings, bool force)
    {
        settings.Validate();
        var plan = new List<InitFile>
        {
            Edit(root, "global.json", text => SdkAdoption.PinInGlobalJson(text, settings.SecureBuildVersion, force)),
            Edit(root, "Directory.Build.props", SdkAdoption.AdoptInDirectoryBuildProps),
            Generated(root, PipelineSettings.PolicyPath, VerificationPolicy.For(settings).ToBytes(), force),
            Generated(root, CiEngines.DefinitionPath(engine), Encoding.UTF8.GetBytes(Definition(engine, settings)), force),
        };
        return plan;
    }

    /// <summary>Writes the Create and Update entries of <paramref name="plan"/>.</summary>
    /// <exception cref="PipelineException">SB5408 when a file cannot be written (the ones before it are written).</exception>
    public static void Apply(string root, IEnumerable<InitFile> plan)
    {
        foreach (var file in plan.Where(f => f.Action is InitAction.Create or InitAction.Update))
        {
            var path = Full(root, file.Path);
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
                AtomicFile.WriteAllBytes(path, file.Bytes!);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new PipelineException(PipelineCodes.FileUnwritable, $"cannot write {file.Path}: {e.Message}", "Make the repository writable and run init again (it skips what is already done).");
            }
        }
    }

    /// <summary>
    /// Drift: every way the repository differs from what init would write now for these settings — the SDK not pinned
    /// or not adopted, the policy or a pipeline definition missing or edited. Empty: in sync.
    /// </summary>
    public static IReadOnlyList<string> Check(string root, CiEngine engine, PipelineSettings settings)
    {
        var drift = new List<string>();
        foreach (var file in Plan(root, engine, settings, force: true))
        {
            switch (file.Action)
            {
                case InitAction.Create:
                    drift.Add($"{PipelineCodes.Drift}: {file.Path} is missing. Run `securebuild init` and commit it.");
                    break;
                case InitAction.Update when file.Path == "global.json" || file.Path == "Directory.Build.props":
                    drift.Add($"{PipelineCodes.Drift}: {file.Path} does not adopt {SdkAdoption.SdkName} {settings.SecureBuildVersion}. Run `securebuild init` (--force to change a pinned version) and commit it.");
                    break;
                case InitAction.Update:
                    drift.Add($"{PipelineCodes.Drift}: {file.Path} differs from what init generates ({FirstDifference(Full(root, file.Path), file.Bytes!)}): edited by hand or generated with other settings. " +
                        "Regenerate with `securebuild init --force` (with the same --builder/--threshold/--branch), or run `securebuild pipeline check` on it to review the edit.");
                    break;
            }
        }

        return drift;
    }

    private static InitFile Edit(string root, string relative, Func<string?, FileEdit> edit)
    {
        var path = Full(root, relative);
        string? text = Read(path, relative);
        var result = edit(text);
        if (result.KeptCode is not null)
        {
            return new InitFile(relative, InitAction.Kept, null, result.KeptCode, result.KeptReason);
        }

        return result.Text is null
            ? new InitFile(relative, InitAction.Unchanged, null)
            : new InitFile(relative, text is null ? InitAction.Create : InitAction.Update, Encoding.UTF8.GetBytes(result.Text));
    }

    private static InitFile Generated(string root, string relative, byte[] bytes, bool force)
    {
        var path = Full(root, relative);
        string? text = Read(path, relative);
        if (text is null)
        {
            return new InitFile(relative, InitAction.Create, bytes);
        }

        if (Encoding.UTF8.GetBytes(text).SequenceEqual(bytes))
        {
            return new InitFile(relative, InitAction.Unchanged, null);
        }

        return force
            ? new InitFile(relative, InitAction.Update, bytes)
            : new InitFile(relative, InitAction.Kept, bytes, PipelineCodes.FileKept,
                $"{relative} exists with other content; kept. Compare it with `securebuild init --check`, or replace it with --force (your version is in git).");
    }

    /// <summary>The file's text, or null when it does not exist.</summary>
    private static string? Read(string path, string relative)
    {
        if (!InputFile.Exists(path))
        {
            return null;
        }

        try
        {
            var bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is DecoderFallbackException)
        {
            throw new PipelineException(PipelineCodes.FileUnwritable, $"cannot read {relative}: {e.Message}", "Make it a readable UTF-8 file, or move it away and run init again.");
        }
    }

    private static string FirstDifference(string path, byte[] expected)
    {
        var actual = File.ReadAllText(path).Replace("\r\n", "\n").Split('\n');
        var wanted = Encoding.UTF8.GetString(expected).Split('\n');
        for (int i = 0; i < Math.Max(actual.Length, wanted.Length); i++)
        {
            var a = i < actual.Length ? actual[i] : "(end of file)";
            var b = i < wanted.Length ? wanted[i] : "(end of file)";
            if (a != b)
            {
                return $"first at line {i + 1}: \"{Clip(a)}\", generated \"{Clip(b)}\"";
            }
        }

        return "line ends differ";
    }

    private static string Clip(string s) => s.Length > 80 ? s.Substring(0, 77) + "..." : s;

    private static string Full(string root, string relative) => System.IO.Path.Combine(root, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));
}
