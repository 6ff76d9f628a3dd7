using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// The short human summary at the end of a traced run, after the tracer's counts: how much was attributed, the
/// findings (as errors, or warnings under --audit) with who caused them, the verdict and where the attestation is.
/// </summary>
public static class TraceSummary
{
    /// <summary>At most this many findings are printed one per line; the attestation holds them all.</summary>
    public const int MaxListed = 50;

    public static void Write(TraceLog log, TraceAttribution attribution, TracePolicyReport report, IReadOnlyList<TraceFinding> notEnforced, string? attestation, TextWriter stdout, TextWriter stderr)
    {
        // The tracer's own summary counts processes, peers and files; this one says what attribution and the policy made of them.
        int attributed = log.Processes.Count(p => attribution.OfProcess(p.Pid).IsKnown || attribution.Nodes.ContainsKey(p.Pid));
        int tasks = attribution.Timeline.Tasks.Count;
        stdout.WriteLine($"securebuild trace: {attributed} of {log.Processes.Count} processes attributed to MSBuild ({attribution.Nodes.Count} nodes, {tasks} tasks in the build's log).");
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
        string verdict = report.Verdict switch
        {
            "pass" => "policy: pass",
            "audit" => $"policy: {report.Findings.Count} findings reported (--audit: not enforced)",
            _ => $"policy: FAIL, {report.Findings.Count} violations",
        };
        stdout.WriteLine($"securebuild trace: {verdict}." + (attestation is null ? "" : $" Attestation: {attestation}"));
    }
}
