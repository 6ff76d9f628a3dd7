using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// The result of `securebuild inspect` as an in-toto Statement v1 with the predicate
/// <c>https://securebuild.dev/attestation/inspection/v1</c>, signed into a DSSE envelope (one `.intoto.jsonl` line) with
/// the same signing code the links use. Subject: the package (its file name, SHA-256 and, when it is not signed, SHA-512,
/// which is NuGet's content hash and so still matches after a repository signs the package), or for a folder each file.
/// Predicate: the report's JSON (README.md, `securebuild inspect`) without `_type`, and with `input` and `baseline`
/// reduced to file names so that no machine path is attested.
/// </summary>
public static class InspectionAttestation
{
    public const string PredicateType = "https://securebuild.dev/attestation/inspection/v1";

    public static InTotoStatement CreateStatement(InspectionReport report)
    {
        var subjects = report.PackageSha256 is not null
            ? new[] { new ResourceDescriptor(Path.GetFileName(report.Input), PackageDigests(report)) }
            : report.Files.Select(f => new ResourceDescriptor(f.File.Path, new Dictionary<string, string> { ["sha256"] = f.File.Sha256 })).ToArray();
        if (subjects.Length == 0)
        {
            throw new InspectionException(InspectionCodes.UnreadableInput, $"'{report.Input}' has no file: there is nothing to attest.");
        }

        var predicate = new JsonMap();
        foreach (var member in report.ToJson().Where(m => m.Key != "_type"))
        {
            predicate.Add(member.Key, member.Key is "input" or "baseline" && member.Value is JsonString path
                ? Path.GetFileName(path.Value.TrimEnd('/', '\\'))
                : member.Value);
        }

        return new InTotoStatement(subjects, PredicateType, predicate);
    }

    /// <summary>The signed statement as one `.intoto.jsonl` line (with its newline).</summary>
    public static string Sign(InspectionReport report, SigningKey key) => CreateStatement(report).SignToJsonLine(key);

    /// <summary>
    /// What a consumer checks before restoring a package: one of <paramref name="envelopes"/> is signed by one of
    /// <paramref name="keys"/> and is an inspection statement; one of the package's <paramref name="packageDigests"/>
    /// (algorithm to hex: its SHA-256, and NuGet's content hash as sha512) is a subject of it; and the inspection it
    /// records passed. Every reason it does not hold is a failure.
    /// </summary>
    public static StatementVerification Verify(IEnumerable<DsseEnvelope> envelopes, IReadOnlyCollection<PublicKey> keys,
        IReadOnlyDictionary<string, string> packageDigests)
    {
        var rejected = new List<string>();
        if (InTotoStatement.FirstSigned(envelopes, keys, PredicateType, rejected) is { } statement)
        {
            return Check(statement, packageDigests);
        }

        return new StatementVerification(new[]
        {
            rejected.Count == 0
                ? "the attestation holds no DSSE envelope"
                : $"no inspection statement signed by {string.Join(" or ", keys.Select(k => k.KeyId.Substring(0, Math.Min(8, k.KeyId.Length))))} was found: {string.Join("; ", rejected.Distinct())}",
        }, null);
    }

    private static StatementVerification Check(InTotoStatement statement, IReadOnlyDictionary<string, string> packageDigests)
    {
        var failures = new List<string>();
        if (!packageDigests.Any(d => statement.HasSubjectDigest(d.Key, d.Value)))
        {
            failures.Add("the package is not the one inspected: its " + string.Join(", ", packageDigests.Select(d => $"{d.Key} {d.Value}")) +
                " matches no subject (" + string.Join(", ", statement.Subjects.Select(s => s.Name ?? "(unnamed)")) + ")");
        }

        var result = statement.Predicate is { } predicate && predicate.TryGetValue("result", out var value) && value is JsonString text ? text.Value : null;
        if (result != "pass")
        {
            var errors = statement.Predicate is { } p && p.TryGetValue("findings", out var list) && list is JsonList findings
                ? findings.OfType<JsonMap>().Where(f => f.TryGetValue("severity", out var s) && s is JsonString { Value: "error" })
                    .Select(f => $"{Text(f, "code")} {Text(f, "path") ?? Text(f, "subject")}".TrimEnd()).ToList()
                : new List<string>();
            failures.Add(result == "fail"
                ? "the inspection failed" + (errors.Count == 0 ? "" : ": " + string.Join(", ", errors.Take(10)) + (errors.Count > 10 ? $" and {errors.Count - 10} more" : ""))
                : "the predicate has no result of pass or fail");
        }

        return new StatementVerification(failures, statement);
    }

    private static string? Text(JsonMap map, string name) => map.TryGetValue(name, out var value) && value is JsonString text ? text.Value : null;

    private static Dictionary<string, string> PackageDigests(InspectionReport report)
    {
        var digests = new Dictionary<string, string>(StringComparer.Ordinal) { ["sha256"] = report.PackageSha256! };
        if (report.PackageSha512 is not null)
        {
            digests["sha512"] = report.PackageSha512;
        }

        return digests;
    }
}
