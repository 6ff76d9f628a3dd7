using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// Debian's strace as the oracle: what it reports a command did (successful execs, regular files opened, connect
/// addresses), to be found in our trace of the same command. Run with -ff (one file per process, so no interleaved
/// lines) and -y (every fd and AT_FDCWD annotated with its path, so relative paths resolve as the kernel did).
/// </summary>
internal sealed partial class StraceOracle
{
    public HashSet<string> Executed { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Opened { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Connected { get; } = new(StringComparer.Ordinal);

    /// <summary>For a failure message: which process (pid, and the last program it executed before) first opened a path.</summary>
    public Dictionary<string, string> OpenedBy { get; } = new(StringComparer.Ordinal);

    private string _pid = "";
    private string _process = "";

    public static StraceOracle Run(string workingDirectory, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!File.Exists("/usr/bin/strace"))
        {
            Assert.Ignore("Debian's strace is not installed (apt-get install strace).");
        }

        string outDir = Path.Combine(Path.GetTempPath(), "sb-strace-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        Directory.CreateDirectory(outDir);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/strace") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-f", "-ff", "-qq", "-y", "-s", "4096", "-e", "trace=execve,execveat,open,openat,openat2,creat,connect", "-o", Path.Combine(outDir, "st") })
            {
                start.ArgumentList.Add(a);
            }

            foreach (var a in command)
            {
                start.ArgumentList.Add(a);
            }

            if (environment is not null)
            {
                start.Environment.Clear();
                foreach (var kv in environment)
                {
                    start.Environment[kv.Key] = kv.Value;
                }
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(600_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("strace did not finish in 10 minutes.");
            }

            stdout.Wait();
            stderr.Wait();
            var oracle = new StraceOracle();
            foreach (var file in Directory.GetFiles(outDir))
            {
                oracle._pid = Path.GetExtension(file).TrimStart('.');
                oracle._process = "pid " + oracle._pid;
                foreach (var line in File.ReadLines(file))
                {
                    oracle.Parse(line);
                }
            }

            return oracle;
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    /// <summary>A path as the tests compare it: realpath(3) where it still exists (strace's -y shows real paths).</summary>
    public static string Canonical(string path)
    {
        var buffer = new byte[4097];
        var name = Encoding.UTF8.GetBytes(path + "\0");
        if (RealPath(name, buffer) == IntPtr.Zero)
        {
            return path;
        }

        int end = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, end);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "realpath")]
    private static extern IntPtr RealPath(byte[] path, byte[] resolved);

    /// <summary>The documented exclusions: pseudo file systems, directories, the run's temporary folders, and files gone by
    /// now whose names are per-run random names (mkstemp's XXXXXX, GetRandomFileName's 8.3, GUIDs): another run names them otherwise.</summary>
    public static bool Excluded(string path, IEnumerable<string> perRunDirectories) =>
        path.StartsWith("/proc/", StringComparison.Ordinal) || path.StartsWith("/sys/", StringComparison.Ordinal) ||
        path.StartsWith("/dev/", StringComparison.Ordinal) || Directory.Exists(path) ||
        perRunDirectories.Any(d => path.StartsWith(d, StringComparison.Ordinal)) ||
        (!File.Exists(path) && RandomName().IsMatch(Path.GetFileName(path)));

    private void Parse(string line)
    {
        var exec = ExecLine().Match(line);
        if (exec.Success)
        {
            Executed.Add(Unescape(exec.Groups[1].Value));
            _process = $"pid {_pid} {Unescape(exec.Groups[1].Value)}";
            return;
        }

        var open = OpenLine().Match(line);
        if (open.Success)
        {
            var path = Unescape(open.Groups[1].Value);
            if (!path.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                Opened.Add(path);
                OpenedBy.TryAdd(path, _process);
            }

            return;
        }

        var inet = InetConnect().Match(line);
        if (inet.Success)
        {
            Connected.Add($"{inet.Groups[2].Value}:{inet.Groups[1].Value}");
            return;
        }

        var inet6 = Inet6Connect().Match(line);
        if (inet6.Success)
        {
            Connected.Add($"[{inet6.Groups[2].Value}]:{inet6.Groups[1].Value}");
            return;
        }

        var unix = UnixConnect().Match(line);
        if (unix.Success)
        {
            Connected.Add("unix:" + Unescape(unix.Groups[1].Value));
        }
    }

    /// <summary>The same keys for our trace's network operations.</summary>
    public static string Key(TracedNetworkOperation n) => n.Family switch
    {
        "inet" => $"{n.Address}:{n.Port}",
        "inet6" => $"[{n.Address}]:{n.Port}",
        _ => "unix:" + n.Address,
    };

    /// <summary>strace's C-style escapes (\ooo octal, \xhh, \n, \", \\) back to the UTF-8 text.</summary>
    public static string Unescape(string s)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 >= s.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                continue;
            }

            char n = s[++i];
            if (n >= '0' && n <= '7')
            {
                int v = 0, k = 0;
                while (k < 3 && i < s.Length && s[i] >= '0' && s[i] <= '7')
                {
                    v = v * 8 + (s[i] - '0');
                    i++;
                    k++;
                }

                i--;
                bytes.Add((byte)v);
            }
            else if (n == 'x')
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.Add((byte)(n switch { 'n' => '\n', 't' => '\t', 'r' => '\r', 'v' => '\v', 'f' => '\f', _ => n }));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    [GeneratedRegex("^execve(?:at)?\\((?:[^,]*, )?\"((?:[^\"\\\\]|\\\\.)*)\", .* = 0$")]
    private static partial Regex ExecLine();

    [GeneratedRegex("^(?:open|openat|openat2|creat)\\(.* = \\d+<(.*)>$")]
    private static partial Regex OpenLine();

    [GeneratedRegex("^connect\\(.*sa_family=AF_INET, sin_port=htons\\((\\d+)\\), sin_addr=inet_addr\\(\"([0-9.]+)\"\\)")]
    private static partial Regex InetConnect();

    [GeneratedRegex("^connect\\(.*sa_family=AF_INET6, sin6_port=htons\\((\\d+)\\), .*inet_pton\\(AF_INET6, \"([0-9a-fA-F:.]+)\"")]
    private static partial Regex Inet6Connect();

    [GeneratedRegex("^connect\\(.*sa_family=AF_UNIX, sun_path=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex UnixConnect();

    [GeneratedRegex("^((?=.*[A-Z0-9])(?=.*[a-z])[a-zA-Z0-9]{6}|[a-z0-9]{8}\\.[a-z0-9]{3}~?|.*[0-9a-fA-F]{32}.*|.*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-.*)$")]
    private static partial Regex RandomName();
}
