using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Which worker ran a build (issue #14, single-use workers), as provenance records it in internalParameters.worker:
/// the runner kind (github-hosted or self-hosted from RUNNER_ENVIRONMENT, a Tekton pod, local, ...) and hashes of the
/// machine id (/etc/machine-id) and the boot id (the kernel's, per boot), never the ids themselves. Two builds with the
/// same machine and boot hash ran on the same running machine (or containers of one host): `securebuild compare`
/// counts them as one builder, whatever keys they signed with.
/// </summary>
public static class WorkerIdentity
{
    /// <summary>Domain separation of the hashes: the recorded value says nothing that a machine id hashed elsewhere does.</summary>
    private const string HashDomain = "securebuild-worker/v1\n";

    /// <summary>The worker description; <paramref name="readFile"/> reads a small system file (null when absent).</summary>
    public static JsonMap Describe(IReadOnlyDictionary<string, string> environment, CiContext ci, Func<string, string?>? readFile = null)
    {
        readFile ??= ReadSystemFile;
        var worker = new JsonMap { ["runner"] = Runner(environment, ci) };
        if (Hash(readFile("/etc/machine-id")) is { } machine)
        {
            worker["machine"] = machine;
        }

        if (Hash(readFile("/proc/sys/kernel/random/boot_id")) is { } boot)
        {
            worker["boot"] = boot;
        }

        return worker;
    }

    /// <summary>"machine/boot" of a provenance predicate's internalParameters.worker, or null when it does not say both.</summary>
    public static string? Of(JsonMap? predicate) =>
        Worker(predicate) is { } w && w.TryGetValue("machine", out var m) && m is JsonString machine && w.TryGetValue("boot", out var b) && b is JsonString boot
            ? machine.Value + "/" + boot.Value
            : null;

    /// <summary>The runner kind of a provenance predicate's internalParameters.worker, or null.</summary>
    public static string? RunnerOf(JsonMap? predicate) =>
        Worker(predicate) is { } w && w.TryGetValue("runner", out var r) && r is JsonString runner ? runner.Value : null;

    /// <summary>A provenance predicate's internalParameters.worker, or null.</summary>
    public static JsonMap? Worker(JsonMap? predicate) =>
        predicate is not null && predicate.TryGetValue("buildDefinition", out var definition) && definition is JsonMap d &&
        d.TryGetValue("internalParameters", out var parameters) && parameters is JsonMap p &&
        p.TryGetValue("worker", out var worker) && worker is JsonMap w
            ? w
            : null;

    private static string Runner(IReadOnlyDictionary<string, string> environment, CiContext ci)
    {
        string? Get(string name) => environment.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        return ci.System switch
        {
            "github-actions" => Get("RUNNER_ENVIRONMENT") is { } kind && kind is "github-hosted" or "self-hosted" ? kind : "github-unknown",
            "tekton" => "tekton-pod",
            _ => ci.System,
        };
    }

    private static string? Hash(string? value)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return null;
        }

        return "sha256:" + Sha256Hex.Of(HashDomain + trimmed);
    }

    private static string? ReadSystemFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length <= 4096 ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }
}
