using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// The short human summary at the end of a traced run: how many processes, connections and files; the findings (as
/// errors, or warnings under --audit) with who caused them; what the trace could not record; the verdict.
/// </summary>
public static class TraceSummary
{
    /// <summary>At most this many findings are printed one per line; the attestation holds them all.</summary>
    public const int MaxListed = 50;

    public static void Write(TraceLog log, TraceAttribution attribution, TracePolicyReport report, IReadOnlyList<TraceFinding> notEnforced, string? attestation, TextWriter stdout, TextWriter stderr)
    {
        int connections = log.Network.Count(n => n.Family != "unix");
        int written = log.Files.Where(f => f.Kind is FileAccessKind.Create or FileAccessKind.Write).Select(f => f.Path).Distinct(StringComparer.Ordinal).Count();
        int attributed = log.Processes.Count(p => attribution.OfProcess(p.Pid).IsKnown || attribution.Nodes.ContainsKey(p.Pid));
        stdout.WriteLine($"securebuild trace: {log.Processes.Count} processes ({attributed} attributed to MSBuild), {connections} network connections, {log.Files.Count} file accesses ({written} files written).");
        string severity = report.Audit ? "warning" : "error";
        foreach (var finding in report.Findings.Take(MaxListed))
        {
            stderr.WriteLine($"securebuild trace: {severity} {finding.Describe()} {finding.Fix}");
        }
        if (report.Findings.Count > MaxListed)
        {
            stderr.WriteLine($"securebuild trace: ... and {report.Findings.Count - MaxListed} more findings (all are in the attestation).");
        }
        foreach (var finding in notEnforced.Take(MaxListed))
        {
            stderr.WriteLine($"securebuild trace: warning {finding.Describe()} (reported only: the policy sets \"undeclaredInputs\": false)");
        }
        if (log.DroppedEvents > 0 || log.UnhashedFiles > 0)
        {
            stderr.WriteLine($"securebuild trace: warning SB4206: the trace is incomplete: {log.DroppedEvents} events could not be recorded and {log.UnhashedFiles} files could not be hashed.");
        }
        string verdict = report.Verdict switch
        {
            "pass" => "policy: pass",
            "audit" => $"policy: {report.Findings.Count} findings reported (--audit: not enforced)",
            _ => $"policy: FAIL, {report.Findings.Count} violations",
        };
        stdout.WriteLine($"securebuild trace: {verdict}." + (attestation is null ? "" : $" Attestation: {attestation}"));
    }
}
