using System.Text;
using SecureBuild.Core.Identity;
using SecureBuild.TestSupport.Sigstore;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>Where keyless signing gets its OIDC token: explicit file, SIGSTORE_ID_TOKEN, GitHub Actions' token request.</summary>
[TestFixture]
public sealed class IdentityTokenSourceTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    private static BoundedHttp Http(double seconds = 30, long cap = BoundedHttp.DefaultMaxResponseBytes) => new(TimeSpan.FromSeconds(seconds), cap);

    [Test]
    public void SIGSTORE_ID_TOKEN_is_used_before_the_GitHub_Actions_flow()
    {
        string token = TestTokens.Make(subject: "explicit@example.com", issuer: "https://gitlab.com");
        using var endpoint = new LocalHttpEndpoint(_ => (200, Encoding.UTF8.GetBytes("{\"value\":\"" + TestTokens.Make() + "\"}")));
        using var http = Http();
        var got = IdentityTokenSource.Acquire(null, Env(("SIGSTORE_ID_TOKEN", token), ("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.Url + "/token?x=1"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req")), http, Now);
        Assert.Multiple(() =>
        {
            Assert.That(got.Issuer, Is.EqualTo("https://gitlab.com"));
            Assert.That(got.Subject, Is.EqualTo("explicit@example.com"));
            Assert.That(got.Source, Is.EqualTo("SIGSTORE_ID_TOKEN"));
            Assert.That(endpoint.Requests, Is.Empty);
        });
    }

    [Test]
    public void An_explicit_token_file_comes_first()
    {
        string dir = TestData.NewTempDir();
        try
        {
            string file = Path.Combine(dir, "token");
            File.WriteAllText(file, TestTokens.Make(subject: "from-file") + "\n");
            using var http = Http();
            var got = IdentityTokenSource.Acquire(file, Env(("SIGSTORE_ID_TOKEN", TestTokens.Make(subject: "from-env"))), http, Now);
            Assert.That(got.Subject, Is.EqualTo("from-file"));

            var missing = Assert.Throws<KeylessException>(() => IdentityTokenSource.Acquire(Path.Combine(dir, "nope"), Env(), http, Now));
            Assert.That(missing!.Code, Is.EqualTo("SB5003"));
        }
        finally
        {
            TestData.TryDelete(dir);
        }
    }

    [Test]
    public void The_GitHub_Actions_flow_asks_for_the_sigstore_audience_with_the_request_token()
    {
        string token = TestTokens.Make();
        using var endpoint = new LocalHttpEndpoint(_ => (200, Encoding.UTF8.GetBytes("{\"count\":1,\"value\":\"" + token + "\"}")));
        using var http = Http();
        var got = IdentityTokenSource.Acquire(null, Env(("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.Url + "/_apis/token?api-version=2.0"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "the-request-token")), http, Now);
        Assert.Multiple(() =>
        {
            Assert.That(got.Raw, Is.EqualTo(token));
            Assert.That(got.Issuer, Is.EqualTo(TestTokens.GitHubIssuer));
            Assert.That(got.ToString(), Does.Not.Contain(token), "the token is never printed");
            Assert.That(endpoint.Requests, Has.Count.EqualTo(1));
            Assert.That(endpoint.Requests[0], Does.StartWith("GET /_apis/token?api-version=2.0&audience=sigstore HTTP/1.1"));
            Assert.That(endpoint.Requests[0], Does.Contain("Authorization: bearer the-request-token"));
        });
    }

    [TestCase(403, "{\"message\":\"no permission\"}", "HTTP 403")]
    [TestCase(200, "{\"nothing\":true}", "without a token")]
    [TestCase(200, "not json", "without a token")]
    public void A_failed_GitHub_token_request_is_SB5002(int status, string body, string expected)
    {
        using var endpoint = new LocalHttpEndpoint(_ => (status, Encoding.UTF8.GetBytes(body)));
        using var http = Http();
        var e = Assert.Throws<KeylessException>(() => IdentityTokenSource.Acquire(null, Env(("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.Url + "/t"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "r")), http, Now));
        Assert.That(e!.Code, Is.EqualTo("SB5002"));
        Assert.That(e.Message, Does.Contain(expected));
        Assert.That(e.Fix, Does.Contain("id-token: write"));
    }

    [Test]
    public void A_token_endpoint_that_never_answers_hits_the_deadline()
    {
        using var endpoint = new LocalHttpEndpoint(_ => null);
        using var http = Http(seconds: 1);
        var e = Assert.Throws<KeylessException>(() => IdentityTokenSource.Acquire(null, Env(("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.Url + "/t"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "r")), http, Now));
        Assert.That(e!.Code, Is.EqualTo("SB5002"));
        Assert.That(e.Message, Does.Contain("did not answer within 1 s"));
    }

    [Test]
    public void An_oversized_answer_is_refused_while_it_streams()
    {
        using var endpoint = new LocalHttpEndpoint(_ => (200, new byte[3 * 1024 * 1024]));
        using var http = Http(cap: 1024 * 1024);
        var e = Assert.Throws<KeylessException>(() => IdentityTokenSource.Acquire(null, Env(("ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.Url + "/t"), ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "r")), http, Now));
        Assert.That(e!.Code, Is.EqualTo("SB5002"));
        Assert.That(e.Message, Does.Contain("1048576-byte limit"));
    }

    [TestCase(null, null, "SecureBuildIdentityTokenFile")]
    [TestCase("GITHUB_ACTIONS", "true", "permissions: id-token: write")]
    [TestCase("GITLAB_CI", "true", "id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore")]
    public void No_token_anywhere_is_SB5000_with_the_fix_for_the_CI_at_hand(string? name, string? value, string fix)
    {
        using var http = Http();
        var env = name is null ? Env() : Env((name, value!));
        var e = Assert.Throws<KeylessException>(() => IdentityTokenSource.Acquire(null, env, http, Now));
        Assert.That(e!.Code, Is.EqualTo("SB5000"));
        Assert.That(e.Fix, Does.Contain(fix));
    }

    [TestCase("not-a-jwt", "not a JWT")]
    [TestCase("a.b", "not a JWT")]
    [TestCase("eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln", "not JSON")]
    [TestCase("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln", "no \"iss\"")]
    [TestCase("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.c2ln", "no \"sub\"")]
    public void A_malformed_token_is_SB5001(string token, string expected)
    {
        var e = Assert.Throws<KeylessException>(() => IdentityToken.Parse(token, "test", Now));
        Assert.That(e!.Code, Is.EqualTo("SB5001"));
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void An_expired_token_is_SB5001()
    {
        var e = Assert.Throws<KeylessException>(() => IdentityToken.Parse(TestTokens.Make(expires: Now.AddMinutes(-1)), "test", Now));
        Assert.That(e!.Code, Is.EqualTo("SB5001"));
        Assert.That(e.Message, Does.Contain("expired"));
    }
}
