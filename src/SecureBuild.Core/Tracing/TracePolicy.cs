using System;
using System.Collections.Generic;
using System.Linq;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// What a traced build may do (docs/trace-policy.md). Entries are either tokens that stand for what only the run
/// knows ("@package-sources", "@dotnet", "@project-obj", ...; <see cref="TracePolicyContext"/> resolves them) or literal
/// values: host names, IP addresses (optionally ":port"), program paths or names, and paths ("~/" is the home
/// directory; a path covers itself and everything below it). The built-in <see cref="Default"/> needs no file; a
/// policy file replaces the sections it names and keeps the default's others.
/// </summary>
public sealed class TracePolicy
{
    public const int CurrentVersion = 1;

    /// <summary>SB4210: the policy file is unreadable or not a valid policy.</summary>
    public const string InvalidCode = "SB4210";

    public TracePolicy(
        IReadOnlyDictionary<TracePhase, IReadOnlyList<string>> network,
        IReadOnlyList<string> processes,
        IReadOnlyList<string> writes,
        IReadOnlyList<string> restoreWrites,
        IReadOnlyList<string> secretReads,
        bool undeclaredInputs)
    {
        Network = network;
        Processes = processes;
        Writes = writes;
        RestoreWrites = restoreWrites;
        SecretReads = secretReads;
        UndeclaredInputs = undeclaredInputs;
    }

    /// <summary>Where each phase may connect, bind or send to.</summary>
    public IReadOnlyDictionary<TracePhase, IReadOnlyList<string>> Network { get; }

    /// <summary>The programs that may run.</summary>
    public IReadOnlyList<string> Processes { get; }

    /// <summary>Where files may be written, created, deleted or renamed in every phase.</summary>
    public IReadOnlyList<string> Writes { get; }

    /// <summary>Where files may also be written during restore and sdk-resolve.</summary>
    public IReadOnlyList<string> RestoreWrites { get; }

    /// <summary>Paths no process of the build may read.</summary>
    public IReadOnlyList<string> SecretReads { get; }

    /// <summary>Whether a file the compiler, packer or publisher read without it being declared is a violation.</summary>
    public bool UndeclaredInputs { get; }

    /// <summary>The names of the phases in a policy file.</summary>
    public static readonly IReadOnlyDictionary<string, TracePhase> PhaseNames = new Dictionary<string, TracePhase>(StringComparer.Ordinal)
    {
        ["restore"] = TracePhase.Restore,
        ["build"] = TracePhase.Build,
        ["pack"] = TracePhase.Pack,
        ["publish"] = TracePhase.Publish,
        ["test"] = TracePhase.Test,
        ["other"] = TracePhase.Other,
        ["sdk-resolve"] = TracePhase.SdkResolve,
    };

    /// <summary>The phase's name in a policy file, a finding and the attestation ("restore", "sdk-resolve", ...).</summary>
    public static string NameOf(TracePhase phase) => PhaseNames.First(p => p.Value == phase).Key;

    /// <summary>Phases that may write the packages folder and NuGet's caches (<see cref="RestoreWrites"/>).</summary>
    public static bool IsRestoreLike(TracePhase phase) => phase is TracePhase.Restore or TracePhase.SdkResolve;

