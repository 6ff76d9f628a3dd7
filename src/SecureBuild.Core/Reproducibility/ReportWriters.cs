using System.Globalization;
using System.Net;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Reproducibility;

/// <summary>Writes a <see cref="DiffReport"/> as text, JSON or a self-contained HTML page.</summary>
public static class ReportWriters
{
    /// <summary>The JSON report's schema identifier.</summary>
    public const string JsonSchema = "https://securebuild.dev/reproducibility/diff/v1";

    public static string Text(DiffReport report)
    {
        var sb = new StringBuilder();
        var diff = report.Artifacts.Count(a => a.Status != ArtifactStatus.Identical);
        sb.AppendLine(report.Identical
            ? $"IDENTICAL: {report.Artifacts.Count} files compared, no difference."
            : $"DIFFERENT: {diff} of {report.Artifacts.Count} files differ; {report.Differences.Count(d => d.IsRootCause)} root difference(s), {report.Differences.Count(d => !d.IsRootCause)} consequence(s).");
        sb.AppendLine($"  left:  {report.LeftLabel}");
        sb.AppendLine($"  right: {report.RightLabel}");
        if (report.Variations.Count > 0)
        {
            sb.AppendLine("Varied between the builds:");
            foreach (var v in report.Variations)
            {
                sb.AppendLine($"  {v.Name}: {v.Left} | {v.Right}");
            }
        }

        if (!report.Identical)
        {
            sb.AppendLine();
            sb.AppendLine("Root causes:");
            foreach (var (cause, count, artifacts) in report.RootCauses())
            {
                sb.AppendLine($"  [{cause.Id}] {cause.Title} ({count}x, in {string.Join(", ", artifacts.Take(4))}{(artifacts.Count > 4 ? ", …" : string.Empty)})");
                sb.AppendLine($"      fix: {cause.Fix}");
            }

            sb.AppendLine();
            sb.AppendLine("Differences (root causes first):");
            foreach (var d in report.Ordered())
            {
                sb.AppendLine($"{(d.IsRootCause ? "*" : "-")} {d.Artifact}: {d.Aspect}");
                if (d.Left is not null || d.Right is not null)
                {
                    sb.AppendLine($"    - {OneLine(d.Left)}");
                    sb.AppendLine($"    + {OneLine(d.Right)}");
                }
                else if (d.Detail is { } detail && detail.IndexOf('\n') < 0)
                {
                    // A one-line reason (why a package or assembly could not be read) is the whole story.
                    sb.AppendLine($"    {detail}");
                }

                sb.AppendLine(d.IsRootCause
                    ? $"    cause: [{d.Cause.Id}] {d.Cause.Title}"
                    : $"    follows from: {d.ConsequenceOf} [{d.Cause.Id}]");
            }
        }

        foreach (var skip in report.Skipped)
        {
            sb.AppendLine($"not compared: {skip.Key} ({skip.Value})");
        }

        return sb.ToString();
    }

    private static string OneLine(string? value) =>
        value is null ? "(absent)" : ValueClassifier.Short(value.Replace("\r", string.Empty).Replace("\n", "⏎ "), 240);

    public static JsonMap Json(DiffReport report)
    {
        var causes = new JsonList();
        foreach (var (cause, count, where) in report.RootCauses())
        {
            causes.Add(new JsonMap
            {
                { "id", cause.Id }, { "title", cause.Title }, { "explanation", cause.Explanation }, { "fix", cause.Fix },
                { "count", count }, { "artifacts", new JsonList(where.Select(a => (JsonItem)a)) },
            });
        }

        var differences = new JsonList();
        foreach (var d in report.Ordered())
        {
            var o = new JsonMap
            {
                { "artifact", d.Artifact }, { "aspect", d.Aspect }, { "root", d.IsRootCause },
                { "cause", new JsonMap { { "id", d.Cause.Id }, { "title", d.Cause.Title }, { "explanation", d.Cause.Explanation }, { "fix", d.Cause.Fix } } },
            };
            o.Add("left", d.Left is null ? JsonNull.Instance : new JsonString(d.Left));
            o.Add("right", d.Right is null ? JsonNull.Instance : new JsonString(d.Right));
            if (d.ConsequenceOf is not null)
            {
                o.Add("consequenceOf", d.ConsequenceOf);
            }

            if (d.Detail is not null)
            {
                o.Add("detail", d.Detail);
            }

            differences.Add(o);
        }

        var artifacts = new JsonList();
        foreach (var a in report.Artifacts)
        {
            var o = new JsonMap { { "path", a.Path }, { "kind", a.Kind }, { "status", StatusName(a.Status) } };
            if (a.LeftSha256 is not null)
            {
                o.Add("leftSha256", a.LeftSha256);
            }

            if (a.RightSha256 is not null)
            {
                o.Add("rightSha256", a.RightSha256);
            }

            artifacts.Add(o);
        }

        return new JsonMap
        {
            { "schema", JsonSchema },
            { "identical", report.Identical },
            { "left", report.LeftLabel },
            { "right", report.RightLabel },
            {
                "summary", new JsonMap
                {
                    { "files", report.Artifacts.Count },
                    { "identical", report.Artifacts.Count(a => a.Status == ArtifactStatus.Identical) },
                    { "different", report.Artifacts.Count(a => a.Status == ArtifactStatus.Different) },
                    { "onlyLeft", report.Artifacts.Count(a => a.Status == ArtifactStatus.OnlyLeft) },
                    { "onlyRight", report.Artifacts.Count(a => a.Status == ArtifactStatus.OnlyRight) },
                    { "rootDifferences", report.Differences.Count(d => d.IsRootCause) },
                    { "consequences", report.Differences.Count(d => !d.IsRootCause) },
                }
            },
            { "rootCauses", causes },
            { "differences", differences },
            { "artifacts", artifacts },
            { "skipped", new JsonList(report.Skipped.Select(s => (JsonItem)new JsonMap { { "path", s.Key }, { "reason", s.Value } })) },
            { "variations", new JsonList(report.Variations.Select(v => (JsonItem)new JsonMap { { "name", v.Name }, { "left", v.Left }, { "right", v.Right } })) },
        };
    }

