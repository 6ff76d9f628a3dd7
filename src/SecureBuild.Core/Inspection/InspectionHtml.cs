using System.Globalization;
using System.Net;
using System.Text;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// The report as one self-contained HTML page: inline CSS, no script, no external resource; every value from the
/// package (paths, commands, URLs) HTML-encoded, since a crafted package chooses them.
/// </summary>
public static class InspectionHtml
{
    private const string Css =
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}code{font-family:ui-monospace,monospace;word-break:break-all}" +
        ".verdict{font-size:1.3rem;font-weight:600;padding:.5rem 1rem;border-radius:.3rem}.pass{background:#e3f5e1}.fail{background:#fbe3e3}" +
        "table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}" +
        "tr.error td:first-child{color:#a40000;font-weight:600}tr.warning td:first-child{color:#8a5a00;font-weight:600}.none{color:#a40000}";

    public static string Write(InspectionReport report)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SecureBuild inspection: ").Append(H(Path.GetFileName(report.Input)))
          .Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        sb.Append("<h1>Inspection of <code>").Append(H(Path.GetFileName(report.Input))).Append("</code></h1>\n");
        var errors = report.Findings.Count(f => f.Severity == FindingSeverity.Error);
        sb.Append(report.Failed
            ? $"<p id=\"verdict\" class=\"verdict fail\">FAIL — {errors.ToString(CultureInfo.InvariantCulture)} error(s)</p>\n"
            : "<p id=\"verdict\" class=\"verdict pass\">PASS</p>\n");
        sb.Append("<p>").Append(report.Files.Count.ToString(CultureInfo.InvariantCulture)).Append(" files");
        if (report.Steps.Count > 0)
        {
            sb.Append(", ").Append(report.Files.Count(f => f.Origin is not null).ToString(CultureInfo.InvariantCulture)).Append(" accounted for by the links of ")
              .Append(H(string.Join(", ", report.Steps))).Append(report.LinksVerified ? " (signatures verified)" : " (signatures not checked)");
        }

        sb.Append("</p>\n<h2>Findings</h2>\n<table id=\"findings\"><thead><tr><th>severity</th><th>code</th><th>file</th><th>finding</th></tr></thead><tbody>\n");
        foreach (var finding in report.Ordered)
        {
            var severity = Finding.SeverityName(finding.Severity);
            sb.Append("<tr class=\"").Append(severity).Append("\" data-code=\"").Append(H(finding.Code)).Append("\"><td>").Append(severity)
              .Append("</td><td>").Append(H(finding.Code)).Append("</td><td><code>").Append(H(finding.Path)).Append("</code></td><td>")
              .Append(H(finding.Message)).Append("</td></tr>\n");
        }

        sb.Append("</tbody></table>\n<h2>Files</h2>\n<table id=\"files\"><thead><tr><th>file</th><th>sha256</th><th>accounted for by</th></tr></thead><tbody>\n");
        foreach (var file in report.Files)
        {
            sb.Append("<tr><td><code>").Append(H(file.File.Path)).Append("</code></td><td><code>").Append(file.File.Sha256).Append("</code></td><td>");
            if (file.Origin is null)
            {
                sb.Append(report.Steps.Count > 0 ? "<span class=\"none\">unaccounted</span>" : "—");
            }
            else
            {
                sb.Append(H(file.Origin.Step)).Append(file.AsPackageMetadata ? " (package metadata)" : file.Origin.IsProduct ? " product " : " material ")
                  .Append(file.AsPackageMetadata ? string.Empty : "<code>" + H(file.Origin.Artifact) + "</code>");
            }

            sb.Append("</td></tr>\n");
        }

        sb.Append("</tbody></table>\n</body></html>\n");
        return sb.ToString();
    }

    private static string H(string text) => WebUtility.HtmlEncode(text);
}
