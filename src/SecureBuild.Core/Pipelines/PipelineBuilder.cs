using System.Text.RegularExpressions;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// One builder of the matrix: where one independent build runs. Written on the command line as a GitHub-hosted runner
/// label (<c>ubuntu-24.04</c>, <c>windows-2022</c>), <c>self-hosted:LABEL[,LABEL...]</c> (a self-hosted runner with
/// those labels; for Tekton and Azure the first label names the node pool / agent pool), or <c>container</c> /
/// <c>container:IMAGE@sha256:DIGEST</c> (a Linux runner building inside that image; default the pinned .NET SDK image).
/// </summary>
public sealed class PipelineBuilder
{
    private static readonly Regex Label = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant);
    private static readonly Regex PinnedImage = new("^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant);

    private PipelineBuilder(string spec, string name, IReadOnlyList<string> runsOn, string? container, bool selfHosted)
    {
        Spec = spec;
        Name = name;
        RunsOn = runsOn;
        Container = container;
        SelfHosted = selfHosted;
    }

    /// <summary>The --builder value this builder was read from (what the policy file records).</summary>
    public string Spec { get; }

    /// <summary>The builder's id in job names, artifact names and pipeline task names (lower case, [a-z0-9-]).</summary>
    public string Name { get; }

    /// <summary>The runner labels (GitHub runs-on), or the pool name first (Tekton node pool, Azure agent pool).</summary>
    public IReadOnlyList<string> RunsOn { get; }

    /// <summary>The image the build runs in, pinned by digest; null for a build on the runner itself.</summary>
    public string? Container { get; }

    public bool SelfHosted { get; }

    /// <summary>Linux builders run the build under `securebuild trace` (the tracer is Linux only).</summary>
    public bool Traced => Container is not null || RunsOn.Any(l => l.StartsWith("ubuntu", StringComparison.OrdinalIgnoreCase) || l.Equals("linux", StringComparison.OrdinalIgnoreCase));

    /// <summary>Windows builders (the tool's commands need no other change: every run step uses bash).</summary>
    public bool Windows => RunsOn.Any(l => l.StartsWith("windows", StringComparison.OrdinalIgnoreCase));

    /// <summary>The three defaults: two GitHub-hosted Ubuntu releases and the pinned .NET SDK image.</summary>
    public static IReadOnlyList<PipelineBuilder> Defaults { get; } = new[] { Parse("ubuntu-24.04"), Parse("ubuntu-22.04"), Parse("container") };

    /// <summary>Reads one --builder value.</summary>
    /// <exception cref="PipelineException">SB5406: a label or image that would not be safe or valid in the generated YAML.</exception>
    public static PipelineBuilder Parse(string spec)
    {
        spec = (spec ?? string.Empty).Trim();
        if (spec == "container" || spec.StartsWith("container:", StringComparison.Ordinal))
        {
            var image = spec == "container" ? PinnedReferences.DotnetSdkImage : spec.Substring("container:".Length);
            if (!PinnedImage.IsMatch(image))
            {
                throw Bad(spec, "the image is not pinned by digest", "Give container:REPOSITORY[:TAG]@sha256:<64 hex> (the digest `docker buildx imagetools inspect IMAGE` prints).");
            }

            var repo = image.Substring(0, image.IndexOf('@'));
            var last = repo.Substring(repo.LastIndexOf('/') + 1).Replace(':', '-').Replace('.', '-');
            return new PipelineBuilder("container:" + image, "container-" + Sanitize(last), new[] { "ubuntu-24.04" }, image, selfHosted: false);
        }

        if (spec.StartsWith("self-hosted:", StringComparison.Ordinal))
        {
            var labels = spec.Substring("self-hosted:".Length).Split(',').Select(l => l.Trim()).ToList();
            if (labels.Count == 0 || labels.Any(l => !Label.IsMatch(l)))
            {
                throw Bad(spec, "a runner label is empty or has characters other than letters, digits, '.', '_' and '-'", "Give self-hosted:LABEL[,LABEL...], e.g. self-hosted:linux,x64.");
            }

            return new PipelineBuilder("self-hosted:" + string.Join(",", labels), "self-hosted-" + Sanitize(string.Join("-", labels)), new[] { "self-hosted" }.Concat(labels).ToList(), null, selfHosted: true);
        }

        if (!Label.IsMatch(spec))
        {
            throw Bad(spec, "not a runner label (letters, digits, '.', '_', '-')", "Give a runner label such as ubuntu-24.04, self-hosted:LABEL or container[:IMAGE@sha256:DIGEST].");
        }

        return new PipelineBuilder(spec, Sanitize(spec), new[] { spec }, null, selfHosted: false);
    }

    private static string Sanitize(string text)
    {
        var chars = text.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-').ToArray();
        var name = Regex.Replace(new string(chars), "-+", "-").Trim('-');
        return name.Length > 40 ? name.Substring(0, 40).TrimEnd('-') : name;
    }

    private static PipelineException Bad(string spec, string cause, string fix) =>
        new(PipelineCodes.BadSettings, $"--builder '{spec}': {cause}.", fix);
}
