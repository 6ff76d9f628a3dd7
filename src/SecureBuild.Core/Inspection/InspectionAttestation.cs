using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// The result of `securebuild inspect` as an in-toto Statement v1 with the predicate
/// <c>https://securebuild.dev/attestation/inspection/v1</c>, signed into a DSSE envelope (one `.intoto.jsonl` line) with
/// the same signing code the links use. Subject: the package (its file name and SHA-256), or for a folder each file.
/// Predicate: the report's JSON (README.md, `securebuild inspect`) without `_type`, and with `input` and `baseline`
/// reduced to file names so that no machine path is attested.
/// </summary>
public static class InspectionAttestation
{
    public const string PredicateType = "https://securebuild.dev/attestation/inspection/v1";

    public static InTotoStatement CreateStatement(InspectionReport report)
    {
        var subjects = report.PackageSha256 is not null
            ? new[] { new ResourceDescriptor(Path.GetFileName(report.Input), new Dictionary<string, string> { ["sha256"] = report.PackageSha256 }) }
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
}
