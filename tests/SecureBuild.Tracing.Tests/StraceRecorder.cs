using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// Test stand-in for the tracer: runs a command under Debian's `strace -f` and turns its output into a
/// <see cref="TraceLog"/> (processes with parents and argv, successful opens, connects), so attribution, the policy and
/// the attestation are tested on real builds with real pids and clocks. Threads are folded into their process
/// (CLONE_THREAD). Only what these tests need: absolute paths, no hashes.
/// </summary>
internal static partial class StraceRecorder
{
    public static string Arguments(string output) =>
        $"-f -q -ttt -s 4096 -o {output} -e trace=execve,openat,connect,clone,clone3,fork,vfork";

    public static TraceLog Parse(string straceOutput, IReadOnlyList<string> command, string workingDirectory, int? exitCode)
    {
        var tgid = new Dictionary<int, int>();
        var processes = new Dictionary<int, Proc>();
        var files = new List<TracedFileAccess>();
        var network = new List<TracedNetworkOperation>();
        var pending = new Dictionary<int, string>();
        int? root = null;
        DateTimeOffset first = default, last = default;
        foreach (var raw in File.ReadLines(straceOutput))
        {
            var m = LinePattern().Match(raw);
            if (!m.Success)
            {
                continue;
            }
            int tid = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var time = DateTimeOffset.FromUnixTimeMilliseconds((long)(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 1000));
            string rest = m.Groups[3].Value;
            if (root is null)
            {
                root = tid;
                first = time;
                processes[tid] = new Proc(tid, 0, time);
            }
            last = time;
            if (rest.EndsWith("<unfinished ...>", StringComparison.Ordinal))
            {
                pending[tid] = rest.Substring(0, rest.Length - "<unfinished ...>".Length);
                continue;
            }
            var resumed = ResumedPattern().Match(rest);
            if (resumed.Success)
            {
                if (!pending.Remove(tid, out var start))
                {
                    continue;
                }
                rest = start + resumed.Groups[1].Value;
            }
            int pid = tgid.TryGetValue(tid, out var g) ? g : tid;
            if (rest.StartsWith("+++ exited with ", StringComparison.Ordinal) && processes.TryGetValue(pid, out var exiting) && pid == tid)
            {
                exiting.Exit = time;
                exiting.ExitCode = int.Parse(rest.Substring(16).TrimEnd(' ', '+'), CultureInfo.InvariantCulture);
                continue;
            }
            var call = CallPattern().Match(rest);
            if (!call.Success)
            {
                continue;
            }
            string name = call.Groups[1].Value, args = call.Groups[2].Value, result = call.Groups[3].Value.Trim();
            bool ok = !result.StartsWith("-1", StringComparison.Ordinal) && !result.StartsWith("?", StringComparison.Ordinal);
            switch (name)
            {
                case "clone" or "clone3" or "fork" or "vfork" when ok && int.TryParse(result.Split(' ')[0], out int child):
                    if (args.Contains("CLONE_THREAD", StringComparison.Ordinal))
                    {
                        tgid[child] = pid;
                    }
                    else
                    {
                        var parent = processes.GetValueOrDefault(pid);
                        processes[child] = new Proc(child, pid, time) { Executable = parent?.Executable ?? "", Arguments = parent?.Arguments ?? new List<string>() };
                    }
                    break;
                case "execve" when ok:
                    var strings = Strings(args);
                    if (strings.Count > 0 && processes.TryGetValue(pid, out var p))
                    {
                        p.Executable = strings[0];
                        p.Arguments = strings.Skip(1).ToList();
                    }
                    break;
                case "openat" when ok:
                    var path = Strings(args).FirstOrDefault();
                    if (path is not null && path.StartsWith('/') && !args.Contains("O_DIRECTORY", StringComparison.Ordinal))
                    {
                        var kind = args.Contains("O_WRONLY", StringComparison.Ordinal) || args.Contains("O_RDWR", StringComparison.Ordinal)
                            ? args.Contains("O_CREAT", StringComparison.Ordinal) ? FileAccessKind.Create : FileAccessKind.Write
                            : FileAccessKind.Read;
                        files.Add(new TracedFileAccess(pid, time, kind, path, null));
                    }
                    break;
                case "connect":
                    if (Address(args) is { } address)
                    {
                        network.Add(new TracedNetworkOperation(pid, time, NetworkOperation.Connect, address.Family, address.Address, address.Port, ok));
                    }
                    break;
            }
        }
        // The tracer hashes after the last write; after the command, the file as it was left is the same thing.
        files = files.Select(f => f.Kind is FileAccessKind.Create or FileAccessKind.Write && File.Exists(f.Path) ? f with { Sha256 = Sha256Of(f.Path) } : f).ToList();
        return new TraceLog(command, workingDirectory, first, last, exitCode, null,
            processes.Values.Select(p => new TracedProcess(p.Pid, p.ParentPid, p.Executable, null, p.Arguments, workingDirectory, p.Start, p.Exit, p.ExitCode, null)).ToList(),
            files, network)
        { Monitor = "strace -f (test stand-in)" };
    }

