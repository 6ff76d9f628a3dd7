using System.Globalization;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// The result of a rebuild as an in-toto Statement v1 with the predicate
/// <c>https://securebuild.dev/attestation/reproducibility/v1</c> (documented in docs/reproducibility.md):
/// subjects are the first build's outputs (annotated with whether the second build reproduced them bit for bit),
/// the predicate holds both builds' output digests, the command, the variations and the verdict.
/// </summary>
public static class ReproducibilityAttestation
{
    public const string PredicateType = "https://securebuild.dev/attestation/reproducibility/v1";

    public const string RebuilderId = "https://securebuild.dev/rebuilders/securebuild/v1";

    public static InTotoStatement CreateStatement(RebuildResult result, string? toolVersion = null)
    {
        var reproduced = new HashSet<string>(
            result.A.OutputDigests.Where(kv => result.B.OutputDigests.TryGetValue(kv.Key, out var d) && d == kv.Value).Select(kv => kv.Key),
            StringComparer.Ordinal);
        var subjects = result.A.OutputDigests.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ResourceDescriptor(kv.Key, new Dictionary<string, string> { ["sha256"] = kv.Value },
                annotations: new JsonMap { { "reproduced", reproduced.Contains(kv.Key) } }))
            .ToList();
        if (subjects.Count == 0)
        {
            subjects = result.B.OutputDigests.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new ResourceDescriptor(kv.Key, new Dictionary<string, string> { ["sha256"] = kv.Value }, annotations: new JsonMap { { "reproduced", false } }))
                .ToList();
        }

        var source = new JsonMap
        {
            { "files", result.SourceFileCount },
            { "digest", new JsonMap { { "sha256", result.SourceDigest } } },
            { "sourceDateEpoch", result.SourceDateEpoch },
        };
        if (result.GitCommit is not null)
        {
            source.Add("gitCommit", result.GitCommit);
        }

        var predicate = new JsonMap
        {
            { "rebuilder", new JsonMap { { "id", RebuilderId }, { "version", toolVersion ?? typeof(ReproducibilityAttestation).Assembly.GetName().Version?.ToString() ?? "0" } } },
            { "verdict", result.Reproducible ? "reproducible" : "not-reproducible" },
            // -p values only by allow-list, URLs without credentials: `rebuild -p:FeedPass=…` signs no secret (issue #16).
            { "command", new JsonList(ParameterAllowList.ForProperties(null, v => Portable(v, result)).RedactCommand(result.Command).Select(c => (JsonItem)c)) },
            { "source", source },
            { "variations", new JsonList(result.Applied.Where(v => v.CauseId != Causes.PathInContent.Id).Select(v => (JsonItem)new JsonMap { { "name", v.Name }, { "first", Portable(v.Left, result) }, { "second", Portable(v.Right, result) } })
                .Concat(result.Applied.Where(v => v.CauseId == Causes.PathInContent.Id).Select(v => (JsonItem)new JsonMap { { "name", v.Name }, { "first", "(temporary directory)" }, { "second", "(another temporary directory, different depth)" } }))) },
            { "notVaried", new JsonList(result.NotApplied.Select(n => (JsonItem)new JsonMap { { "name", n.Key }, { "reason", n.Value } })) },
            { "builds", new JsonList(Build(result.A, result.Parallel), Build(result.B, result.Parallel)) },
            {
                "differences", new JsonMap
                {
                    { "files", result.Report.Artifacts.Count(a => a.Status != ArtifactStatus.Identical) },
                    { "rootCauses", new JsonList(result.Report.RootCauses().Select(c => (JsonItem)new JsonMap { { "id", c.Cause.Id }, { "title", c.Cause.Title }, { "count", c.Count } })) },
                }
            },
            { "startedOn", Time(result.Started) },
            { "finishedOn", Time(result.Finished == default ? result.Started : result.Finished) },
        };
        return new InTotoStatement(subjects, PredicateType, predicate);
    }

    private static JsonItem Build(BuildRun run, bool parallel) => new JsonMap
    {
        { "label", run.Label },
        { "exitCode", run.ExitCode },
        { "durationMilliseconds", (long)run.Duration.TotalMilliseconds },
        { "concurrent", parallel },
        { "outputs", new JsonList(run.OutputDigests.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (JsonItem)new JsonMap { { "name", kv.Key }, { "digest", new JsonMap { { "sha256", kv.Value } } } })) },
    };

    /// <summary>Values under the temporary directory (HOME) are written relative to it: no machine paths in attestations.</summary>
    private static string Portable(string value, RebuildResult result) =>
        result.WorkDirectory.Length > 0 ? value.Replace(result.WorkDirectory, "$WORK") : value;

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Signs the statement into a DSSE envelope and returns the .intoto.jsonl line (with newline).</summary>
    public static string Sign(InTotoStatement statement, SigningKey key) => statement.SignToJsonLine(key);
}
