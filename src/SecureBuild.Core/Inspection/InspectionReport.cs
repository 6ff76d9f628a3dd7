using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Inspection;

/// <summary>A file of the package and what accounts for it.</summary>
public sealed class AccountedFile
{
    public AccountedFile(PackageFile file)
    {
        File = file;
    }

    public PackageFile File { get; }

    /// <summary>The step and artifact that account for the file, or null (unaccounted, or no links given).</summary>
    public ArtifactOrigin? Origin { get; set; }

    /// <summary>A part NuGet's pack writes inside the package (nuspec, OPC parts): accounted by its place, not its digest.</summary>
    public bool AsPackageMetadata { get; set; }
}

/// <summary>The result of `securebuild inspect`: the files and how each is accounted for, and the findings.</summary>
public sealed class InspectionReport
{
    /// <summary>The JSON document's "_type" (README.md, `securebuild inspect`, describes the document).</summary>
    public const string JsonType = "https://securebuild.dev/inspect/v1";

    public InspectionReport(string input, bool isPackage)
    {
        Input = input;
        IsPackage = isPackage;
    }

    public string Input { get; }

    public bool IsPackage { get; }

    public string? Baseline { get; set; }

    /// <summary>The policy the severities come from: "default" or the policy file's name.</summary>
    public string Policy { get; set; } = InspectionPolicy.DefaultName;

    /// <summary>The SHA-256 of the package file (null for a folder), the same before and after it was read.</summary>
    public string? PackageSha256 { get; set; }

    /// <summary>
    /// The SHA-512 of the package file when it carries no signature (<c>.signature.p7s</c>), else null: for an unsigned
    /// package that is NuGet's content hash, which stays the same when a repository signs the package later.
    /// </summary>
    public string? PackageSha512 { get; set; }

    /// <summary>The steps of the links read.</summary>
    public List<string> Steps { get; } = new();

    /// <summary>True when every link was signature-checked with a given key.</summary>
    public bool LinksVerified { get; set; }

    public List<AccountedFile> Files { get; } = new();

    public List<Finding> Findings { get; } = new();

    /// <summary>True when a finding fails under the policy applied (any error: an unaccounted file, an unreadable part, a denied capability).</summary>
    public bool Failed => Findings.Any(f => f.Severity == FindingSeverity.Error);

    /// <summary>The findings in a stable order: severity (errors first), then code, path, subject.</summary>
    public IEnumerable<Finding> Ordered => Findings
        .OrderByDescending(f => f.Severity)
        .ThenBy(f => f.Code, StringComparer.Ordinal)
        .ThenBy(f => f.Path, StringComparer.Ordinal)
        .ThenBy(f => f.Subject, StringComparer.Ordinal);

    public JsonMap ToJson()
    {
        var files = new JsonList();
        foreach (var file in Files)
        {
            var entry = new JsonMap
            {
                { "path", file.File.Path },
                { "sha256", file.File.Sha256 },
                { "size", file.File.Length },
            };
            if (file.Origin is not null)
            {
                entry.Add("accountedBy", new JsonMap
                {
                    { "step", file.Origin.Step },
                    { "artifact", file.Origin.Artifact },
                    { "as", file.AsPackageMetadata ? "package-metadata" : file.Origin.IsProduct ? "product" : "material" },
                });
            }

            files.Add(entry);
        }

        var findings = new JsonList();
        foreach (var finding in Ordered)
        {
            findings.Add(new JsonMap
            {
                { "code", finding.Code },
                { "severity", Finding.SeverityName(finding.Severity) },
                { "path", finding.Path },
                { "subject", finding.Subject },
                { "message", finding.Message },
            });
        }

        var json = new JsonMap
        {
            { "_type", JsonType },
            { "input", Input },
            { "kind", IsPackage ? "package" : "folder" },
            { "sha256", PackageSha256 is null ? JsonNull.Instance : (JsonItem)PackageSha256 },
            { "result", Failed ? "fail" : "pass" },
            { "steps", new JsonList(Steps.Select(s => (JsonItem)s)) },
            { "linksVerified", LinksVerified },
            { "policy", Policy },
        };
        if (Baseline is not null)
        {
            json.Add("baseline", Baseline);
        }

        json.Add("files", files);
        json.Add("findings", findings);
        return json;
    }

    public string ToText()
    {
        var text = new StringBuilder();
        text.Append("inspect ").Append(Input).Append(": ").Append(Files.Count).Append(" files");
        if (Steps.Count > 0)
        {
            var accounted = Files.Count(f => f.Origin is not null);
            text.Append(", ").Append(accounted).Append(" accounted for by ").Append(Steps.Count).Append(" links")
                .Append(LinksVerified ? " (signatures verified)" : " (signatures not checked: give --key)");
        }

        text.Append('\n');
        foreach (var finding in Ordered)
        {
            text.Append(Finding.SeverityName(finding.Severity)).Append(' ').Append(finding.Code).Append(' ')
                .Append(finding.Path.Length == 0 ? "(package)" : finding.Path).Append(": ").Append(finding.Message).Append('\n');
        }

        var errors = Findings.Count(f => f.Severity == FindingSeverity.Error);
        text.Append(Failed ? $"FAIL: {errors} error(s)" : "PASS").Append(", ")
            .Append(Findings.Count(f => f.Severity == FindingSeverity.Warning)).Append(" warning(s), ")
            .Append(Findings.Count(f => f.Severity == FindingSeverity.Info)).Append(" info")
            .Append(Policy == InspectionPolicy.DefaultName ? string.Empty : $" (policy {Policy})").Append('\n');
        return text.ToString();
    }
}
