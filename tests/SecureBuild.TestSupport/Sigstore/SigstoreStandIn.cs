using System.Diagnostics;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.TestSupport.Sigstore;

/// <summary>
/// The local Fulcio/Rekor/TSA stand-in (TestData/sigstore/local-sigstore-mock-server.mjs over @sigstore/mock), started
/// on 127.0.0.1 with port 0 and stopped by <see cref="Dispose"/> (it also exits when its stdin closes, so a test run
/// that dies does not leave it behind). Every wait is bounded.
/// </summary>
public sealed class SigstoreStandIn : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private SigstoreStandIn(Process process, string url, string dir)
    {
        _process = process;
        Url = url;
        _dir = dir;
        TrustedRootPath = Path.Combine(dir, "trusted_root.json");
        TrustedRootJson = FetchTrustedRoot();
        File.WriteAllText(TrustedRootPath, TrustedRootJson);
    }

    /// <summary>http://127.0.0.1:PORT: Fulcio, Rekor and (at /api/v1/timestamp) the TSA.</summary>
    public string Url { get; }

    public string TimestampUrl => Url + "/api/v1/timestamp";

    /// <summary>trusted_root.json for this instance's throw-away keys, in a scratch folder.</summary>
    public string TrustedRootPath { get; }

    public string TrustedRootJson { get; }

    /// <param name="dataDirectory">The repository's Sigstore test data (package.json, package-lock.json, the scripts).</param>
    /// <param name="options">The stand-in's options (--fail-next-uploads N, --log-clock-offset S).</param>
    public static SigstoreStandIn Start(string dataDirectory, params string[] options)
    {
        string oracle = SigstoreNodeTools.Install(dataDirectory);
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = oracle,
        };
        psi.ArgumentList.Add(Path.Combine(oracle, "local-sigstore-mock-server.mjs"));
        foreach (string o in options)
        {
            psi.ArgumentList.Add(o);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start node");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var firstLine = process.StandardOutput.ReadLineAsync();
        if (!firstLine.Wait(TimeSpan.FromSeconds(90)) || firstLine.Result is null)
        {
            Kill(process);
            lock (stderr)
            {
                Assert.Fail("the Sigstore stand-in did not start within 90 s: " + stderr);
            }
        }

        var announce = (JsonMap)JsonParser.Parse(firstLine.Result!);
        string url = ((JsonString)announce["url"]).Value;
        Assert.That(url, Does.StartWith("http://127.0.0.1:"));
        return new SigstoreStandIn(process, url, ScratchDirectory.Create("sbstandin"));
    }

    /// <summary>The trusted root as a JSON map to edit (for hostile-root tests).</summary>
    public JsonMap TrustedRoot() => (JsonMap)JsonParser.Parse(TrustedRootJson);

    /// <summary>Writes an edited trusted root into this instance's scratch folder and returns its path.</summary>
    public string WriteTrustedRoot(JsonMap root, string name)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, JsonText.Write(root));
        return path;
    }

    public string Scratch(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
            {
                Kill(_process);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
        ScratchDirectory.TryDelete(_dir);
    }

    private static void Kill(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private string FetchTrustedRoot()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        return client.GetStringAsync(Url + "/trusted_root.json").GetAwaiter().GetResult();
    }
}

/// <summary>OIDC tokens for tests: the stand-in decodes, it does not verify, so the signature part is a placeholder.</summary>
public static class TestTokens
{
    public const string GitHubIssuer = "https://token.actions.githubusercontent.com";
    public const string Workflow = "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main";

    public static string Make(string subject = Workflow, string issuer = GitHubIssuer, DateTimeOffset? expires = null)
    {
        var claims = new JsonMap
        {
            { "iss", issuer },
            { "sub", subject },
            { "aud", "sigstore" },
            { "exp", (expires ?? DateTimeOffset.UtcNow.AddHours(1)).ToUnixTimeSeconds() },
        };
        return Part(Encoding.UTF8.GetBytes("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")) + "." + Part(Encoding.UTF8.GetBytes(JsonText.Write(claims, indented: false).TrimEnd('\n'))) + ".c2lnbmF0dXJl";
    }

    private static string Part(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