    public static string JsonText(DiffReport report) => SecureBuild.Core.Json.JsonText.Write(Json(report), indented: true) + "\n";

    internal static string StatusName(ArtifactStatus status) => status switch
    {
        ArtifactStatus.Identical => "identical",
        ArtifactStatus.Different => "different",
        ArtifactStatus.OnlyLeft => "only-left",
        _ => "only-right",
    };

    private static string H(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>A self-contained HTML page (inline CSS, no scripts, no external resources).</summary>
    public static string Html(DiffReport report, string? title = null)
    {
        title ??= "SecureBuild reproducibility report";
        var sb = new StringBuilder();
        int different = report.Artifacts.Count(a => a.Status != ArtifactStatus.Identical);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>").Append(H(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        sb.Append("<header><h1>").Append(H(title)).Append("</h1>");
        sb.Append(report.Identical
            ? $"<p id=\"verdict\" class=\"verdict ok\">Identical — {report.Artifacts.Count} files, bit for bit</p>"
            : $"<p id=\"verdict\" class=\"verdict bad\">Different — {different} of {report.Artifacts.Count} files differ</p>");
        sb.Append("<dl class=\"sides\"><dt>left</dt><dd>").Append(H(report.LeftLabel)).Append("</dd><dt>right</dt><dd>").Append(H(report.RightLabel)).Append("</dd></dl></header>\n<main>\n");

        if (!report.Identical)
        {
            sb.Append("<section id=\"causes\"><h2>Root causes</h2><p class=\"hint\">Fix these; every other difference follows from one of them.</p>\n");
            foreach (var (cause, count, artifacts) in report.RootCauses())
            {
                sb.Append("<article class=\"cause\" data-cause=\"").Append(H(cause.Id)).Append("\"><h3>").Append(H(cause.Title))
                  .Append(" <span class=\"count\">").Append(count.ToString(CultureInfo.InvariantCulture)).Append("×</span></h3>");
                sb.Append("<p class=\"why\">").Append(H(cause.Explanation)).Append("</p>");
                sb.Append("<p class=\"fix\"><strong>Fix:</strong> ").Append(H(cause.Fix)).Append("</p>");
                sb.Append("<p class=\"where\">in ").Append(string.Join(", ", artifacts.Take(8).Select(a => "<code>" + H(a) + "</code>")))
                  .Append(artifacts.Count > 8 ? " …" : string.Empty).Append("</p></article>\n");
            }

            sb.Append("</section>\n<section id=\"differences\"><h2>Differences</h2>\n");
            foreach (var group in report.Ordered().GroupBy(d => d.Artifact))
            {
                var roots = group.Where(d => d.IsRootCause).ToList();
                var consequences = group.Where(d => !d.IsRootCause).ToList();
                sb.Append("<div class=\"artifact\"><h3><code>").Append(H(group.Key)).Append("</code></h3>\n");
                foreach (var d in roots)
                {
                    AppendDifference(sb, d);
                }

                if (consequences.Count > 0)
                {
                    sb.Append("<details class=\"consequences\"><summary>").Append(consequences.Count.ToString(CultureInfo.InvariantCulture))
                      .Append(" difference(s) that follow from others</summary>\n");
                    foreach (var d in consequences)
                    {
                        AppendDifference(sb, d);
                    }

                    sb.Append("</details>");
                }

                sb.Append("</div>\n");
            }

            sb.Append("</section>\n");
        }

        if (report.Variations.Count > 0)
        {
            sb.Append("<section id=\"variations\"><h2>Varied between the builds</h2><table><thead><tr><th>what</th><th>left</th><th>right</th></tr></thead><tbody>");
            foreach (var v in report.Variations)
            {
                sb.Append("<tr><td>").Append(H(v.Name)).Append("</td><td><code>").Append(H(v.Left)).Append("</code></td><td><code>").Append(H(v.Right)).Append("</code></td></tr>");
            }

            sb.Append("</tbody></table></section>\n");
        }

        sb.Append("<section id=\"files\"><h2>Files compared</h2><table><thead><tr><th>file</th><th>kind</th><th>status</th><th>sha256 (left)</th><th>sha256 (right)</th></tr></thead><tbody>");
        foreach (var a in report.Artifacts.OrderBy(a => a.Status == ArtifactStatus.Identical).ThenBy(a => a.Path, StringComparer.Ordinal))
        {
            var status = StatusName(a.Status);
            sb.Append("<tr class=\"").Append(status).Append("\"><td><code>").Append(H(a.Path)).Append("</code></td><td>").Append(H(a.Kind))
              .Append("</td><td class=\"status\">").Append(status).Append("</td><td><code>").Append(H(Abbrev(a.LeftSha256))).Append("</code></td><td><code>")
              .Append(H(Abbrev(a.RightSha256))).Append("</code></td></tr>");
        }

        sb.Append("</tbody></table>");
        foreach (var skip in report.Skipped)
        {
            sb.Append("<p class=\"skipped\">Not compared: <code>").Append(H(skip.Key)).Append("</code> — ").Append(H(skip.Value)).Append("</p>");
        }

        sb.Append("</section>\n</main><footer>Written by <code>securebuild diff</code> (SecureBuild.Sdk).</footer></body></html>\n");
        return sb.ToString();
    }

    private static string Abbrev(string? sha) => sha is null ? "—" : sha.Substring(0, Math.Min(16, sha.Length));

    private static void AppendDifference(StringBuilder sb, Difference d)
    {
        sb.Append("<div class=\"difference ").Append(d.IsRootCause ? "root" : "consequence").Append("\" data-cause=\"").Append(H(d.Cause.Id)).Append("\">");
        sb.Append("<p class=\"aspect\">").Append(H(d.Aspect)).Append("</p>");
        if (d.Left is not null || d.Right is not null)
        {
            sb.Append("<pre class=\"left\">− ").Append(H(d.Left ?? "(absent)")).Append("</pre><pre class=\"right\">+ ").Append(H(d.Right ?? "(absent)")).Append("</pre>");
        }

        sb.Append(d.IsRootCause
            ? $"<p class=\"because\">Cause: <strong>{H(d.Cause.Title)}</strong></p>"
            : $"<p class=\"because\">Follows from <code>{H(d.ConsequenceOf)}</code></p>");
        if (d.Detail is not null)
        {
            sb.Append("<details><summary>details</summary><pre class=\"detail\">").Append(H(d.Detail)).Append("</pre></details>");
        }

        sb.Append("</div>\n");
    }

    private const string Css = @"
:root{--ok:#1a7f37;--bad:#b42318;--mute:#57606a;--line:#d0d7de;--bg:#f6f8fa}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:1.2rem 2rem;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:1.4rem;margin:0 0 .4rem}h2{font-size:1.15rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:.2rem 0}
main{padding:0 2rem 2rem;max-width:1200px}
.verdict{display:inline-block;font-weight:600;padding:.3rem .8rem;border-radius:1rem;color:#fff;margin:.2rem 0}
.verdict.ok{background:var(--ok)}.verdict.bad{background:var(--bad)}
.sides{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.6rem 0 0;color:var(--mute)}
.sides dt{font-weight:600}.sides dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.hint{color:var(--mute)}
.cause{border:1px solid var(--line);border-left:4px solid var(--bad);border-radius:6px;padding:.6rem 1rem;margin:.7rem 0}
.cause .count{color:var(--mute);font-weight:400}.cause .fix{background:#fff8c5;padding:.3rem .5rem;border-radius:4px}
.artifact{border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem;margin:.8rem 0}
.difference{border-top:1px dashed var(--line);padding:.4rem 0}.difference:first-of-type{border-top:0}
.difference.consequence{opacity:.8}.aspect{font-weight:600;margin:.1rem 0}
pre{margin:.15rem 0;padding:.3rem .5rem;border-radius:4px;white-space:pre-wrap;word-break:break-all;font:13px/1.35 ui-monospace,monospace}
pre.left{background:#ffebe9}pre.right{background:#dafbe1}pre.detail{background:var(--bg)}
.because{margin:.2rem 0;color:#1f2328}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:var(--bg)}tr.different td.status,tr.only-left td.status,tr.only-right td.status{color:var(--bad);font-weight:600}
tr.identical td.status{color:var(--ok)}code{font:13px ui-monospace,monospace;word-break:break-all}
footer{color:var(--mute);padding:1rem 2rem;border-top:1px solid var(--line)}
";
}
