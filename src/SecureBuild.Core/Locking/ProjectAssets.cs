using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>A package in project.assets.json: where it was extracted and NuGet's content hash.</summary>
public sealed class AssetsPackage
{
    public AssetsPackage(string id, string version, string? contentHash, string? path)
    {
        Id = id;
        Version = version;
        ContentHash = contentHash;
        Path = path;
    }

    public string Id { get; }
    public string Version { get; }

    /// <summary>The "sha512" restore recorded (NuGet's content hash, base64).</summary>
    public string? ContentHash { get; }

    /// <summary>The folder below the packages folder ("newtonsoft.json/13.0.3").</summary>
    public string? Path { get; }

    public string Key => RepositoryLock.PackageKey(Id, Version);
}

/// <summary>What restore resolved for a project (obj/project.assets.json).</summary>
public sealed class ProjectAssets
{
    private ProjectAssets()
    {
    }

    /// <summary>Every package library, by "id/version" (lowercase).</summary>
    public SortedDictionary<string, AssetsPackage> Libraries { get; } = RepositoryLock.Sorted<AssetsPackage>();

    /// <summary>Packages per target framework alias, framework graph only (lowercase id to version).</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> FrameworkPackages { get; } = RepositoryLock.Sorted<SortedDictionary<string, string>>();

    /// <summary>Packages of the runtime-specific graphs ("net10.0/linux-x64"), lowercase id to version.</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> RuntimePackages { get; } = RepositoryLock.Sorted<SortedDictionary<string, string>>();

    /// <summary>PackageDownload per framework alias: lowercase id to exact version.</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> Downloads { get; } = RepositoryLock.Sorted<SortedDictionary<string, string>>();

    /// <summary>Package sources as restore listed them (URLs or local folders).</summary>
    public List<string> Sources { get; } = new();

    /// <summary>The package folders (the global packages folder first).</summary>
    public List<string> PackageFolders { get; } = new();

    public static ProjectAssets Load(string path) => Parse(InputFile.ReadAllBytes(path, InputKind.Assets), path);

