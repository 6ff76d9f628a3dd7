// Keyless signing cost per build step (benchmark, not a test; never fails on timing).
// Usage: KeylessBench <stand-in URL> <trusted_root.json> [steps] [--tsa]
// A "step" is what RecordStepProducts does with SecureBuildSigning=keyless: a new in-memory key and Fulcio certificate,
// one DSSE provenance bundle signed and logged (and timestamped with --tsa), the bundle verified against the trusted
// root. The baseline, measured in the same run: the same statement signed into a key-hint bundle with a P-256 key.
using System.Diagnostics;
using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Sigstore;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: KeylessBench <stand-in URL> <trusted_root.json> [steps] [--tsa]");
    return 2;
}

string url = args[0];
int steps = args.Length > 2 && int.TryParse(args[2], out int n) ? n : 20;
bool tsa = args.Contains("--tsa");
var settings = KeylessSettings.From(url, url, tsa ? url + "/api/v1/timestamp" : null, "required", args[1]);
string jwt = string.Join(".", new[]
{
    "{\"alg\":\"RS256\"}",
    "{\"iss\":\"https://token.actions.githubusercontent.com\",\"sub\":\"https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main\",\"aud\":\"sigstore\"}",
    "sig",
}.Select(p => Convert.ToBase64String(Encoding.UTF8.GetBytes(p)).TrimEnd('=').Replace('+', '-').Replace('/', '_')));
var token = IdentityToken.Parse(jwt, "bench", DateTimeOffset.UtcNow);
byte[] statement = Encoding.UTF8.GetBytes("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"App.dll\",\"digest\":{\"sha256\":\"" + new string('a', 64) + "\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}");

using var http = new BoundedHttp(TimeSpan.FromSeconds(30));
var keyless = new List<double>();
int trips = 0;
for (int i = 0; i <= steps; i++)
{
    var sw = Stopwatch.StartNew();
    using (var signer = KeylessSigner.Start(settings, token, http))
    {
        signer.SignDsse(DsseEnvelope.InTotoPayloadType, statement);
        trips = signer.RoundTrips;
    }

    if (i > 0)
    {
        keyless.Add(sw.Elapsed.TotalMilliseconds); // step 0 is the warm-up (JIT, first connection)
    }
}

var key = SigningKey.Generate(KeyType.Ecdsa);
var baseline = new List<double>();
for (int i = 0; i <= steps; i++)
{
    var sw = Stopwatch.StartNew();
    SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, statement, key).ToUtf8Json();
    if (i > 0)
    {
        baseline.Add(sw.Elapsed.TotalMilliseconds);
    }
}

static double Median(List<double> v)
{
    var s = v.OrderBy(x => x).ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

Console.WriteLine($"steps measured: {steps} (after one warm-up), TSA: {(tsa ? "yes" : "no")}");
Console.WriteLine($"round trips per step: {trips} (Fulcio 1, Rekor 1{(tsa ? ", TSA 1" : string.Empty)}; a GitHub Actions token request adds 1)");
Console.WriteLine($"keyless per step:  median {Median(keyless):0.0} ms, max {keyless.Max():0.0} ms");
Console.WriteLine($"key-hint baseline: median {Median(baseline):0.00} ms");
Console.WriteLine($"added by keyless:  median {Median(keyless) - Median(baseline):0.0} ms per step (goal: <= 500 ms)");
return 0;
