using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Hermetic;

/// <summary>
/// How this machine isolates a step from the network: a new network namespace with only loopback, entered with
/// util-linux's <c>unshare</c> (<c>-rn</c>: a user namespace makes it work unprivileged; as root without one,
/// <c>-n</c>). Loopback is brought up with <c>ip link set lo up</c> when iproute2 is there (else it stays down: still
/// no network). <see cref="Probe"/> tries it for real, through the one process runner, and fails closed.
/// </summary>
public sealed class HermeticSandbox
{
    private readonly IReadOnlyList<string> _prefix;
    private readonly string? _ip;
    private readonly string _shell;

    private HermeticSandbox(IReadOnlyList<string> prefix, string? ip, string shell)
    {
        _prefix = prefix;
        _ip = ip;
        _shell = shell;
    }

    /// <summary>The wrapper's own programs (unshare, sh, ip).</summary>
    public IReadOnlyList<string> Programs => new[] { _prefix[0], _shell }.Concat(_ip is null ? Array.Empty<string>() : new[] { _ip }).ToList();

    /// <summary>True when loopback is brought up inside the namespace.</summary>
    public bool Loopback => _ip is not null;

    /// <summary>
    /// Finds unshare (and ip), then runs <c>unshare -rn true</c> (and, failing that, <c>unshare -n true</c>) to see
    /// that namespaces really work here. Throws <see cref="HermeticUnavailableException"/> (SB4220) naming the cause
    /// and the fix when they do not.
    /// </summary>
    public static HermeticSandbox Probe(IProcessRunner runner, string? searchPath = null)
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
        {
            throw new HermeticUnavailableException(HermeticPlan.UnavailableCode, "--hermetic needs Linux namespaces; this is not Linux.",
                "Run hermetic builds on Linux (CI runners are), or build without --hermetic.");
        }
        string path = (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/bin:/bin:/usr/sbin:/sbin";
        string? unshare = Find("unshare", path);
        if (unshare is null)
        {
            throw new HermeticUnavailableException(HermeticPlan.UnavailableCode, "--hermetic needs util-linux's unshare, which is not installed.",
                "Install util-linux (apt-get install util-linux), or build without --hermetic.");
        }
        string shell = Find("sh", path) ?? "/bin/sh";
        string? ip = Find("ip", path);
        string? failure = null;
        foreach (var flags in new[] { new[] { "-r", "-n" }, new[] { "-n" } })
        {
            var outcome = runner.Run(new ProcessSpec(unshare, flags.Concat(new[] { "--", shell, "-c", "exit 0" }), Path.GetTempPath()) { Timeout = TimeSpan.FromSeconds(30) });
            if (outcome.Exited && outcome.ExitCode == 0)
            {
                return new HermeticSandbox(new[] { unshare }.Concat(flags).ToList(), ip, shell);
            }
            failure ??= outcome.StartError ?? outcome.Output.Trim();
        }
        throw new HermeticUnavailableException(HermeticPlan.UnavailableCode,
            $"--hermetic cannot create a network namespace here: {(string.IsNullOrEmpty(failure) ? "unshare failed" : failure)}.",
            "Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; in a container, a seccomp/AppArmor profile that permits unshare), or run as root with CAP_SYS_ADMIN; or build without --hermetic. The step was not run.");
    }

    /// <summary>The argv that runs <paramref name="command"/> inside the namespaces, loopback up first.</summary>
    public IReadOnlyList<string> Wrap(IReadOnlyList<string> command)
    {
        // sh brings loopback up, then execs the command (same process: nothing of the wrapper stays between them).
        string script = (_ip is null ? "" : $"{_ip} link set lo up 2>/dev/null; ") + "exec \"$@\"";
        return _prefix.Concat(new[] { "--", _shell, "-c", script, "securebuild-hermetic" }).Concat(command).ToList();
    }

    private static string? Find(string name, string path) => ProcessTree.ResolveProgram(name, Path.GetTempPath(), path, out _);
}

/// <summary>A hermetic step that cannot run (SB4220 namespaces unavailable, SB4221 unsupported command or option).</summary>
public sealed class HermeticUnavailableException : Exception
{
    public HermeticUnavailableException(string code, string reason, string fix)
        : base($"{code}: {reason} {fix}")
    {
        Code = code;
        Reason = reason;
        Fix = fix;
    }

    public string Code { get; }

    public string Reason { get; }

    public string Fix { get; }
}
