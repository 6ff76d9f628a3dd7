using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>
/// Reads and writes <see cref="RepositoryLock"/> as stable JSON: keys sorted by code point, one space
/// per level, LF line ends, pure ASCII, a final newline; the same lock gives the same bytes on every
/// OS. The file carries a digest of its own canonical content, so a hand edit (or a bad merge) is
/// detected instead of silently trusted. Parsing is strict: unknown members, wrong types and values
/// that look like machine paths are errors naming their place.
/// </summary>
public static class LockFile
{
    private const string DigestPrefix = "sha256:";

    /// <summary>The lock's bytes as written to disk.</summary>
    public static byte[] Serialize(RepositoryLock lockModel)
    {
        var json = ToJson(lockModel);
        RejectMachinePaths(json, "$");
        json["digest"] = DigestOf(json);
        return JsonText.WriteUtf8(json, indented: true);
    }

    /// <summary>Parses and checks a lock file's bytes; <paramref name="name"/> is used in messages.</summary>
    /// <exception cref="LockFormatException">The bytes are not a valid, untouched lock.</exception>
    public static RepositoryLock Parse(byte[] bytes, string name)
    {
        JsonItem node;
        try
        {
            node = JsonParser.Parse(bytes);
        }
        catch (JsonFormatException e)
        {
            throw new LockFormatException(LockFormatProblem.Malformed, $"{name} is not valid JSON ({e.Message}); the file is corrupted.");
        }
        if (node is not JsonMap root)
        {
            throw Malformed(name, "$", "an object");
        }
        var version = root.TryGetValue("version", out var v) ? SmallInteger(v) : null;
        if (version is null)
        {
            throw Malformed(name, "$.version", "the integer schema version");
        }
        if (version != RepositoryLock.CurrentVersion)
        {
            throw new LockFormatException(LockFormatProblem.UnsupportedVersion,
                $"{name} has schema version {version}; this SecureBuild reads version {RepositoryLock.CurrentVersion}. Use the SecureBuild version that wrote it, or regenerate the lock with `securebuild lock --update`.");
        }
        if (!root.TryGetValue("digest", out var digestNode) || digestNode is not JsonString digest)
        {
            throw Malformed(name, "$.digest", "the lock's digest string");
        }
        var content = new JsonMap(root.Where(kv => kv.Key != "digest"));
        var expected = DigestOf(content);
        if (!string.Equals(digest.Value, expected, StringComparison.Ordinal))
        {
            throw new LockFormatException(LockFormatProblem.DigestMismatch,
                $"{name} was changed by hand or merged badly: its content no longer matches its digest ({digest.Value}, content is {expected}). Do not edit the lock; restore it from version control or regenerate it with `securebuild lock --update`.");
        }
        var lockModel = FromJson(root, name);
        // Whatever the parser accepted must be what the writer produces: nothing dropped or reordered silently.
        var again = ToJson(lockModel);
        if (!JsonItem.DeepEquals(again, content))
        {
            throw Malformed(name, "$", "only members this SecureBuild writes");
        }
        return lockModel;
    }

