using SecureBuild.Core.Crypto;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>
/// `securebuild svid fetch` against a Workload API stand-in on a Unix socket: the SVID written as files that sign,
/// and every broken agent (hang, close mid-stream, no identity, nothing sent, a long-lived or mislabelled SVID)
/// a clear failure within the timeout, never a pass or a hang.
/// </summary>
[NonParallelizable]
public class WorkloadApiFetchTests
{
    private string _out = "";

    [SetUp]
    public void SetUp() => _out = ScratchDirectory.Create("svid-fetch");

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_out);

    private static WorkloadApiStandIn.State Agent(AgentBehaviour behaviour, TimeSpan? lifetime = null, int rsaBits = 0) => new()
    {
        Behaviour = behaviour,
        Issue = () =>
        {
            var now = DateTimeOffset.UtcNow;
            var (cert, key) = TestPki.IssueLeaf("spiffe://example.org/ci/build", now.AddMinutes(-1), now + (lifetime ?? TimeSpan.FromHours(1)), rsaBits);
            return (cert.GetEncoded(), key);
        },
    };

    private (int Code, string Output) Fetch(string endpoint, params string[] extra) =>
        SigstoreTufTests.Cli(new[] { "svid", "fetch", "--socket", endpoint, "--out", _out }.Concat(extra).ToArray());

    [Test]
    public async Task The_svid_is_fetched_checked_and_written_as_files_that_sign_and_verify()
    {
        await using var agent = await WorkloadApiStandIn.StartAsync(Agent(AgentBehaviour.ServeAndRotate));
        var (code, output) = Fetch(agent.Endpoint);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("OK: spiffe://example.org/ci/build"));
        Assert.That(agent.Agent.MissingHeader, Is.Zero, "the client sends workload.spiffe.io: true");

        string svid = Path.Combine(_out, "svid.pem"), key = Path.Combine(_out, "svid.key"), bundle = Path.Combine(_out, "bundle.pem");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(key), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }

        // The files are what `svid verify` and every --key option read: the key signs, the certificate's key verifies.
        (code, output) = SigstoreTufTests.Cli("svid", "verify", svid, "--bundle", bundle, "--spiffe-id", "spiffe://example.org/ci/*");
        Assert.That(code, Is.EqualTo(0), output);
        var signing = SigningKey.Load(key);
        var leaf = SvidCertificates.ReadCertificates(File.ReadAllBytes(svid), svid)[0];
        string spki = Convert.ToBase64String(leaf.CertificateStructure.SubjectPublicKeyInfo.GetEncoded(), Base64FormattingOptions.InsertLineBreaks);
        var certKey = PublicKey.Parse("-----BEGIN PUBLIC KEY-----\n" + spki + "\n-----END PUBLIC KEY-----\n", "the SVID's public key");
        byte[] payload = "payload"u8.ToArray();
        Assert.That(certKey.Verify(payload, signing.Sign(payload)), Is.True);
    }

    [Test]
    public async Task An_rsa_svid_from_the_agent_is_written_and_signs_a_bundle_that_verifies()
    {
        await using var agent = await WorkloadApiStandIn.StartAsync(Agent(AgentBehaviour.Serve, rsaBits: 2048));
        var (code, output) = Fetch(agent.Endpoint);
        Assert.That(code, Is.EqualTo(0), output);

        string svid = Path.Combine(_out, "svid.pem"), key = Path.Combine(_out, "svid.key"), bundle = Path.Combine(_out, "bundle.pem");
        var signer = SvidSigner.FromFiles(svid, key, bundle, new SvidPolicy(), DateTimeOffset.UtcNow);
        Assert.That(signer.Chain[0].GetPublicKey(), Is.TypeOf<Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters>());
        string signed = Path.Combine(_out, "statement.sigstore.json");
        Core.Sigstore.SigstoreBundleWriter.Save(signer.SignDsse("text/plain", "payload"u8.ToArray()), signed);
        (code, output) = SigstoreTufTests.Cli("svid", "verify-signature", signed, "--bundle", bundle, "--spiffe-id", "spiffe://example.org/ci/*");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("signed by spiffe://example.org/ci/build"));
    }

    [Test]
    public async Task A_short_rsa_svid_from_the_agent_is_refused_with_its_code()
    {
        await using var agent = await WorkloadApiStandIn.StartAsync(Agent(AgentBehaviour.Serve, rsaBits: 1024));
        var (code, output) = Fetch(agent.Endpoint);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("SB5300").And.Contain("RSA-1024"));
        Assert.That(Directory.GetFiles(_out), Is.Empty);
    }

    [Test]
    public async Task The_client_retries_an_agent_that_is_starting()
    {
        await using var agent = await WorkloadApiStandIn.StartAsync(Agent(AgentBehaviour.UnavailableTwiceThenServe));
        var (code, output) = Fetch(agent.Endpoint);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(agent.Agent.Calls, Is.EqualTo(3));
    }

    [TestCase(AgentBehaviour.Hang, "within 3 s")]
    [TestCase(AgentBehaviour.CloseMidStream, "SB5231")]
    [TestCase(AgentBehaviour.PermissionDenied, "PermissionDenied")]
    [TestCase(AgentBehaviour.EmptyStream, "without sending an SVID")]
    [TestCase(AgentBehaviour.CloseMidMessage, "broke")]
    [TestCase(AgentBehaviour.StallMidMessage, "within 3 s")]
    public async Task A_broken_agent_is_a_clear_failure_and_nothing_is_written(AgentBehaviour behaviour, string expected)
    {
        await using var agent = await WorkloadApiStandIn.StartAsync(Agent(behaviour));
        var (code, output) = Fetch(agent.Endpoint, "--timeout", "3s");
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("SB5231").And.Contain(expected));
        Assert.That(Directory.GetFiles(_out), Is.Empty);
    }

    [Test]
    public async Task A_long_lived_or_mislabelled_svid_is_refused()
    {
        await using (var agent = await WorkloadApiStandIn.StartAsync(Agent(AgentBehaviour.Serve, TimeSpan.FromDays(365))))
        {
            var (code, output) = Fetch(agent.Endpoint);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("SB5229").And.Contain("not-short-lived"));
        }

        var state = Agent(AgentBehaviour.Serve);
        state.SpiffeId = "spiffe://example.org/ci/deploy";
        await using (var agent = await WorkloadApiStandIn.StartAsync(state))
        {
            var (code, output) = Fetch(agent.Endpoint);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("SB5231").And.Contain("spiffe://example.org/ci/deploy"));
        }

        Assert.That(Directory.GetFiles(_out), Is.Empty);
    }

    [Test]
    public void No_endpoint_or_a_bad_one_is_a_usage_error()
    {
        string? old = Environment.GetEnvironmentVariable("SPIFFE_ENDPOINT_SOCKET");
        Environment.SetEnvironmentVariable("SPIFFE_ENDPOINT_SOCKET", null);
        try
        {
            var (code, output) = SigstoreTufTests.Cli("svid", "fetch", "--out", _out);
            Assert.That(code, Is.EqualTo(2));
            Assert.That(output, Does.Contain("SPIFFE_ENDPOINT_SOCKET"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SPIFFE_ENDPOINT_SOCKET", old);
        }

        foreach (string bad in new[] { "unix://host/agent.sock", "tcp://localhost:1234", "http://127.0.0.1:1", "unix:relative.sock" })
        {
            var (code, output) = Fetch(bad);
            Assert.That(code, Is.EqualTo(2), bad);
            Assert.That(output, Does.Contain("SB5231"), bad);
        }

        var (missing, text) = Fetch("unix://" + Path.Combine(_out, "no-agent.sock"), "--timeout", "5s");
        Assert.That(missing, Is.EqualTo(2), text);
        Assert.That(text, Does.Contain("cannot be reached").Or.Contain("unavailable"));
    }
}