    /// <summary>
    /// <see cref="Load(string)"/>, remembering what it found in <paramref name="summaryFile"/> under the
    /// SHA-256 of project.assets.json's bytes: while the file's content is the same, the summary is
    /// read instead of parsing the whole file again. The summary sits in obj/ next to
    /// project.assets.json and is no more trusted than it; any other content is parsed again.
    /// </summary>
    public static ProjectAssets Load(string path, string? summaryFile)
    {
        var bytes = InputFile.ReadAllBytes(path, InputKind.Assets);
        if (string.IsNullOrWhiteSpace(summaryFile))
        {
            return Parse(bytes, path);
        }
        string digest;
        using (var sha = SHA256.Create())
        {
            digest = Hex.Encode(sha.ComputeHash(bytes));
        }
        var header = SummaryHeader + "\t" + digest;
        try
        {
            if (File.Exists(summaryFile) && ReadSummary(InputFile.ReadAllText(summaryFile!, InputKind.Cache), header) is { } remembered)
            {
                return remembered;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        var assets = Parse(bytes, path);
        if (assets.WriteSummary(header) is { } text)
        {
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(summaryFile))!);
                AtomicFile.WriteAllBytes(summaryFile!, new UTF8Encoding(false).GetBytes(text));
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return assets;
    }

    private const string SummaryHeader = "securebuild-assets-summary 1";

    /// <summary>One line per fact, tab-separated; null when a value could not be written unambiguously (then there is no summary).</summary>
    internal string? WriteSummary(string header)
    {
        var text = new StringBuilder();
        var ok = true;
        void Line(params string?[] fields)
        {
            foreach (var f in fields)
            {
                ok &= f is null || f.IndexOfAny(new[] { '\t', '\n', '\r' }) < 0;
            }
            text.Append(string.Join("\t", fields.Select(f => f is null ? "" : "=" + f))).Append('\n');
        }
        text.Append(header).Append('\n');
        foreach (var l in Libraries.Values)
        {
            Line("L", l.Id, l.Version, l.ContentHash, l.Path);
        }
        foreach (var (kind, maps) in new[] { ("F", FrameworkPackages), ("R", RuntimePackages), ("D", Downloads) })
        {
            foreach (var map in maps)
            {
                Line("M", kind, map.Key);
                foreach (var kv in map.Value)
                {
                    Line("E", kind, map.Key, kv.Key, kv.Value);
                }
            }
        }
        foreach (var source in Sources)
        {
            Line("S", source);
        }
        foreach (var folder in PackageFolders)
        {
            Line("P", folder);
        }
        text.Append("end\n");
        return ok ? text.ToString() : null;
    }

    /// <summary>The summary <see cref="WriteSummary"/> wrote, or null unless it is complete and has this header.</summary>
    internal static ProjectAssets? ReadSummary(string text, string header)
    {
        var lines = text.Split('\n');
        if (lines.Length < 3 || lines[0] != header || lines[lines.Length - 2] != "end" || lines[lines.Length - 1].Length != 0)
        {
            return null;
        }
        var assets = new ProjectAssets();
        for (var i = 1; i < lines.Length - 2; i++)
        {
            var f = lines[i].Split('\t').Select(x => x.Length == 0 ? null : x.Substring(1)).ToArray();
            switch (f[0])
            {
                case "L" when f.Length == 5 && f[1] is not null && f[2] is not null:
                    var package = new AssetsPackage(f[1]!, f[2]!, f[3], f[4]);
                    assets.Libraries[package.Key] = package;
                    break;
                case "M" when f.Length == 3 && Maps(assets, f[1]) is { } maps && f[2] is not null:
                    maps[f[2]!] = RepositoryLock.Sorted<string>();
                    break;
                case "E" when f.Length == 5 && Maps(assets, f[1]) is { } maps && f[2] is not null && maps.TryGetValue(f[2]!, out var map) && f[3] is not null && f[4] is not null:
                    map[f[3]!] = f[4]!;
                    break;
                case "S" when f.Length == 2 && f[1] is not null:
                    assets.Sources.Add(f[1]!);
                    break;
                case "P" when f.Length == 2 && f[1] is not null:
                    assets.PackageFolders.Add(f[1]!);
                    break;
                default:
                    return null;
            }
        }
        return assets;
    }

    private static SortedDictionary<string, SortedDictionary<string, string>>? Maps(ProjectAssets assets, string? kind) => kind switch
    {
        "F" => assets.FrameworkPackages,
        "R" => assets.RuntimePackages,
        "D" => assets.Downloads,
        _ => null,
    };

    private static ProjectAssets Parse(byte[] bytes, string path)
    {
        JsonMap root;
        try
        {
            // NuGet generates this file: read it as NuGet does (a repeated key keeps its last value).
            root = JsonParser.ParseGenerated(bytes) as JsonMap ?? throw new LockInputException($"{path} is not a JSON object.");
        }
        catch (JsonFormatException e)
        {
            throw new LockInputException($"{path} is not valid JSON ({e.Message}); run restore again.");
        }
        var assets = new ProjectAssets();
        var libraries = root.TryGetValue("libraries", out var l) ? l as JsonMap : null;
        foreach (var library in libraries ?? new JsonMap())
        {
            if (library.Value is not JsonMap details || !(details.TryGetValue("type", out var type) && type is JsonString { Value: "package" }))
            {
                continue;
            }
            var (id, version) = Split(library.Key);
            if (id is null)
            {
                continue;
            }
            var hash = details.TryGetValue("sha512", out var h) && h is JsonString hs ? hs.Value : null;
            var folder = details.TryGetValue("path", out var p) && p is JsonString ps ? ps.Value : null;
            var package = new AssetsPackage(id, version!, hash, folder);
            assets.Libraries[package.Key] = package;
        }

        // Target keys are framework names ("net10.0", or ".NETCoreApp,Version=v10.0" in old files), with "/rid" for runtime graphs.
        var aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var project = root.TryGetValue("project", out var pr) ? pr as JsonMap : null;
        var frameworks = project is not null && project.TryGetValue("frameworks", out var fr) ? fr as JsonMap : null;
        foreach (var framework in frameworks ?? new JsonMap())
        {
            var alias = framework.Value is JsonMap fo && fo.TryGetValue("targetAlias", out var ta) && ta is JsonString tas ? tas.Value : framework.Key;
            aliases[framework.Key] = alias;
            if (framework.Value is JsonMap fobj && fobj.TryGetValue("framework", out var fw) && fw is JsonString fws)
            {
                aliases[fws.Value] = alias;
            }
            var downloads = RepositoryLock.Sorted<string>();
            if (framework.Value is JsonMap f2 && f2.TryGetValue("downloadDependencies", out var dd) && dd is JsonList list)
            {
                foreach (var item in list.OfType<JsonMap>())
                {
                    if (item.TryGetValue("name", out var n) && n is JsonString ns && item.TryGetValue("version", out var v) && v is JsonString vs)
                    {
                        downloads[ns.Value.ToLowerInvariant()] = ExactVersion(vs.Value);
                    }
                }
            }
            assets.Downloads[alias] = downloads;
        }
        var targets = root.TryGetValue("targets", out var t) ? t as JsonMap : null;
        foreach (var target in targets ?? new JsonMap())
        {
            var slash = target.Key.IndexOf('/');
            var frameworkName = slash < 0 ? target.Key : target.Key.Substring(0, slash);
            var alias = aliases.TryGetValue(frameworkName, out var a) ? a : frameworkName;
            var packages = RepositoryLock.Sorted<string>();
            foreach (var library in target.Value as JsonMap ?? new JsonMap())
            {
                if (library.Value is JsonMap lo && lo.TryGetValue("type", out var lt) && lt is JsonString { Value: "package" })
                {
                    var (id, version) = Split(library.Key);
                    if (id is not null)
                    {
                        packages[id.ToLowerInvariant()] = version!;
                    }
                }
            }
            if (slash < 0)
            {
                assets.FrameworkPackages[alias] = packages;
            }
            else
            {
                assets.RuntimePackages[alias + target.Key.Substring(slash)] = packages;
            }
        }
        var restore = project is not null && project.TryGetValue("restore", out var rs) ? rs as JsonMap : null;
        if (restore is not null && restore.TryGetValue("sources", out var src) && src is JsonMap sources)
        {
            assets.Sources.AddRange(sources.Keys);
        }
        if (root.TryGetValue("packageFolders", out var pf) && pf is JsonMap folders)
        {
            assets.PackageFolders.AddRange(folders.Keys);
        }
        return assets;
    }

    private static (string? Id, string? Version) Split(string key)
    {
        var slash = key.IndexOf('/');
        return slash <= 0 || slash == key.Length - 1 ? (null, null) : (key.Substring(0, slash), key.Substring(slash + 1));
    }

    /// <summary>"[1.0.0]", "[1.0.0, 1.0.0]" and "1.0.0" are the same exact version: "1.0.0".</summary>
    public static string ExactVersion(string range)
    {
        var v = range.Trim();
        if (v.StartsWith("[", StringComparison.Ordinal) && v.EndsWith("]", StringComparison.Ordinal))
        {
            var inner = v.Substring(1, v.Length - 2).Split(',').Select(p => p.Trim()).ToList();
            if (inner.Count == 1 || (inner.Count == 2 && string.Equals(inner[0], inner[1], StringComparison.OrdinalIgnoreCase)))
            {
                v = inner[0];
            }
        }
        return v;
    }
}

/// <summary>Names that do not depend on the machine, for package sources and runtime-specific packages.</summary>
public static class PackageSources
{
    /// <summary>
    /// A source as the lock records it: an http(s) URL without credentials or query; a local folder
    /// below the root relative to it ("./feeds/local"); any other local folder as "local:&lt;folder name&gt;".
    /// </summary>
    public static string Normalize(string source, string rootDirectory)
    {
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return PortableUrl(source);
        }
        var path = source;
        if (uri is not null && uri.IsFile)
        {
            path = uri.LocalPath;
        }
        var full = System.IO.Path.GetFullPath(path).Replace('\\', '/').TrimEnd('/');
        var root = System.IO.Path.GetFullPath(rootDirectory).Replace('\\', '/').TrimEnd('/');
        if (full.StartsWith(root + "/", StringComparison.Ordinal))
        {
            return "./" + full.Substring(root.Length + 1);
        }
        return "local:" + full.Substring(full.LastIndexOf('/') + 1);
    }

