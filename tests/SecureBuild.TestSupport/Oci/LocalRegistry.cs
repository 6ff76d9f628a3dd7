using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SecureBuild.TestSupport.Oci;

/// <summary>
/// A throw-away OCI registry: Debian's docker-registry (distribution 2.8, no referrers API) on 127.0.0.1 with port 0
/// (the port is read back from its log), no authentication, storage in a scratch folder. Stopped and deleted by
/// <see cref="Dispose"/>; every wait is bounded.
/// </summary>
public sealed class LocalRegistry : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private LocalRegistry(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Host = "127.0.0.1:" + port;
    }

    /// <summary>127.0.0.1:PORT.</summary>
    public string Host { get; }

    public string BaseUrl => "http://" + Host;

    /// <summary>The registry's filesystem storage (blobs under docker/registry/v2/blobs/sha256/HH/HEX/data), for tamper tests.</summary>
    public string StorageDirectory => Path.Combine(_dir, "data");

    /// <summary>The file holding the blob or manifest with <paramref name="digest"/> (sha256:HEX) in storage.</summary>
    public string BlobPath(string digest)
    {
        string hex = digest.Substring("sha256:".Length);
        return Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", hex.Substring(0, 2), hex, "data");
    }

    /// <summary>
    /// Pushes a small image with a unique config (no layers) to <paramref name="repository"/> under <paramref name="tag"/>
    /// through <paramref name="client"/> (a client for this registry's repository) and returns its manifest digest.
    /// </summary>
    public static string PushTestImage(SecureBuild.Core.Oci.OciRegistryClient client, string tag = "latest")
    {
        var config = client.PushBlob("application/vnd.oci.image.config.v1+json", System.Text.Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"id\":\"" + Guid.NewGuid() + "\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"));
        byte[] image = System.Text.Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"" + SecureBuild.Core.Oci.OciRegistryClient.ManifestMediaType + "\",\"config\":"
            + SecureBuild.Core.Json.JsonText.Write(config.ToJson()).Trim() + ",\"layers\":[]}");
        client.PushManifest(tag, SecureBuild.Core.Oci.OciRegistryClient.ManifestMediaType, image);
        return "sha256:" + SecureBuild.Core.Crypto.Sha256Hex.Of(image);
    }

    /// <param name="htpasswd">With a user and password: the registry requires HTTP Basic authentication (distribution's
    /// htpasswd auth; the password is stored bcrypt-hashed, as htpasswd -B writes it).</param>
    public static LocalRegistry Start((string User, string Password)? htpasswd = null)
    {
        string? binary = new[] { "/usr/bin/docker-registry", "/usr/sbin/docker-registry", "/usr/local/bin/docker-registry" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            Assert.Fail("docker-registry is not installed: the OCI tests need a real registry. Run build/install-prerequisites.sh (apt-get install docker-registry).");
        }

        string dir = ScratchDirectory.Create("sbregistry");
        string data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        string config = Path.Combine(dir, "config.yml");
        File.WriteAllText(config, $"version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n"
            + $"http:\n  addr: 127.0.0.1:0\n  secret: {Guid.NewGuid():N}\n");
        if (htpasswd is { } account)
        {
            byte[] salt = new byte[16];
            System.Security.Cryptography.RandomNumberGenerator.Fill(salt);
            string users = Path.Combine(dir, "htpasswd");
            File.WriteAllText(users, account.User + ":" + Org.BouncyCastle.Crypto.Generators.OpenBsdBCrypt.Generate("2a", account.Password.ToCharArray(), salt, 4) + "\n");
            File.AppendAllText(config, $"auth:\n  htpasswd:\n    realm: securebuild-test\n    path: {users}\n");
        }

        var psi = new ProcessStartInfo(binary!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi)!;
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (log)
            {
                log.AppendLine(e.Data);
            }

            var m = Regex.Match(e.Data, @"listening on 127\.0\.0\.1:(\d+)");
            if (m.Success)
            {
                listening.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!listening.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            Kill(process);
            ScratchDirectory.TryDelete(dir);
            lock (log)
            {
                Assert.Fail("docker-registry did not start within 60 s:\n" + log);
            }
        }

        return new LocalRegistry(process, dir, listening.Task.Result);
    }

    public void Dispose()
    {
        Kill(_process);
        _process.Dispose();
        ScratchDirectory.TryDelete(_dir);
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
