using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>
/// in-toto-verify without paying Python's start-up and in_toto's imports (most of one run) per case: one Python
/// process imports in-toto-verify's <c>main</c> once, then forks a child per request. Each child is what a fresh
/// <c>in-toto-verify</c> process would be: its own process (nothing a case changes reaches the next one), chdir'd
/// into the case's cwd, stdin /dev/null, stdout and stderr into one file, the same argv, the same exit code
/// (argparse's 2, main's 0/1, a signal as 128+n). The verdict is parsed exactly as <see cref="Reference.Verify"/>
/// parses it. Not thread-safe: one server per worker (see <see cref="Pool"/>).
/// </summary>
internal sealed class ReferenceServer : IDisposable
{
    // Request on stdin: a line with the argument count, the cwd line, then one line per argument.
    // Response on stdout: "<exit code> <byte count>\n" then that many bytes of output, or "timeout 0\n".
    private const string Driver = """
        import os, signal, sys, time
        from in_toto.in_toto_verify import main
        import in_toto.verifylib, in_toto.runlib
        requests, replies = sys.stdin.buffer, sys.stdout.buffer
        timeout = float(sys.argv[1])
        while True:
            header = requests.readline()
            if not header:
                break
            count = int(header)
            cwd = requests.readline().decode().rstrip("\n")
            args = [requests.readline().decode().rstrip("\n") for _ in range(count)]
            out = os.path.join(sys.argv[2], "out-%d" % os.getpid())
            sys.stdout.flush(); sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.setsid()
                    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    null = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(null, 0); os.dup2(fd, 1); os.dup2(fd, 2)
                    sys.argv = ["in-toto-verify"] + args
                    try:
                        os.chdir(cwd)
                        main()
                        code = 0
                    except SystemExit as e:
                        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                    except BaseException:
                        import traceback; traceback.print_exc()
                        code = 1
                finally:
                    try:
                        sys.stdout.flush(); sys.stderr.flush()
                    finally:
                        os._exit(code)
            deadline = time.monotonic() + timeout
            status = None
            while status is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                elif time.monotonic() > deadline:
                    for kill in (os.killpg, os.kill):  # its group, or itself before its setsid
                        try:
                            kill(pid, signal.SIGKILL)
                            break
                        except ProcessLookupError:
                            pass
                    os.waitpid(pid, 0)
                    break
                else:
                    time.sleep(0.002)
            if status is None:
                if os.path.exists(out):
                    os.remove(out)
                replies.write(b"timeout 0\n")
            else:
                code = os.waitstatus_to_exitcode(status)
                if code < 0:
                    code = 128 - code
                data = b""
                if os.path.exists(out):
                    with open(out, "rb") as f:
                        data = f.read()
                    os.remove(out)
                replies.write(b"%d %d\n" % (code, len(data)))
                replies.write(data)
            replies.flush()
        """;

    /// <summary>The servers <see cref="Both.Run"/> uses by default; <see cref="ReferenceServerCleanUp"/> stops them.</summary>
    public static Pool Shared { get; } = new();

    private static readonly TimeSpan CaseTimeout = TimeSpan.FromMinutes(2);
    private readonly Process _process;
    private readonly string _scratch;
    private readonly StringBuilder _stderr = new();

    public ReferenceServer()
    {
        Reference.EnsureInstalled();
        _scratch = TestData.NewTempDir("reference-server");
        var psi = new ProcessStartInfo(Interpreter())
        {
            WorkingDirectory = _scratch,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "-c", Driver, CaseTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture), _scratch })
        {
            psi.ArgumentList.Add(a);
        }

        Reference.RemoveInTotoVariables(psi);
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>As <see cref="Reference.Verify"/>, in a forked child of this server.</summary>
    public Verdict Verify(string cwd, string layout, IReadOnlyList<(string Path, string Type)> keys, string linkDir)
    {
        var args = Reference.Arguments(layout, keys, linkDir);
        var request = new StringBuilder().Append(args.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (string line in args.Prepend(cwd))
        {
            if (line.Contains('\n'))
            {
                throw new ArgumentException($"the reference server takes no newline in its cwd or an argument: {line}");
            }

            request.Append(line).Append('\n');
        }

        var input = _process.StandardInput.BaseStream;
        input.Write(Encoding.UTF8.GetBytes(request.ToString()));
        input.Flush();

        var output = _process.StandardOutput.BaseStream;
        string header = ReadLine(output);
        string[] parts = header.Split(' ');
        if (parts.Length != 2)
        {
            throw new InvalidOperationException($"the reference server answered '{header}' for {string.Join(" ", args)} in {cwd}; its stderr:\n{Stderr()}");
        }

        if (parts[0] == "timeout")
        {
            throw new TimeoutException($"{Reference.Tool} {string.Join(" ", args)} did not finish within {CaseTimeout}.");
        }

        int code = int.Parse(parts[0], CultureInfo.InvariantCulture);
        var data = new byte[int.Parse(parts[1], CultureInfo.InvariantCulture)];
        output.ReadExactly(data);
        return Reference.ToVerdict(code, Encoding.UTF8.GetString(data));
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            _process.Dispose();
            TestData.DeleteDirectory(_scratch);
        }
    }

    /// <summary>The Python in-toto-verify's own shebang names (so the server imports the same in_toto).</summary>
    private static string Interpreter()
    {
        string first = File.ReadLines(Reference.Tool).First();
        Assert.That(first, Does.StartWith("#!"), $"{Reference.Tool} is not a Python script");
        string[] words = first[2..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words[0].EndsWith("/env", StringComparison.Ordinal) && words.Length > 1 ? words[1] : words[0];
    }

    private string ReadLine(Stream stream)
    {
        var bytes = new List<byte>();
        while (true)
        {
            int b = stream.ReadByte();
            if (b < 0)
            {
                throw new InvalidOperationException($"the reference server exited ({Stderr()})");
            }

            if (b == '\n')
            {
                return Encoding.UTF8.GetString(bytes.ToArray());
            }

            bytes.Add((byte)b);
        }
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    /// <summary>Servers for parallel workers: each worker takes one, uses it alone, and gives it back.</summary>
    public sealed class Pool : IDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<ReferenceServer> _idle = new();
        private readonly System.Collections.Concurrent.ConcurrentBag<ReferenceServer> _all = new();

        public Verdict Verify(string cwd, string layout, IReadOnlyList<(string Path, string Type)> keys, string linkDir)
        {
            if (!_idle.TryTake(out var server))
            {
                server = new ReferenceServer();
                _all.Add(server);
            }

            // A timed-out case leaves the server ready for the next request; any other failure may have left half an
            // answer in its pipe, so that server is not used again.
            bool reusable = false;
            try
            {
                var verdict = server.Verify(cwd, layout, keys, linkDir);
                reusable = true;
                return verdict;
            }
            catch (TimeoutException)
            {
                reusable = true;
                throw;
            }
            finally
            {
                if (reusable)
                {
                    _idle.Add(server);
                }
            }
        }

        public void Dispose()
        {
            foreach (var server in _all)
            {
                server.Dispose();
            }
        }
    }
}