    /// <summary>
    /// The built-in policy: restore, and the SDK resolver's downloads while MSBuild evaluates (sdk-resolve), may reach
    /// the package sources (and DNS), compile/pack/publish none, tests only
    /// loopback (the test host talks to its runner over TCP on 127.0.0.1); MSBuild's own IPC (unix sockets in the
    /// temporary folder) always; programs: the dotnet host and SDK, git and the locked tools; writes under the
    /// projects' obj/ and bin/, the artifacts and output folders, temp, and the SDK's per-user state, plus the NuGet
    /// packages folder and NuGet's caches during restore; no reads of SSH, cloud, GitHub CLI or Docker credentials,
    /// other users' NuGet.Config, or another process's environment.
    /// </summary>
    public static TracePolicy Default { get; } = new(
        new Dictionary<TracePhase, IReadOnlyList<string>>
        {
            [TracePhase.Restore] = new[] { "@package-sources", "@dns", "@unix-temp", "@nss" },
            [TracePhase.Build] = new[] { "@unix-temp", "@nss" },
            [TracePhase.Pack] = new[] { "@unix-temp", "@nss" },
            [TracePhase.Publish] = new[] { "@unix-temp", "@nss" },
            [TracePhase.Test] = new[] { "@loopback", "@unix-temp", "@nss" },
            [TracePhase.Other] = new[] { "@unix-temp", "@nss" },
            [TracePhase.SdkResolve] = new[] { "@package-sources", "@dns", "@unix-temp", "@nss" },
        },
        // NuGet checks folder permissions on Unix with `sh -c umask` and `ls -ld FOLDER`.
        new[] { "@dotnet", "@git", "@locked-tools", "sh -c umask", "ls -ld" },
        new[] { "@project-obj", "@project-bin", "@artifacts", "@output", "@temp", "@devices", "@own-proc", "@dotnet-state", "@securebuild-state", "~/.dotnet", "~/.securebuild", "~/.local/share/NuGet" },
        new[] { "@nuget-packages", "~/.nuget/NuGet" },
        new[] { "~/.ssh", "~/.aws", "~/.azure", "~/.config/gcloud", "~/.config/gh", "~/.docker/config.json", "~/.git-credentials", "~/.netrc", "@other-users-nuget-config", "@other-proc-environ" },
        undeclaredInputs: true);