    /// <summary>Reads the lock at <paramref name="path"/>; the message names <paramref name="displayName"/>.</summary>
    public static RepositoryLock Load(string path, string? displayName = null)
    {
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(path, InputKind.Lock);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new LockFormatException(LockFormatProblem.Malformed, $"{displayName ?? path} cannot be read: {e.Message}");
        }
        return Parse(bytes, displayName ?? path);
    }

    /// <summary>Writes the lock atomically (readers see the old or the new file, never part of one).</summary>
    public static void Save(RepositoryLock lockModel, string path) => AtomicFile.WriteAllBytes(path, Serialize(lockModel));

    /// <summary>
    /// Runs <paramref name="update"/> on the lock at <paramref name="path"/> (an empty lock when there is
    /// none) while holding a machine-wide lock on it, then saves it. Parallel project builds that
    /// update the same lock take turns. A lock that exists but cannot be parsed is not overwritten.
    /// </summary>
    public static RepositoryLock Update(string path, Action<RepositoryLock> update, TimeSpan? timeout = null)
    {
        using (AcquireMutex(path, timeout ?? TimeSpan.FromMinutes(2)))
        {
            var lockModel = InputFile.Exists(path) ? Load(path) : new RepositoryLock();
            update(lockModel);
            var bytes = Serialize(lockModel);
            if (!InputFile.Exists(path) || !InputFile.ReadAllBytes(path, InputKind.Lock).SequenceEqual(bytes))
            {
                AtomicFile.WriteAllBytes(path, bytes);
            }
            return lockModel;
        }
    }

    /// <summary>The lock as JSON without its digest member.</summary>
    public static JsonMap ToJson(RepositoryLock l)
    {
        var root = new JsonMap { ["version"] = RepositoryLock.CurrentVersion };
        var dotnet = new JsonMap();
        if (l.SdkVersion is not null)
        {
            dotnet["sdk"] = l.SdkVersion;
        }
        if (l.GlobalJson is not null)
        {
            var g = new JsonMap();
            if (l.GlobalJson.SdkVersion is not null)
            {
                g["sdkVersion"] = l.GlobalJson.SdkVersion;
            }
            if (l.GlobalJson.RollForward is not null)
            {
                g["rollForward"] = l.GlobalJson.RollForward;
            }
            if (l.GlobalJson.AllowPrerelease is not null)
            {
                g["allowPrerelease"] = l.GlobalJson.AllowPrerelease.Value;
            }
            g["msbuildSdks"] = StringMap(l.GlobalJson.MSBuildSdks);
            dotnet["globalJson"] = g;
        }
        root["dotnet"] = dotnet;
        root["msbuildSdks"] = Map(l.MSBuildSdks, PackageJson);
        root["tools"] = Map(l.Tools, t =>
        {
            var o = new JsonMap { ["version"] = t.Version, ["commands"] = new JsonList(t.Commands.Select(c => (JsonItem)c)) };
            if (t.RollForward)
            {
                o["rollForward"] = true;
            }
            return o;
        });
        root["sources"] = new JsonList(l.Sources.Select(s => (JsonItem)s));
        root["projects"] = Map(l.Projects, p =>
        {
            var o = new JsonMap
            {
                ["frameworks"] = Map(p.Frameworks, f =>
                {
                    var fo = new JsonMap();
                    AddMap(fo, "references", f.References);
                    AddMap(fo, "packages", f.Packages);
                    AddMap(fo, "downloads", f.Downloads);
                    AddMap(fo, "packs", f.Packs);
                    return fo;
                }),
            };
            if (p.Files.Count > 0)
            {
                o["files"] = Map(p.Files, sha => new JsonMap { ["sha256"] = sha });
            }
            return o;
        });
        root["packages"] = Map(l.Packages, PackageJson);
        root["packs"] = Map(l.Packs, p => new JsonMap { ["sha256"] = p.Sha256, ["files"] = p.Files });
        root["signers"] = Map(l.Signers, s => new JsonMap { ["kind"] = s.Kind, ["subject"] = s.Subject });
        return root;
    }

    private static void RejectMachinePaths(JsonItem node, string path)
    {
        switch (node)
        {
            case JsonMap o:
                foreach (var kv in o)
                {
                    if (PortableText.LooksLikeMachinePath(kv.Key))
                    {
                        throw new InvalidOperationException($"The lock would name a machine path at {path}: '{kv.Key}'.");
                    }
                    if (kv.Key != "contentHash")
                    {
                        // Base64 content hashes may start with '/'; everything else must not look like a path.
                        RejectMachinePaths(kv.Value, path + "." + kv.Key);
                    }
                }
                break;
            case JsonList a:
                foreach (var item in a)
                {
                    RejectMachinePaths(item, path + "[]");
                }
                break;
            case JsonString s when PortableText.LooksLikeMachinePath(s.Value):
                throw new InvalidOperationException($"The lock would name a machine path at {path}: '{s.Value}'.");
        }
    }

    /// <summary>
    /// A lock held across processes (parallel MSBuild nodes) on <paramref name="path"/>: an exclusively
    /// opened file in the temporary directory, named by the lock's path, so nothing is added to the repository.
    /// The file is removed when the lock is released (also when the update failed), so none pile up in the
    /// temporary directory. Removing it while a waiter has it open is safe: a holder keeps the lock only when the
    /// name still leads to the file it locked (same inode), else it opens the name again.
    /// </summary>
    public static IDisposable AcquireMutex(string path, TimeSpan timeout)
    {
        string id;
        using (var sha = SHA256.Create())
        {
            var full = Path.GetFullPath(path);
            id = Hex.Encode(sha.ComputeHash(Encoding.UTF8.GetBytes(full)), 12);
        }
        var mutexFile = Path.Combine(Path.GetTempPath(), "securebuild-lock-" + id + ".lck");
        var deadline = DateTime.UtcNow + timeout;
        var delay = 10;
        // Windows deletes the file when the last handle closes and refuses new opens meanwhile; on Linux the holder
        // unlinks it (MutexFile.Dispose); elsewhere it stays, as it always did.
        var options = Path.DirectorySeparatorChar == '\\' ? FileOptions.DeleteOnClose : FileOptions.None;
        while (true)
        {
            try
            {
                var stream = new FileStream(mutexFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, options);
                if (StillNamed(stream, mutexFile))
                {
                    return new MutexFile(stream, mutexFile);
                }
                stream.Dispose(); // the previous holder removed it after we opened it: take the name's new file
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 200);
            }
        }
    }

    private static bool StillNamed(FileStream stream, string name)
    {
        if (!FileStatus.Available)
        {
            return true;
        }
        var fd = stream.SafeFileHandle.DangerousGetHandle().ToInt32();
        return FileStatus.TryGet(fd, out var held) && FileStatus.TryGet(name, out var named) &&
            held.Inode == named.Inode && held.Device == named.Device;
    }

    private sealed class MutexFile : IDisposable
    {
        private readonly FileStream _stream;
        private readonly string _name;

        public MutexFile(FileStream stream, string name)
        {
            _stream = stream;
            _name = name;
        }

        public void Dispose()
        {
            if (FileStatus.Available)
            {
                try
                {
                    File.Delete(_name); // while still holding it, so nobody else holds this inode under the name
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
            _stream.Dispose();
        }
    }

    private static JsonMap PackageJson(LockedPackage p)
    {
        var o = new JsonMap { ["contentHash"] = p.ContentHash };
        if (p.Signature is { } s)
        {
            var so = new JsonMap { ["signed"] = s.Signed };
            if (s.Author is not null)
            {
                so["author"] = s.Author;
            }
            if (s.Repository is not null)
            {
                so["repository"] = s.Repository;
            }
            if (s.Owners.Count > 0)
            {
                so["owners"] = new JsonList(s.Owners.Select(x => (JsonItem)x));
            }
            o["signature"] = so;
        }
        return o;
    }

    private static void AddMap(JsonMap o, string name, SortedDictionary<string, string>? map)
    {
        if (map is not null)
        {
            o[name] = StringMap(map);
        }
    }

    private static JsonMap StringMap(IDictionary<string, string> map) =>
        new(map.Select(kv => new KeyValuePair<string, JsonItem>(kv.Key, kv.Value)));

    private static JsonMap Map<T>(IDictionary<string, T> map, Func<T, JsonItem> convert) =>
        new(map.Select(kv => new KeyValuePair<string, JsonItem>(kv.Key, convert(kv.Value))));

    private static string DigestOf(JsonMap content)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(CanonicalJson.Serialize(content));
        return DigestPrefix + Hex.Encode(hash);
    }

    // ---- reading ----

    private static RepositoryLock FromJson(JsonMap root, string name)
    {
        var r = new Reader(name);
        var l = new RepositoryLock();
        var dotnet = r.Object(root, "dotnet", "$");
        l.SdkVersion = r.OptionalString(dotnet, "sdk", "$.dotnet");
        if (dotnet.TryGetValue("globalJson", out _))
        {
            var g = r.Object(dotnet, "globalJson", "$.dotnet");
            l.GlobalJson = new GlobalJsonPin
            {
                SdkVersion = r.OptionalString(g, "sdkVersion", "$.dotnet.globalJson"),
                RollForward = r.OptionalString(g, "rollForward", "$.dotnet.globalJson"),
                AllowPrerelease = r.OptionalBool(g, "allowPrerelease", "$.dotnet.globalJson"),
            };
            foreach (var kv in r.StringMap(g, "msbuildSdks", "$.dotnet.globalJson"))
            {
                l.GlobalJson.MSBuildSdks[kv.Key] = kv.Value;
            }
        }
        foreach (var kv in r.Object(root, "msbuildSdks", "$"))
        {
            l.MSBuildSdks[kv.Key] = r.Package(kv.Value, "$.msbuildSdks." + kv.Key);
        }
        foreach (var kv in r.Object(root, "tools", "$"))
        {
            var path = "$.tools." + kv.Key;
            var o = r.AsObject(kv.Value, path);
            var tool = new LockedTool { Version = r.String(o, "version", path), RollForward = r.OptionalBool(o, "rollForward", path) ?? false };
            foreach (var c in r.StringArray(o, "commands", path))
            {
                tool.Commands.Add(c);
            }
            l.Tools[kv.Key] = tool;
        }
        foreach (var s in r.StringArray(root, "sources", "$"))
        {
            l.Sources.Add(s);
        }
        foreach (var kv in r.Object(root, "projects", "$"))
        {
            var path = "$.projects." + kv.Key;
            r.RelativePath(kv.Key, path);
            var o = r.AsObject(kv.Value, path);
            var project = new LockedProject();
            foreach (var f in r.Object(o, "frameworks", path))
            {
                var fpath = path + ".frameworks." + f.Key;
                var fo = r.AsObject(f.Value, fpath);
                project.Frameworks[f.Key] = new LockedFramework
                {
                    References = fo.ContainsKey("references") ? r.StringMap(fo, "references", fpath) : null,
                    Packages = fo.ContainsKey("packages") ? r.StringMap(fo, "packages", fpath) : null,
                    Downloads = fo.ContainsKey("downloads") ? r.StringMap(fo, "downloads", fpath) : null,
                    Packs = fo.ContainsKey("packs") ? r.StringMap(fo, "packs", fpath) : null,
                };
            }
            if (o.ContainsKey("files"))
            {
                foreach (var file in r.Object(o, "files", path))
                {
                    var sha = r.String(r.AsObject(file.Value, path + ".files." + file.Key), "sha256", path + ".files." + file.Key);
                    r.Hex(sha, 64, path + ".files." + file.Key + ".sha256");
                    project.Files[file.Key] = sha;
                }
            }
            l.Projects[kv.Key] = project;
        }
        foreach (var kv in r.Object(root, "packages", "$"))
        {
            l.Packages[kv.Key] = r.Package(kv.Value, "$.packages." + kv.Key);
        }
        foreach (var kv in r.Object(root, "packs", "$"))
        {
            var path = "$.packs." + kv.Key;
            var o = r.AsObject(kv.Value, path);
            var sha = r.String(o, "sha256", path);
            r.Hex(sha, 64, path + ".sha256");
            var files = o.TryGetValue("files", out var fn) && SmallInteger(fn) is { } count && count >= 0 ? count : throw Malformed(name, path + ".files", "a count of files");
            l.Packs[kv.Key] = new LockedPack { Sha256 = sha, Files = files };
        }
        foreach (var kv in r.Object(root, "signers", "$"))
        {
            var path = "$.signers." + kv.Key;
            var o = r.AsObject(kv.Value, path);
            l.Signers[kv.Key] = new LockedSigner { Kind = r.String(o, "kind", path), Subject = r.String(o, "subject", path) };
        }
        return l;
    }

    /// <summary>
    /// The integer a number in the lock holds, or null for anything else: a fraction, or a number beyond an int (which
    /// no field of a lock can hold; <see cref="JsonNumber.AsInt64"/> would throw for one past a long).
    /// </summary>
    private static int? SmallInteger(JsonItem node) =>
        node is JsonNumber { IsInteger: true } n && int.TryParse(n.RawText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static LockFormatException Malformed(string name, string path, string expected) =>
        new(LockFormatProblem.Malformed, $"{name} is not a valid SecureBuild lock: {path} should be {expected}. Regenerate it with `securebuild lock --update`.");

    private sealed class Reader
    {
        private readonly string _name;

        public Reader(string name) => _name = name;

        public JsonMap AsObject(JsonItem node, string path) => node as JsonMap ?? throw Malformed(_name, path, "an object");

        public JsonMap Object(JsonMap o, string key, string path) =>
            o.TryGetValue(key, out var v) ? AsObject(v, path + "." + key) : throw Malformed(_name, path + "." + key, "an object");

        public string String(JsonMap o, string key, string path)
        {
            if (o.TryGetValue(key, out var v) && v is JsonString s)
            {
                NotAPath(s.Value, path + "." + key);
                return s.Value;
            }
            throw Malformed(_name, path + "." + key, "a string");
        }

        public string? OptionalString(JsonMap o, string key, string path) => o.ContainsKey(key) ? String(o, key, path) : null;

        public bool? OptionalBool(JsonMap o, string key, string path)
        {
            if (!o.TryGetValue(key, out var v))
            {
                return null;
            }
            return v is JsonBool b ? b.Value : throw Malformed(_name, path + "." + key, "true or false");
        }

        public SortedDictionary<string, string> StringMap(JsonMap o, string key, string path)
        {
            var result = RepositoryLock.Sorted<string>();
            foreach (var kv in Object(o, key, path))
            {
                result[kv.Key] = kv.Value is JsonString s ? s.Value : throw Malformed(_name, path + "." + key + "." + kv.Key, "a string");
                NotAPath(result[kv.Key], path + "." + key + "." + kv.Key);
            }
            return result;
        }

        public IEnumerable<string> StringArray(JsonMap o, string key, string path)
        {
            if (!o.TryGetValue(key, out var v) || v is not JsonList a)
            {
                throw Malformed(_name, path + "." + key, "an array of strings");
            }
            var list = new List<string>();
            for (var i = 0; i < a.Count; i++)
            {
                var item = a[i] as JsonString ?? throw Malformed(_name, $"{path}.{key}[{i}]", "a string");
                NotAPath(item.Value, $"{path}.{key}[{i}]");
                list.Add(item.Value);
            }
            return list;
        }

        public LockedPackage Package(JsonItem node, string path)
        {
            var o = AsObject(node, path);
            var p = new LockedPackage
            {
                ContentHash = o.TryGetValue("contentHash", out var ch) && ch is JsonString chs ? chs.Value : throw Malformed(_name, path + ".contentHash", "a string"),
            };
            try
            {
                if (Convert.FromBase64String(p.ContentHash).Length != 64)
                {
                    throw Malformed(_name, path + ".contentHash", "a base64 SHA-512 content hash");
                }
            }
            catch (FormatException)
            {
                throw Malformed(_name, path + ".contentHash", "a base64 SHA-512 content hash");
            }
            if (o.ContainsKey("signature"))
            {
                var so = Object(o, "signature", path);
                var s = new LockedSignature
                {
                    Signed = OptionalBool(so, "signed", path + ".signature") ?? throw Malformed(_name, path + ".signature.signed", "true or false"),
                    Author = OptionalString(so, "author", path + ".signature"),
                    Repository = OptionalString(so, "repository", path + ".signature"),
                };
                if (so.ContainsKey("owners"))
                {
                    foreach (var owner in StringArray(so, "owners", path + ".signature"))
                    {
                        s.Owners.Add(owner);
                    }
                }
                p.Signature = s;
            }
            return p;
        }

        public void RelativePath(string value, string path)
        {
            if (value.Length == 0 || value.StartsWith("/", StringComparison.Ordinal) || value.Contains("\\") ||
                value.Split('/').Any(s => s == ".." || s == "." || s.Length == 0))
            {
                throw Malformed(_name, path, "a '/'-separated path relative to the repository root");
            }
            NotAPath(value, path);
        }

        public void Hex(string value, int length, string path)
        {
            if (value.Length != length || !value.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            {
                throw Malformed(_name, path, $"{length} lowercase hex digits");
            }
        }

        private void NotAPath(string value, string path)
        {
            if (PortableText.LooksLikeMachinePath(value))
            {
                throw Malformed(_name, path, $"free of machine paths, not '{value}'");
            }
        }
    }
}

/// <summary>Guards against machine-specific text in a lock.</summary>
public static class PortableText
{
    /// <summary>True for an absolute Unix path, a Windows drive or UNC path.</summary>
    public static bool LooksLikeMachinePath(string value) =>
        value.StartsWith("/", StringComparison.Ordinal) ||
        value.StartsWith("\\\\", StringComparison.Ordinal) ||
        (value.Length >= 3 && char.IsLetter(value[0]) && value[1] == ':' && (value[2] == '\\' || value[2] == '/'));
}