    private static string? Sha256Of(string path)
    {
        try
        {
            return SecureBuild.Core.Crypto.Sha256Hex.OfFile(path);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static (string Family, string Address, int Port)? Address(string args)
    {
        var unix = Regex.Match(args, "sa_family=AF_UNIX, sun_path=(@?)\"((?:[^\"\\\\]|\\\\.)*)\"");
        if (unix.Success)
        {
            return ("unix", unix.Groups[1].Value + Unescape(unix.Groups[2].Value), 0);
        }
        var v4 = Regex.Match(args, "sa_family=AF_INET, sin_port=htons\\((\\d+)\\), sin_addr=inet_addr\\(\"([^\"]+)\"\\)");
        if (v4.Success)
        {
            return ("inet", v4.Groups[2].Value, int.Parse(v4.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        var v6 = Regex.Match(args, "sa_family=AF_INET6, sin6_port=htons\\((\\d+)\\).*inet_pton\\(AF_INET6, \"([^\"]+)\"");
        return v6.Success ? ("inet6", v6.Groups[2].Value, int.Parse(v6.Groups[1].Value, CultureInfo.InvariantCulture)) : null;
    }

    private static List<string> Strings(string args) =>
        StringPattern().Matches(args).Select(m => Unescape(m.Groups[1].Value)).ToList();

    private static string Unescape(string s)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
                continue;
            }
            char c = s[++i];
            switch (c)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'x' when i + 2 < s.Length:
                    bytes.Add(byte.Parse(s.Substring(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default:
                    if (c >= '0' && c <= '7')
                    {
                        int end = i;
                        while (end < s.Length && end < i + 3 && s[end] >= '0' && s[end] <= '7')
                        {
                            end++;
                        }
                        bytes.Add((byte)Convert.ToInt32(s.Substring(i, end - i), 8));
                        i = end - 1;
                    }
                    else
                    {
                        bytes.Add((byte)c);
                    }
                    break;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private sealed class Proc(int pid, int parentPid, DateTimeOffset start)
    {
        public int Pid { get; } = pid;

        public int ParentPid { get; } = parentPid;

        public DateTimeOffset Start { get; } = start;

        public string Executable { get; set; } = "";

        public List<string> Arguments { get; set; } = new();

        public DateTimeOffset? Exit { get; set; }

        public int? ExitCode { get; set; }
    }

    [GeneratedRegex(@"^(\d+)\s+(\d+\.\d+)\s+(.*)$")]
    private static partial Regex LinePattern();

    [GeneratedRegex(@"^<\.\.\. \w+ resumed>(.*)$")]
    private static partial Regex ResumedPattern();

    [GeneratedRegex(@"^(\w+)\((.*)\)\s+=\s+(.*)$")]
    private static partial Regex CallPattern();

    [GeneratedRegex("\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex StringPattern();
}
