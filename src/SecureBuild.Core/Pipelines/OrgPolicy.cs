using System.Globalization;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// An organisation's floor for every repository's pipeline (format securebuild-org-policy/v1, a file the organisation
/// keeps outside the repositories): at least minBuilders builders, at least minThreshold of them agreeing, self-hosted
/// builders only when allowSelfHosted, and only the CI engines listed. `securebuild init --org-policy` generates within
/// it (and refuses settings below it); `securebuild init --check --org-policy` and `securebuild compare --org-policy`
/// enforce it, so the repositories of an organisation run the same checks. Every member but format is optional.
/// </summary>
public sealed class OrgPolicy
{
    public const string Format = "securebuild-org-policy/v1";

    public OrgPolicy(int minBuilders, int minThreshold, bool allowSelfHosted, IReadOnlyList<CiEngine>? engines)
    {
        MinBuilders = minBuilders;
        MinThreshold = minThreshold;
        AllowSelfHosted = allowSelfHosted;
        Engines = engines;
    }

    /// <summary>The fewest builders a pipeline may have (default 1).</summary>
    public int MinBuilders { get; }

    /// <summary>The fewest builders that must agree on every output (default 1).</summary>
    public int MinThreshold { get; }

    /// <summary>Whether a self-hosted runner may be a builder (default true).</summary>
    public bool AllowSelfHosted { get; }

    /// <summary>The CI engines a repository may use; null: any.</summary>
    public IReadOnlyList<CiEngine>? Engines { get; }

    /// <summary>Reads and checks an organisation policy file.</summary>
    /// <exception cref="PipelineException">SB5452: unreadable, not the format, an unknown member, or a value of the wrong kind.</exception>
    public static OrgPolicy Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw Bad(path, $"cannot be read ({e.Message})");
        }

        return Parse(bytes, path);
    }

    /// <summary>Checks an organisation policy given as bytes (e.g. a target of the organisation's TUF repository), named <paramref name="path"/> in messages.</summary>
    /// <exception cref="PipelineException">SB5452: not the format, an unknown member, or a value of the wrong kind.</exception>
    public static OrgPolicy Parse(byte[] bytes, string path)
    {
        JsonMap root;
        try
        {
            root = JsonParser.Parse(bytes) as JsonMap ?? throw Bad(path, "is not a JSON object");
        }
        catch (JsonFormatException e)
        {
            throw Bad(path, $"is not strict JSON ({e.Message})");
        }

        foreach (var key in root.Keys)
        {
            if (key is not ("format" or "minBuilders" or "minThreshold" or "allowSelfHosted" or "engines"))
            {
                throw Bad(path, $"has the unknown member \"{key}\" (a rule this tool does not know is refused, not skipped)");
            }
        }

        if (!root.TryGetValue("format", out var f) || f is not JsonString { Value: Format })
        {
            throw Bad(path, $"is not a {Format} document (\"format\")");
        }

        int minBuilders = ReadCount(root, "minBuilders", path);
        int minThreshold = ReadCount(root, "minThreshold", path);
        if (minThreshold > minBuilders && root.ContainsKey("minBuilders"))
        {
            throw Bad(path, $"asks {minThreshold} builders to agree but only {minBuilders} to exist (minThreshold above minBuilders)");
        }

        bool allowSelfHosted = true;
        if (root.TryGetValue("allowSelfHosted", out var a))
        {
            allowSelfHosted = a is JsonBool b ? b.Value : throw Bad(path, "has an \"allowSelfHosted\" that is not true or false");
        }

        List<CiEngine>? engines = null;
        if (root.TryGetValue("engines", out var enginesItem))
        {
            if (enginesItem is not JsonList list || list.Count == 0 || list.Any(i => i is not JsonString { Value: "github" or "tekton" or "azure" }))
            {
                throw Bad(path, "has an \"engines\" that is not a non-empty list of \"github\", \"tekton\", \"azure\"");
            }

            engines = list.Cast<JsonString>().Select(s => CiEngines.Parse(s.Value)).Distinct().ToList();
        }

        return new OrgPolicy(Math.Max(minBuilders, minThreshold), minThreshold, allowSelfHosted, engines);
    }

    /// <summary>Every way a pipeline with these builders, threshold and engine falls short of the policy (empty when it complies).</summary>
    public IReadOnlyList<string> Violations(IReadOnlyList<PipelineBuilder> builders, int threshold, CiEngine? engine)
    {
        var found = new List<string>(Violations(builders.Count, threshold));
        var selfHosted = builders.Where(b => b.SelfHosted).Select(b => b.Spec).ToList();
        if (!AllowSelfHosted && selfHosted.Count > 0)
        {
            found.Add($"the builder(s) {string.Join(", ", selfHosted)} are self-hosted, which the organisation policy does not allow (a self-hosted runner keeps state between builds)");
        }

        if (engine is { } ci && Engines is not null && !Engines.Contains(ci))
        {
            found.Add($"the CI engine {CiEngines.Name(ci)} is not one the organisation policy allows ({string.Join(", ", Engines.Select(CiEngines.Name))})");
        }

        return found;
    }

    /// <summary>The count rules alone: for a verification that sees keys, not builder definitions.</summary>
    public IReadOnlyList<string> Violations(int builders, int threshold)
    {
        var found = new List<string>();
        if (builders < MinBuilders)
        {
            found.Add($"{builders} builder(s), but the organisation policy requires at least {MinBuilders}");
        }

        if (threshold < MinThreshold)
        {
            found.Add($"a threshold of {threshold}, but the organisation policy requires at least {MinThreshold} builders to agree");
        }

        return found;
    }

    private static int ReadCount(JsonMap root, string key, string path)
    {
        if (!root.TryGetValue(key, out var item))
        {
            return 1;
        }

        if (item is JsonNumber { IsInteger: true } n && int.TryParse(n.RawText, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 100)
        {
            return value;
        }

        throw Bad(path, $"has a \"{key}\" that is not a whole number from 1 to 100");
    }

    private static PipelineException Bad(string path, string what) =>
        new(PipelineCodes.OrgPolicyUnusable, $"the organisation policy {path} {what}.",
            $"Fix the file: {{\"format\": \"{Format}\", \"minBuilders\": N, \"minThreshold\": K, \"allowSelfHosted\": BOOL, \"engines\": [\"github\", ...]}} (every member but format optional).");
}
