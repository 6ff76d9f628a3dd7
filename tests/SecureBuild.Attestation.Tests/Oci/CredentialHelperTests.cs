using System.Text;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Oci;
using SecureBuild.TestSupport.Oci;

namespace SecureBuild.Attestation.Tests.Oci;

/// <summary>
/// Registry credentials from docker credential helpers (credHelpers / credsStore) against a real registry that
/// requires HTTP Basic authentication (Debian's docker-registry with htpasswd auth). The helpers are small scripts the
/// test writes: they get the registry host on stdin, as docker's helpers do.
/// </summary>
[TestFixture]
[NonParallelizable]
[Platform(Exclude = "Win")]
public sealed class CredentialHelperTests
{
    private const string User = "ci";
    private const string Password = "s3cr:et pass";
    private LocalRegistry _registry = null!;
    private BoundedHttp _http = null!;
    private string _dir = null!;
    private string _path = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _registry = LocalRegistry.Start((User, Password));
        _http = new BoundedHttp(TimeSpan.FromSeconds(60));
        _dir = TestData.NewTempDir("sbcredhelper");
        string bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        // Answers only for the test registry's host, read from stdin; anything else is "not found", as docker's helpers say.
        Helper(bin, "sbtest", $"[ \"$1\" = get ] || exit 3\nread -r host\nif [ \"$host\" = \"{_registry.Host}\" ]; then\n  printf '%s' '{{\"ServerURL\":\"{_registry.Host}\",\"Username\":\"{User}\",\"Secret\":\"{Password}\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n");
        Helper(bin, "sbwrong", $"cat >/dev/null\nprintf '%s' '{{\"Username\":\"{User}\",\"Secret\":\"wrong\"}}'\n");
        Helper(bin, "sbnone", "cat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n");
        Helper(bin, "sbbroken", "cat >/dev/null\necho 'keychain locked' >&2\nexit 4\n");
        Helper(bin, "sbgarbage", "cat >/dev/null\necho 'not json'\n");
        _path = bin + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _http?.Dispose();
        _registry?.Dispose();
        TestData.TryDelete(_dir);
    }

    private static void Helper(string bin, string name, string body)
    {
        string path = Path.Combine(bin, "docker-credential-" + name);
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private string Config(string json)
    {
        string path = Path.Combine(_dir, "config-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    private OciRegistryClient Client(string config, string repository = "acme/helper") =>
        new(OciRepository.Parse(_registry.Host + "/" + repository), _http, host => DockerCredentials.Find(config, host, _path));

    private static OciException Fails(Action push) => Assert.Throws<OciException>(() => push())!;

    [Test]
    public void The_credHelpers_entry_for_the_host_logs_in()
    {
        var client = Client(Config("{\"credHelpers\":{\"" + _registry.Host + "\":\"sbtest\",\"other.example\":\"sbwrong\"},\"credsStore\":\"sbwrong\"}"));
        string digest = LocalRegistry.PushTestImage(client);
        Assert.That(client.GetManifest(digest), Is.Not.Null);
    }

    [Test]
    public void The_credsStore_logs_in_when_no_credHelpers_entry_names_the_host()
    {
        var client = Client(Config("{\"credsStore\":\"sbtest\",\"auths\":{\"" + _registry.Host + "\":{}}}"));
        Assert.That(client.GetManifest(LocalRegistry.PushTestImage(client)), Is.Not.Null);
    }

    [Test]
    public void A_helper_with_nothing_for_the_host_falls_back_to_auths()
    {
        string auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":" + Password));
        var client = Client(Config("{\"credsStore\":\"sbnone\",\"auths\":{\"" + _registry.Host + "\":{\"auth\":\"" + auth + "\"}}}"));
        Assert.That(client.GetManifest(LocalRegistry.PushTestImage(client)), Is.Not.Null);

        var none = Client(Config("{\"credsStore\":\"sbnone\"}"));
        Assert.That(Fails(() => LocalRegistry.PushTestImage(none)).Code, Is.EqualTo(OciException.Unauthorized));
    }

    [Test]
    public void Credentials_the_registry_refuses_are_SB5152()
    {
        var client = Client(Config("{\"credHelpers\":{\"" + _registry.Host + "\":\"sbwrong\"}}"));
        var e = Fails(() => LocalRegistry.PushTestImage(client));
        Assert.That(e.Code, Is.EqualTo(OciException.Unauthorized), e.Message);
    }

    [TestCase("sbmissing", "cannot be run")]
    [TestCase("sbbroken", "failed (exit 4): keychain locked")]
    [TestCase("sbgarbage", "not JSON")]
    [TestCase("../sbtest", "is not a helper name")]
    public void A_helper_that_cannot_answer_is_SB5167(string helper, string why)
    {
        var client = Client(Config("{\"credHelpers\":{\"" + _registry.Host + "\":\"" + helper + "\"}}"));
        var e = Fails(() => LocalRegistry.PushTestImage(client));
        Assert.That(e.Code, Is.EqualTo(OciException.CredentialHelperFailed), e.Message);
        Assert.That(e.Message, Does.Contain("docker-credential-" + helper).And.Contain(why));
        Assert.That(e.IsUsage, Is.True, "exit 2: the machine's setup, not the registry's answer");
    }
}