    /// <summary>Reads a policy file through the bounded reader; throws <see cref="TracePolicyException"/> (SB4210) for anything but a valid policy.</summary>
    public static TracePolicy Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
        {
            throw new TracePolicyException($"cannot read the trace policy {path}: {e.Message}");
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses a policy document strictly: unknown fields, wrong types, unknown tokens and phases are errors.</summary>
    public static TracePolicy Parse(byte[] utf8, string name)
    {
        Func<string, Exception> fail = m => new TracePolicyException($"trace policy {name}: {m}");
        var root = StrictJson.AsObject(StrictJson.Parse(utf8, $"trace policy {name}", fail), "$", fail);
        StrictJson.AllowedFields(root, "$", fail, "version", "network", "processes", "writes", "secretReads", "undeclaredInputs", "description");
        var version = StrictJson.Req(root, "version", "$", fail);
        if (version is not JsonNumber { IsInteger: true } n || n.RawText != CurrentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw fail($"$.version must be {CurrentVersion}.");
        }
        StrictJson.OptString(root, "description", "$", fail);

        var network = new Dictionary<TracePhase, IReadOnlyList<string>>(Default.Network.ToDictionary(kv => kv.Key, kv => kv.Value));
        if (StrictJson.OptObject(root, "network", "$", fail) is { } net)
        {
            foreach (var member in net)
            {
                if (!PhaseNames.TryGetValue(member.Key, out var phase))
                {
                    throw fail($"$.network: unknown phase \"{member.Key}\" (allowed: {string.Join(", ", PhaseNames.Keys)}).");
                }
                network[phase] = Entries(net, member.Key, "$.network", TracePolicyTokens.Network, fail);
            }
            // The SDK resolver's downloads are restore's work: a file that says where restore may connect says it for
            // them too, unless it names "sdk-resolve" itself.
            if (net.ContainsKey("restore") && !net.ContainsKey("sdk-resolve"))
            {
                network[TracePhase.SdkResolve] = network[TracePhase.Restore];
            }
        }

        var processes = root.ContainsKey("processes") ? Entries(root, "processes", "$", TracePolicyTokens.Processes, fail) : Default.Processes;
        var writes = Default.Writes;
        var restoreWrites = Default.RestoreWrites;
        if (StrictJson.OptObject(root, "writes", "$", fail) is { } w)
        {
            StrictJson.AllowedFields(w, "$.writes", fail, "always", "restore");
            if (w.ContainsKey("always"))
            {
                writes = Entries(w, "always", "$.writes", TracePolicyTokens.Paths, fail);
            }
            if (w.ContainsKey("restore"))
            {
                restoreWrites = Entries(w, "restore", "$.writes", TracePolicyTokens.Paths, fail);
            }
        }
        var secrets = root.ContainsKey("secretReads") ? Entries(root, "secretReads", "$", TracePolicyTokens.Paths, fail) : Default.SecretReads;
        bool undeclared = Default.UndeclaredInputs;
        if (StrictJson.Opt(root, "undeclaredInputs") is { } u)
        {
            undeclared = u is JsonBool b ? b.Value : throw fail("$.undeclaredInputs must be true or false.");
        }
        return new TracePolicy(network, processes, writes, restoreWrites, secrets, undeclared);
    }

    /// <summary>The policy as JSON, for the attestation's monitor.tracePolicy and `--policy` authors (a complete file).</summary>
    public JsonMap ToJson()
    {
        var network = new JsonMap();
        foreach (var phase in PhaseNames)
        {
            if (Network.TryGetValue(phase.Value, out var entries))
            {
                network.Add(phase.Key, Array(entries));
            }
        }
        return new JsonMap
        {
            { "version", CurrentVersion },
            { "network", network },
            { "processes", Array(Processes) },
            { "writes", new JsonMap { { "always", Array(Writes) }, { "restore", Array(RestoreWrites) } } },
            { "secretReads", Array(SecretReads) },
            { "undeclaredInputs", UndeclaredInputs },
        };
    }

    private static JsonList Array(IEnumerable<string> values) => new(values.Select(v => (JsonItem)v));

    private static IReadOnlyList<string> Entries(JsonMap obj, string field, string path, IReadOnlyCollection<string> tokens, Func<string, Exception> fail)
    {
        var array = StrictJson.ReqArray(obj, field, path, fail);
        var result = new List<string>();
        int i = 0;
        foreach (var item in array)
        {
            string at = $"{path}.{field}[{i++}]";
            if (item is not JsonString s || s.Value.Trim().Length == 0)
            {
                throw fail($"{at} must be a non-empty string.");
            }
            string value = s.Value.Trim();
            if (value.StartsWith("@", StringComparison.Ordinal) && !tokens.Contains(value))
            {
                throw fail($"{at}: unknown token \"{StrictJson.Clip(value)}\" here (known: {string.Join(", ", tokens)}).");
            }
            if (ReferenceEquals(tokens, TracePolicyTokens.Paths) && !value.StartsWith("@", StringComparison.Ordinal) && !value.StartsWith("/", StringComparison.Ordinal) && !value.StartsWith("~/", StringComparison.Ordinal))
            {
                throw fail($"{at}: \"{StrictJson.Clip(value)}\" must be an absolute path, a path starting with ~/, or a token.");
            }
            result.Add(value);
        }
        return result;
    }
}

/// <summary>The tokens a policy entry may use, per section.</summary>
public static class TracePolicyTokens
{
    public static readonly IReadOnlyCollection<string> Network = new[] { "@package-sources", "@dns", "@loopback", "@unix-temp", "@nss" };

    public static readonly IReadOnlyCollection<string> Processes = new[] { "@dotnet", "@git", "@locked-tools" };

    public static readonly IReadOnlyCollection<string> Paths = new[]
    {
        "@project-obj", "@project-bin", "@artifacts", "@output", "@temp", "@devices", "@own-proc", "@dotnet-state", "@securebuild-state", "@nuget-packages",
        "@other-users-nuget-config", "@other-proc-environ",
    };
}

/// <summary>A policy file that cannot be used (SB4210): the message names the file, the JSON path and what is wrong.</summary>
public sealed class TracePolicyException : Exception
{
    public TracePolicyException(string message)
        : base(message)
    {
    }

    public string Code => TracePolicy.InvalidCode;

    public string Fix => "Correct the policy file (docs/trace-policy.md describes it; `securebuild trace --print-policy` prints the built-in one to start from).";
}
