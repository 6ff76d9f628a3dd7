using System;
using System.Collections.Generic;

namespace SecureBuild.Core.Tracing;

/// <summary>What kind of rule an event broke.</summary>
public enum TraceFindingKind
{
    /// <summary>SB4201: a connection, bind or send the phase may not make.</summary>
    Network,

    /// <summary>SB4202: a program not on the allowlist ran.</summary>
    Process,

    /// <summary>SB4203: a file written, created, deleted or renamed outside the folders a build writes.</summary>
    FileWrite,

    /// <summary>SB4204: a secret-bearing file read.</summary>
    SecretRead,

    /// <summary>SB4205: the compiler, packer or publisher read a file its step did not declare.</summary>
    UndeclaredInput,
}

/// <summary>One event the policy does not allow, with who caused it.</summary>
/// <param name="Kind">The rule broken.</param>
/// <param name="Event">The event in words ("connect inet 127.0.0.1:4711", "read ~/.ssh/id_ed25519").</param>
/// <param name="Pid">The process that did it.</param>
/// <param name="Program">That process's executable.</param>
/// <param name="Activity">The MSBuild project / target / task (and package) it is attributed to.</param>
/// <param name="Phase">The phase it happened in.</param>
/// <param name="Time">When.</param>
public sealed record TraceFinding(TraceFindingKind Kind, string Event, int Pid, string Program, BuildActivity Activity, TracePhase Phase, DateTimeOffset Time)
{
    public string Code => CodeOf(Kind);

    public static string CodeOf(TraceFindingKind kind) => kind switch
    {
        TraceFindingKind.Network => "SB4201",
        TraceFindingKind.Process => "SB4202",
        TraceFindingKind.FileWrite => "SB4203",
        TraceFindingKind.SecretRead => "SB4204",
        _ => "SB4205",
    };

    /// <summary>What the user can do about it.</summary>
    public string Fix => Kind switch
    {
        TraceFindingKind.Network => "Remove the package or target that connects, or allow the host for this phase in the policy's \"network\" section (--policy).",
        TraceFindingKind.Process => "Remove what starts the program, or add it to the policy's \"processes\" allowlist (--policy).",
        TraceFindingKind.FileWrite => "Remove what writes there, or add the folder to the policy's \"writes\" section (--policy).",
        TraceFindingKind.SecretRead => "Remove the package or target that reads it; never build with credentials the build does not need (use --hermetic for a fresh HOME).",
        _ => "Declare the file as an input of the step (e.g. AdditionalFiles for an analyzer), or remove what reads it; set \"undeclaredInputs\": false in the policy to only report it.",
    };

    /// <summary>"SB4201: connect inet 127.0.0.1:4711 by /usr/bin/curl (pid 42) in App.csproj / Steal / Exec (package Evil 1.0.0), during build."</summary>
    public string Describe() =>
        $"{Code}: {Event} by {(Program.Length == 0 ? "?" : Program)} (pid {Pid}) in {Activity.Describe()}, during {TracePolicy.NameOf(Phase)}.";
}

/// <summary>The policy's verdict on one trace.</summary>
public sealed class TracePolicyReport
{
    public TracePolicyReport(IReadOnlyList<TraceFinding> findings, bool audit)
    {
        Findings = findings;
        Audit = audit;
    }

    public IReadOnlyList<TraceFinding> Findings { get; }

    /// <summary>Findings are reported as warnings and do not fail the command.</summary>
    public bool Audit { get; }

    /// <summary>True when a finding fails the command (not in audit mode).</summary>
    public bool Failed => !Audit && Findings.Count > 0;

    /// <summary>"pass", "fail" or "audit" (findings reported, not enforced).</summary>
    public string Verdict => Findings.Count == 0 ? "pass" : Audit ? "audit" : "fail";
}
