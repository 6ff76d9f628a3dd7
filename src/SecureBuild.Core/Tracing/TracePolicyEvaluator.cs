using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// Holds a <see cref="TraceLog"/> to a <see cref="TracePolicy"/>: one function per rule (network, processes, file
/// writes, secret reads), each event attributed to its MSBuild task. An event breaks a rule once: the same program
/// writing the same file twice in one task is one finding.
/// </summary>
public sealed class TracePolicyEvaluator
{
    private readonly TracePolicy _policy;
    private readonly TracePolicyContext _context;
    private readonly Dictionary<string, IReadOnlyList<string>> _resolved = new(StringComparer.OrdinalIgnoreCase);

    public TracePolicyEvaluator(TracePolicy policy, TracePolicyContext context)
    {
        _policy = policy;
        _context = context;
    }

    /// <summary>Every finding of the trace, in time order (undeclared inputs: <see cref="UndeclaredInputCheck"/>).</summary>
    public List<TraceFinding> Evaluate(TraceLog log, TraceAttribution attribution)
    {
        var programs = log.Processes.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.Last().Executable);
        string Program(int pid) => programs.TryGetValue(pid, out var e) ? e : "";
        var findings = new List<TraceFinding>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(TraceFinding f)
        {
            if (seen.Add($"{f.Kind}|{f.Event}|{f.Program}|{f.Activity.Describe()}"))
            {
                findings.Add(f);
            }
        }

