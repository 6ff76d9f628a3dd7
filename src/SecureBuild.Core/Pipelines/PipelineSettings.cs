using System.Text.RegularExpressions;

namespace SecureBuild.Core.Pipelines;

/// <summary>What a generated pipeline builds and how many builders must agree.</summary>
public sealed class PipelineSettings
{
    private static readonly Regex SafeVersion = new("^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$", RegexOptions.CultureInvariant);
    private static readonly Regex SafeBranch = new("^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$", RegexOptions.CultureInvariant);

    /// <summary>The builders, each an independent build of the same commit (at least one; names distinct).</summary>
    public IReadOnlyList<PipelineBuilder> Builders { get; set; } = PipelineBuilder.Defaults;

    /// <summary>How many builders (distinct ephemeral keys) must attest the same digest for every output.</summary>
    public int Threshold { get; set; } = 2;

    /// <summary>The SecureBuild.Sdk / SecureBuild.Tool version the pipeline installs and global.json pins.</summary>
    public string SecureBuildVersion { get; set; } = "0.1.0";

    /// <summary>The branch whose pushes are built and signed.</summary>
    public string Branch { get; set; } = "main";

    /// <summary>The repository-relative file of the verification policy the compare step records in its summary.</summary>
    public const string PolicyPath = "securebuild/policy.json";

    /// <summary>Checks the settings before anything is generated.</summary>
    /// <exception cref="PipelineException">SB5406 with the cause and the fix.</exception>
    public void Validate()
    {
        if (Builders.Count == 0)
        {
            throw new PipelineException(PipelineCodes.BadSettings, "no builder was given.", "Give at least one --builder (the defaults are ubuntu-24.04, ubuntu-22.04 and container).");
        }

        var duplicate = Builders.GroupBy(b => b.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new PipelineException(PipelineCodes.BadSettings, $"two builders are both named '{duplicate.Key}'.", "Give each --builder once; builders must be different machines for their agreement to mean anything.");
        }

        if (Threshold < 1 || Threshold > Builders.Count)
        {
            throw new PipelineException(PipelineCodes.BadSettings, $"--threshold {Threshold} with {Builders.Count} builder(s): k must be between 1 and n, or the compare step could never pass.",
                $"Give --threshold between 1 and {Builders.Count}, or more --builder values.");
        }

        if (!SafeVersion.IsMatch(SecureBuildVersion))
        {
            throw new PipelineException(PipelineCodes.BadSettings, $"'{SecureBuildVersion}' is not a SecureBuild version (MAJOR.MINOR.PATCH[-SUFFIX]).", "Give the version of the SecureBuild.Sdk package.");
        }

        if (!SafeBranch.IsMatch(Branch) || Branch.Contains(".."))
        {
            throw new PipelineException(PipelineCodes.BadSettings, $"'{Branch}' is not a branch name the pipeline can be written for.", "Give --branch NAME (letters, digits, '.', '_', '-', '/').");
        }
    }
}
