using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;

namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>Reading what a build wrote.</summary>
public static class Links
{
    /// <summary>Loads a link file, asserting it is validly signed by <paramref name="key"/>.</summary>
    public static Link LoadVerified(string path, PublicKey key)
    {
        Assert.That(File.Exists(path), Is.True, $"expected link {path}; the directory holds: {Describe(Path.GetDirectoryName(path)!)}");
        var metablock = Metablock.Load(path);
        Assert.That(metablock.Signatures, Has.Count.EqualTo(1), "a link carries exactly one signature");
        Assert.That(metablock.VerifySignature(key), Is.True, $"{path} is not validly signed by {key.KeyId}");
        return Link.FromJson(metablock.Signed);
    }

    public static string FileName(string step, PublicKey key) => $"{step}.{key.KeyId.Substring(0, 8)}.link";

    /// <summary>
    /// Every file the SDK writes for these steps: the link and its DSSE statement per step, and the
    /// provenance of each step that produces outputs (compile, pack, publish) as DSSE and as a Sigstore bundle.
    /// </summary>
    public static IEnumerable<string> ExpectedFiles(PublicKey key, params string[] steps) =>
        steps.SelectMany(step => new[] { FileName(step, key), $"{step}.{key.KeyId.Substring(0, 8)}.intoto.jsonl" }
            .Concat(step.StartsWith("restore", StringComparison.Ordinal)
                ? Array.Empty<string>()
                : new[] { $"{step}.provenance.intoto.jsonl", $"{step}.provenance.sigstore.json" }));

    public static string Describe(string directory) =>
        Directory.Exists(directory)
            ? string.Join(", ", Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f)))
            : "(missing)";

    public static string Sha256(string path) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    /// <summary>A test key made with the securebuild tool, in the directory given.</summary>
    public static (string PrivatePath, PublicKey Public) Keygen(string directory, string type, string name)
    {
        var path = Path.Combine(directory, name);
        var result = SdkFeed.Securebuild(directory, "keygen", "--type", type, "-o", path);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        return (path, PublicKey.Load(path + ".pub"));
    }
}
