using System.Text;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// The repository's verification policy (securebuild/policy.json, format securebuild-policy/v1), written by
/// `securebuild init` and read by `securebuild compare --policy`: which builders the pipeline runs and how many of them
/// must agree (the builders as --builder values, so `securebuild init` regenerates the same pipeline from it). compare takes its threshold from it, refuses a policy whose threshold exceeds its builders, and records
/// the policy's digest in the verification summary, so a consumer sees which rule a PASSED was reached under.
/// </summary>
public sealed class VerificationPolicy
{
    public const string Format = "securebuild-policy/v1";

    public VerificationPolicy(IReadOnlyList<string> builders, int threshold)
    {
        Builders = builders;
        Threshold = threshold;
    }

    public IReadOnlyList<string> Builders { get; }

    public int Threshold { get; }

    /// <summary>The policy for generated pipeline settings.</summary>
    public static VerificationPolicy For(PipelineSettings settings) => new(settings.Builders.Select(b => b.Spec).ToList(), settings.Threshold);

    /// <summary>Canonical-ordered, indented JSON with a final newline.</summary>
    public byte[] ToBytes()
    {
        var map = new JsonMap
        {
            ["builders"] = new JsonList(Builders.Select(b => (JsonItem)b)),
            ["format"] = Format,
            ["threshold"] = Threshold,
        };
        return Encoding.UTF8.GetBytes(JsonText.Write(map, indented: true) + "\n");
    }

    /// <summary>Reads and checks a policy file.</summary>
    /// <exception cref="PipelineException">SB5450: unreadable, not the format, unknown members, or a threshold outside 1..builders.</exception>
    public static VerificationPolicy Load(string path)
    {
        JsonMap root;
        try
        {
            root = JsonParser.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata)) as JsonMap
                ?? throw Bad(path, "is not a JSON object");
        }
        catch (JsonFormatException e)
        {
            throw Bad(path, $"is not strict JSON ({e.Message})");
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw Bad(path, $"cannot be read ({e.Message})");
        }

        foreach (var key in root.Keys)
        {
            if (key is not ("builders" or "format" or "threshold"))
            {
                throw Bad(path, $"has the unknown member \"{key}\" (a policy that says more than compare understands is refused, not half applied)");
            }
        }

        if (!root.TryGetValue("format", out var f) || f is not JsonString { Value: Format })
        {
            throw Bad(path, $"is not a {Format} document (\"format\")");
        }

        if (!root.TryGetValue("builders", out var b) || b is not JsonList list || list.Count == 0 || list.Any(i => i is not JsonString))
        {
            throw Bad(path, "has no \"builders\" list of names");
        }

        if (!root.TryGetValue("threshold", out var t) || t is not JsonNumber { IsInteger: true } n || !int.TryParse(n.RawText, out var threshold))
        {
            throw Bad(path, "has no integer \"threshold\"");
        }

        if (threshold < 1 || threshold > list.Count)
        {
            throw Bad(path, $"requires {threshold} of {list.Count} builder(s) to agree: the threshold must be between 1 and the number of builders");
        }

        return new VerificationPolicy(list.Cast<JsonString>().Select(s => s.Value).ToList(), threshold);
    }

    private static PipelineException Bad(string path, string what) =>
        new(PipelineCodes.PolicyUnusable, $"the policy {path} {what}.", $"Fix the file (`securebuild init --force` rewrites it as {Format}: builders and threshold).");
}