    /// <summary>
    /// A URL without user info; a query string is replaced by a digest of it with its credentials already
    /// redacted (<see cref="Provenance.UrlRedaction"/>), so a short token cannot be recovered from the digest
    /// by trying values, and a rotated SAS signature does not change the lock.
    /// </summary>
    public static string PortableUrl(string url)
    {
        url = Provenance.UrlRedaction.Redact(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return url;
        }
        var builder = new UriBuilder(uri) { UserName = "", Password = "" };
        var query = uri.Query.TrimStart('?');
        builder.Query = "";
        var text = builder.Uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        if (query.Length > 0)
        {
            text += "?sha256:" + Crypto.Sha256Hex.Of(query).Substring(0, 16);
        }
        return text;
    }

    private static readonly Regex RuntimeSpecific = new(
        @"(^|\.)(win|linux|linux-musl|linux-bionic|osx|freebsd|android|ios|iossimulator|tvos|tvossimulator|maccatalyst|browser|wasi|illumos|solaris|unix|any)-(x64|x86|arm|arm64|armel|armv6|s390x|ppc64le|loongarch64|riscv64|wasm|mips64)(\.|$)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>
    /// True for packages that exist per runtime identifier (runtime packs, app hosts, "runtime.&lt;rid&gt;.*"):
    /// which of them a build uses depends on the RID, so the lock leaves them out and stays the same
    /// for every RID. They are still verified against their package in the cache.
    /// </summary>
    public static bool IsRuntimeSpecific(string packageId) => RuntimeSpecific.IsMatch(packageId);
}