        foreach (var op in log.Network)
        {
            var phase = attribution.PhaseOf(op.Pid, op.Time);
            if (!NetworkAllowed(op, phase))
            {
                Add(new TraceFinding(TraceFindingKind.Network, DescribeNetwork(op), op.Pid, Program(op.Pid), attribution.OfEvent(op.Pid, op.Time), phase, op.Time));
            }
        }
        foreach (var process in log.Processes)
        {
            // The traced command itself (ParentPid 0) is what the user asked to run; what it starts is judged.
            if (process.Executable.Length > 0 && process.ParentPid != 0 && !ProgramAllowed(process))
            {
                Add(new TraceFinding(TraceFindingKind.Process, "exec " + process.Executable + Arguments(process), process.Pid, process.Executable,
                    attribution.OfProcess(process.Pid), attribution.PhaseOf(process.Pid, process.Start), process.Start));
            }
        }
        foreach (var traced in log.Files)
        {
            var file = traced with { Path = Normalize(traced.Path), RenamedTo = traced.RenamedTo is null ? null : Normalize(traced.RenamedTo) };
            var phase = attribution.PhaseOf(file.Pid, file.Time);
            if (file.Kind is FileAccessKind.Read or FileAccessKind.Execute)
            {
                if (IsSecret(file.Path, file.Pid))
                {
                    Add(new TraceFinding(TraceFindingKind.SecretRead, "read " + file.Path, file.Pid, Program(file.Pid), attribution.OfEvent(file.Pid, file.Time), phase, file.Time));
                }
                continue;
            }
            bool allowed = WriteAllowed(file.Path, file.Pid, phase, file.Kind) && (file.RenamedTo is null || WriteAllowed(file.RenamedTo, file.Pid, phase, file.Kind));
            if (!allowed)
            {
                string what = file.RenamedTo is null ? $"{file.Kind.ToString().ToLowerInvariant()} {file.Path}" : $"rename {file.Path} -> {file.RenamedTo}";
                Add(new TraceFinding(TraceFindingKind.FileWrite, what, file.Pid, Program(file.Pid), attribution.OfEvent(file.Pid, file.Time), phase, file.Time));
            }
        }
        return findings.OrderBy(f => f.Time).ToList();
    }

    /// <summary>"connect inet 127.0.0.1:4711" / "sendto inet6 [::1]:53" / "connect unix /run/docker.sock".</summary>
    public static string DescribeNetwork(TracedNetworkOperation op)
    {
        string where = op.Family == "unix" ? op.Address : op.Family == "inet6" ? $"[{op.Address}]:{op.Port}" : $"{op.Address}:{op.Port}";
        return $"{op.Operation.ToString().ToLowerInvariant()} {op.Family} {where}";
    }

    private static string Arguments(TracedProcess process)
    {
        var args = process.Arguments.Skip(1).Take(8).Select(a => a.Length > 80 ? a.Substring(0, 80) + "..." : a).ToList();
        return args.Count == 0 ? "" : " " + string.Join(" ", args) + (process.Arguments.Count > 9 ? " ..." : "");
    }

    // ---- network -------------------------------------------------------------------------------------------------

    private bool NetworkAllowed(TracedNetworkOperation op, TracePhase phase)
    {
        if (_context.NetworkIsolated && !op.Succeeded && op.Family != "unix" && !IsLoopback(op.Address))
        {
            return true;
        }
        if (!_policy.Network.TryGetValue(phase, out var entries))
        {
            return false;
        }
        foreach (var entry in entries)
        {
            bool allowed = entry switch
            {
                "@unix-temp" => op.Family == "unix" && (op.Address.Length == 0 || op.Address.StartsWith("@", StringComparison.Ordinal) && IsMsBuildAbstract(op.Address) || UnderAny(op.Address, _context.TempDirectories)),
                "@dns" => op.Family != "unix" ? op.Port == 53 : IsResolverSocket(op.Address),
                "@nss" => op.Family == "unix" && IsNameServiceSocket(op.Address),
                "@loopback" => op.Family != "unix" && IsLoopback(op.Address),
                "@package-sources" => op.Family != "unix" && _context.PackageSourceHosts.Any(h => AddressOf(h, op)),
                _ => op.Family != "unix" && LiteralMatches(entry, op),
            };
            if (allowed)
            {
                return true;
            }
        }
        return false;
    }

    // An abstract unix socket with no name (autobind) carries nothing; named ones are judged like paths.
    private static bool IsMsBuildAbstract(string address) => address == "@";

    private static bool IsResolverSocket(string path) =>
        IsNameServiceSocket(path) || path == "/run/systemd/resolve/io.systemd.Resolve";

    /// <summary>The name service cache (user and group lookups: `ls -l`, glibc's getpwuid).</summary>
    private static bool IsNameServiceSocket(string path) =>
        path is "/run/nscd/socket" or "/var/run/nscd/socket" or "/run/systemd/userdb/io.systemd.DynamicUser" or "/run/systemd/userdb/io.systemd.Multiplexer";

    public static bool IsLoopback(string address) =>
        IPAddress.TryParse(address, out var ip) && (IPAddress.IsLoopback(ip) || ip.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(ip.MapToIPv4()));

    private bool LiteralMatches(string entry, TracedNetworkOperation op)
    {
        string host = entry;
        int? port = null;
        int colon = entry.LastIndexOf(':');
        if (colon > 0 && entry.IndexOf(':') == colon || entry.StartsWith("[", StringComparison.Ordinal) && entry.Contains("]:"))
        {
            host = entry.Substring(0, colon).Trim('[', ']');
            if (!int.TryParse(entry.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                return false;
            }
            port = p;
        }
        if (port is int wanted && wanted != op.Port)
        {
            return false;
        }
        return AddressOf(host, op);
    }

    private bool AddressOf(string host, TracedNetworkOperation op)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return SameAddress(literal, op.Address);
        }
        if (!_resolved.TryGetValue(host, out var addresses))
        {
            addresses = _context.Resolve?.Invoke(host) ?? Array.Empty<string>();
            _resolved[host] = addresses;
        }
        return addresses.Any(a => IPAddress.TryParse(a, out var ip) && SameAddress(ip, op.Address));
    }

    private static bool SameAddress(IPAddress expected, string observed)
    {
        if (!IPAddress.TryParse(observed, out var ip))
        {
            return false;
        }
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }
        if (expected.IsIPv4MappedToIPv6)
        {
            expected = expected.MapToIPv4();
        }
        return ip.Equals(expected);
    }

    // ---- processes -----------------------------------------------------------------------------------------------

    private bool ProgramAllowed(TracedProcess process)
    {
        string executable = process.Executable;
        string name = System.IO.Path.GetFileName(executable);
        if (_context.RunnerPrograms.Contains(executable, StringComparer.Ordinal))
        {
            return true;
        }
        foreach (var entry in _policy.Processes)
        {
            bool allowed = entry switch
            {
                "@dotnet" => UnderAny(executable, _context.DotnetRoots),
                "@git" => name == "git" || executable.StartsWith("/usr/lib/git-core/", StringComparison.Ordinal) || executable.StartsWith("/usr/libexec/git-core/", StringComparison.Ordinal),
                "@locked-tools" => _context.LockedToolCommands.Contains(name, StringComparer.Ordinal) && UnderAny(executable, new[] { _context.ExpandHome("~/.dotnet/tools") }.Concat(_context.NuGetPackageFolders)),
                _ when entry.IndexOf(' ') > 0 => WithArguments(entry, process),
                _ => ProgramMatches(entry, executable),
            };
            if (allowed)
            {
                return true;
            }
        }
        return false;
    }

    private bool ProgramMatches(string entry, string executable) =>
        entry.StartsWith("/", StringComparison.Ordinal) || entry.StartsWith("~/", StringComparison.Ordinal)
            ? Under(executable, _context.ExpandHome(entry))
            : System.IO.Path.GetFileName(executable) == entry;

    /// <summary>"sh -c umask": the program, then the first arguments exactly (argv[0] aside); later arguments may be anything.</summary>
    private bool WithArguments(string entry, TracedProcess process)
    {
        var words = entry.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
        if (!ProgramMatches(words[0], process.Executable) || process.Arguments.Count < words.Length)
        {
            return false;
        }
        for (int i = 1; i < words.Length; i++)
        {
            if (process.Arguments[i] != words[i])
            {
                return false;
            }
        }
        return true;
    }

    // ---- files ---------------------------------------------------------------------------------------------------

    private bool WriteAllowed(string path, int pid, TracePhase phase, FileAccessKind kind)
    {
        var entries = TracePolicy.IsRestoreLike(phase) ? _policy.Writes.Concat(_policy.RestoreWrites) : _policy.Writes;
        bool inSources = _context.InSources(path);
        foreach (var entry in entries)
        {
            if (inSources && entry == "@temp")
            {
                continue;
            }
            if (entry == "@own-proc" ? IsOwnProc(path, pid) : UnderAny(path, Folders(entry)))
            {
                return true;
            }
            // Creating the parents of an allowed folder (mkdir -p ~/.local/share/NuGet) is part of writing there.
            if (kind == FileAccessKind.Create && entry != "@own-proc" && Folders(entry).Any(f => f.Length > path.Length && Under(f, path)))
            {
                return true;
            }
        }
        return false;
    }

    private bool IsSecret(string path, int pid)
    {
        foreach (var entry in _policy.SecretReads)
        {
            bool secret = entry switch
            {
                "@other-users-nuget-config" => IsOtherUsersNuGetConfig(path),
                "@other-proc-environ" => IsOtherProcEnviron(path, pid),
                _ => UnderAny(path, Folders(entry)),
            };
            if (secret)
            {
                return true;
            }
        }
        return false;
    }

    private IEnumerable<string> Folders(string entry) =>
        entry.StartsWith("@", StringComparison.Ordinal) ? _context.FoldersOf(entry) : new[] { _context.ExpandHome(entry) };

    private bool IsOtherUsersNuGetConfig(string path)
    {
        if (!path.EndsWith("/NuGet.Config", StringComparison.OrdinalIgnoreCase) && !path.EndsWith("/nuget.config", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        bool inAHome = path.StartsWith("/home/", StringComparison.Ordinal) || path.StartsWith("/root/", StringComparison.Ordinal) || path.StartsWith("/Users/", StringComparison.Ordinal);
        bool userConfig = path.IndexOf("/.nuget/NuGet/", StringComparison.OrdinalIgnoreCase) >= 0 || path.IndexOf("/.config/NuGet/", StringComparison.OrdinalIgnoreCase) >= 0;
        return inAHome && userConfig && !(_context.Home.Length > 0 && Under(path, _context.Home));
    }

    /// <summary>/proc/&lt;pid&gt;/environ (or /proc/&lt;pid&gt;/task/&lt;tid&gt;/environ) of a process other than the reader.</summary>
    private static bool IsOtherProcEnviron(string path, int pid)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal) || !path.EndsWith("/environ", StringComparison.Ordinal))
        {
            return false;
        }
        string owner = path.Split('/')[2];
        return owner != "self" && owner != "thread-self" && owner != pid.ToString(CultureInfo.InvariantCulture);
    }

    private static bool IsOwnProc(string path, int pid)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return false;
        }
        string owner = path.Split('/')[2];
        return owner == "self" || owner == "thread-self" || owner == pid.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// An absolute path with "." and ".." taken out as the kernel resolved it (links aside): the tracer records paths
    /// so already; a trace from elsewhere may not. GetFullPath does it lexically on Unix, without touching the disk.
    /// </summary>
    public static string Normalize(string path)
    {
        try
        {
            return path.StartsWith("/", StringComparison.Ordinal) ? System.IO.Path.GetFullPath(path) : path;
        }
        catch (ArgumentException)
        {
            return path; // not a path the kernel could have given (a NUL): judged as it is
        }
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies below it.</summary>
    public static bool Under(string path, string folder)
    {
        if (folder.Length == 0)
        {
            return false;
        }
        string f = folder.Length > 1 ? folder.TrimEnd('/') : folder;
        return path == f || path.StartsWith(f == "/" ? f : f + "/", StringComparison.Ordinal);
    }

    private static bool UnderAny(string path, IEnumerable<string> folders) => folders.Any(f => Under(path, f));
}
