using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Archives;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>Why a package folder in the NuGet cache failed verification.</summary>
public enum PackageProblemKind
{
    /// <summary>The package folder is not there at all.</summary>
    Missing,

    /// <summary>The folder lacks files the package has (.nupkg, .nupkg.metadata, an entry): partially extracted or deleted.</summary>
    Incomplete,

    /// <summary>The .nupkg's content hash differs from what restore, NuGet's metadata or the lock expect.</summary>
    ContentHash,

    /// <summary>An extracted file differs from the package's entry.</summary>
    Modified,

    /// <summary>A file in the folder that the package does not have.</summary>
    Unexpected,

    /// <summary>A symbolic link (or other reparse point) inside the package folder.</summary>
    Link,
}

/// <summary>One finding, with the file it concerns (relative to the package folder).</summary>
public sealed class PackageProblem
{
    public PackageProblem(PackageProblemKind kind, string? file, string message)
    {
        Kind = kind;
        File = file;
        Message = message;
    }

    public PackageProblemKind Kind { get; }
    public string? File { get; }
    public string Message { get; }

    /// <summary>SB1431 for a missing or incomplete package (restore again), SB1430 for anything that looks like tampering.</summary>
    public string Code => Kind is PackageProblemKind.Missing or PackageProblemKind.Incomplete ? "SB1431" : "SB1430";
}

/// <summary>A package to verify: identity, where restore says it is, and the content hashes others expect.</summary>
public sealed class PackageToVerify
{
    public PackageToVerify(string id, string version, string directory)
    {
        Id = id;
        Version = version;
        Directory = directory;
    }

    public string Id { get; }
    public string Version { get; }

    /// <summary>The package's folder in the packages folder (&lt;root&gt;/&lt;id&gt;/&lt;version&gt;).</summary>
    public string Directory { get; }

    /// <summary>Expected content hashes and who expects them ("project.assets.json", "securebuild.lock.json").</summary>
    public List<KeyValuePair<string, string>> ExpectedContentHashes { get; } = new();

    public string Key => RepositoryLock.PackageKey(Id, Version);
}

/// <summary>The verdict on one package folder.</summary>
public sealed class PackageVerdict
{
    public PackageVerdict(PackageToVerify package) => Package = package;

    public PackageToVerify Package { get; }
    public List<PackageProblem> Problems { get; } = new();
    public bool Ok => Problems.Count == 0;

    /// <summary>NuGet's content hash of the .nupkg (null when it could not be computed).</summary>
    public string? ContentHash { get; set; }

    /// <summary>What the signature inspector said (opaque to this class, cached with the verdict).</summary>
    public string? Signature { get; set; }

    /// <summary>True when nothing changed since the last full verification (only the folder was listed).</summary>
    public bool FromCache { get; set; }
}

/// <summary>
/// Verifies package folders in the NuGet global packages folder against their own .nupkg: the
/// .nupkg is re-hashed with NuGet's content-hash rule (and must match <c>.nupkg.metadata</c>,
/// project.assets.json and the lock), every extracted file must be byte-identical to its entry, no
/// file may be missing or added, and nothing may be a symbolic link. NuGet itself checks none of
/// this once a package is extracted. A folder that passed is remembered by a fingerprint of every
/// entry (<see cref="PackageVerificationState"/>), so a no-op build only looks at the folder:
/// <list type="bullet">
/// <item>On Linux (statx), the fingerprint covers every file and directory's path, type, size,
/// inode, device, mtime and ctime, and the state keeps the list of paths. A no-op build lstats
/// those paths by name without listing the directories: no entry can be added, removed or renamed
/// in a directory without changing the directory's ctime, no file can be written, chmod-ed,
/// replaced or have its mtime set back without changing its own ctime, and no process can set a
/// ctime back (only the kernel's clock sets it).</item>
/// <item>Elsewhere, it lists the folder and fingerprints every entry's path, size and write time.</item>
/// </list>
/// A fingerprint is only kept when every entry is older than two seconds, so a write in the same
/// clock tick as verification cannot go unnoticed.
/// </summary>
public sealed class PackageFolderVerifier
{
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);
    private static readonly byte[] Nul = { 0 };
    private readonly Func<string, string> _contentHash;
    private readonly Func<string, string?>? _signature;
    private readonly PackageVerificationState _state;
    private readonly Func<DateTime> _utcNow;
    private readonly ConfirmedFolders? _confirmed;

    /// <param name="contentHash">NuGet's content hash of a .nupkg file (base64 SHA-512 of the package without its signature).</param>
    /// <param name="signature">Inspects a .nupkg's signature into a string kept with the verdict; null: not inspected.</param>
    /// <param name="state">Fingerprints of folders that passed.</param>
    /// <param name="utcNow">The clock (tests pin it).</param>
    /// <param name="confirmed">What this build already confirmed (null: look at every folder).</param>
    public PackageFolderVerifier(Func<string, string> contentHash, Func<string, string?>? signature, PackageVerificationState state, Func<DateTime>? utcNow = null,
        ConfirmedFolders? confirmed = null)
    {
        _confirmed = confirmed;
        _contentHash = contentHash;
        _signature = signature;
        _state = state;
        _utcNow = utcNow ?? (() => DateTime.UtcNow);
    }

    /// <summary>Number of packages fully verified (not answered from the state) by this instance.</summary>
    public int FullyVerified { get; private set; }

    /// <summary>Number of packages answered from the state by lstat of their recorded paths, without listing the folder.</summary>
    public int AnsweredByStat { get; private set; }

    /// <summary>Number of packages this build had already confirmed (for another target framework or project).</summary>
    public int AnsweredByBuild { get; private set; }

    public PackageVerdict Verify(PackageToVerify package)
    {
        var verdict = new PackageVerdict(package);
        var directory = new DirectoryInfo(package.Directory);
        if (!directory.Exists)
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Missing, null,
                $"package {package.Id} {package.Version} is not in the packages folder ({package.Directory}); run restore"));
            return verdict;
        }
        if (IsLink(directory))
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Link, null,
                $"package {package.Id} {package.Version}: its folder {package.Directory} is a symbolic link; NuGet never creates one. Delete the link and restore"));
            return verdict;
        }
        var cached = _state.Get(package.Directory);
        if (cached is not null && _signature is not null && cached.Signature is null)
        {
            // It passed in a build that did not inspect signatures (SecureBuildVerifyPackageSignatures=false, here or in
            // another repository sharing the user store): that answer says nothing about the signature asked for now.
            cached = null;
        }
        var confirmedKey = _confirmed is null ? null : ConfirmedFolders.KeyOf(package);
        if (cached is not null && confirmedKey is not null && _confirmed!.Confirms(confirmedKey, cached))
        {
            AnsweredByBuild++;
            _state.Keep(package.Directory, cached);
            return FromState(verdict, cached);
        }
        if (cached?.PathList is { } recorded && FileStatus.Available &&
            StatFingerprint(package, recorded, out _) is { } quick && quick == cached.Fingerprint)
        {
            AnsweredByStat++;
            return Confirmed(package, confirmedKey, verdict, cached);
        }
        var entries = Scan(directory, verdict);
        if (!verdict.Ok)
        {
            return verdict;
        }
        // Taken before the files are read: whatever changes them later changes the fingerprint.
        string fingerprint;
        List<string>? paths = null;
        long newestTicks = DateTime.MinValue.Ticks;
        string? statFingerprint = null;
        if (FileStatus.Available && entries.Count > 0)
        {
            paths = entries.Select(e => e.RelativePath).OrderBy(p => p, StringComparer.Ordinal).ToList();
            statFingerprint = StatFingerprint(package, string.Join("\0", paths), out newestTicks);
        }
        if (statFingerprint is not null)
        {
            fingerprint = statFingerprint;
        }
        else
        {
            // No statx here, or this file system does not report ctime and inode: the portable fingerprint.
            paths = null;
            fingerprint = Fingerprint(entries, package);
            newestTicks = entries.Count == 0 ? DateTime.MinValue.Ticks : entries.Max(e => e.Ticks);
        }
        if (cached is not null && fingerprint.Length > 0 && cached.Fingerprint == fingerprint)
        {
            return Confirmed(package, confirmedKey, verdict, cached);
        }
        FullyVerified++;
        VerifyFully(package, entries, verdict);
        if (verdict.Ok && verdict.ContentHash is not null && fingerprint.Length > 0 && _utcNow() - new DateTime(newestTicks, DateTimeKind.Utc) > RacyWindow)
        {
            var entry = new PackageVerificationState.Entry(fingerprint, verdict.ContentHash, verdict.Signature, paths);
            _state.Set(package.Directory, entry);
            if (confirmedKey is not null)
            {
                _confirmed!.Add(confirmedKey, entry);
            }
        }
        else
        {
            _state.Remove(package.Directory);
            if (confirmedKey is not null)
            {
                _confirmed!.Remove(confirmedKey);
            }
        }
        return verdict;
    }

    /// <summary>The state's entry still holds: kept in this project's state, remembered for the rest of the build, and the verdict.</summary>
    private PackageVerdict Confirmed(PackageToVerify package, string? confirmedKey, PackageVerdict verdict, PackageVerificationState.Entry cached)
    {
        _state.Keep(package.Directory, cached);
        var result = FromState(verdict, cached);
        if (confirmedKey is not null && result.Ok)
        {
            _confirmed!.Add(confirmedKey, cached);
        }
        return result;
    }

    private static PackageVerdict FromState(PackageVerdict verdict, PackageVerificationState.Entry cached)
    {
        verdict.ContentHash = cached.ContentHash;
        verdict.Signature = cached.Signature;
        verdict.FromCache = true;
        CheckExpected(verdict, cached.ContentHash, null);
        return verdict;
    }

    /// <summary>
    /// SHA-256 over the package's identity and expected hashes, then, for the folder itself and each
    /// path in the given order (sorted ordinally when recorded), lstat's type, size, inode, device, mtime and ctime. Null when an entry is gone
    /// or is a link (the caller then lists the folder and reports it). <paramref name="newestTicks"/>:
    /// the latest mtime or ctime seen, as UTC ticks.
    /// </summary>
    private static string? StatFingerprint(PackageToVerify package, string pathList, out long newestTicks)
    {
        newestTicks = DateTime.MinValue.Ticks;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var text = new StringBuilder();
        text.Append("statx\n").Append(package.Key).Append('\n');
        foreach (var e in package.ExpectedContentHashes)
        {
            text.Append(e.Key).Append('=').Append(e.Value).Append('\n');
        }
        hash.AppendData(Encoding.UTF8.GetBytes(text.ToString()));
        var record = new byte[48];
        var newestNs = long.MinValue;
        // One buffer holds "<folder>/<relative>\0" for every entry: no allocation per file.
        var root = Encoding.UTF8.GetBytes(package.Directory.TrimEnd('/') + "/");
        var name = new byte[Math.Max(4096, root.Length * 2)];
        Buffer.BlockCopy(root, 0, name, 0, root.Length);
        var start = 0;
        for (var i = -1; i < 0 || start <= pathList.Length; i++)
        {
            int length;
            bool directory;
            if (i < 0)
            {
                length = 0;
                directory = true;
                name[root.Length - 1] = 0;
            }
            else
            {
                var end = pathList.IndexOf('\0', start);
                if (end < 0)
                {
                    end = pathList.Length;
                }
                var chars = end - start;
                if (chars == 0)
                {
                    return null;
                }
                if (name.Length < root.Length + 3 * chars + 1)
                {
                    Array.Resize(ref name, root.Length + 3 * chars + 1);
                }
                name[root.Length - 1] = (byte)'/';
                length = Encoding.UTF8.GetBytes(pathList, start, chars, name, root.Length);
                directory = pathList[end - 1] == '/';
                start = end + 1;
            }
            hash.AppendData(name, root.Length, length);
            hash.AppendData(Nul);
            name[root.Length + length - (directory && length > 0 ? 1 : 0)] = 0;
            if (!FileStatus.TryGet(name, out var status) || !(status.IsFile || status.IsDirectory) || status.IsDirectory != directory)
            {
                return null;
            }
            Put(record, 0, status.Type);
            Put(record, 8, status.Size);
            Put(record, 16, status.Inode);
            Put(record, 24, status.Device);
            Put(record, 32, status.ModifiedNs);
            Put(record, 40, status.ChangedNs);
            hash.AppendData(record);
            newestNs = Math.Max(newestNs, Math.Max(status.ModifiedNs, status.ChangedNs));
        }
        newestTicks = newestNs == long.MinValue ? DateTime.MinValue.Ticks : new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks + newestNs / 100;
        return Hex.Encode(hash.GetHashAndReset());
    }

    private static void Put(byte[] buffer, int offset, long value)
    {
        for (var i = 0; i < 8; i++)
        {
            buffer[offset + i] = (byte)(value >> (8 * i));
        }
    }

    private void VerifyFully(PackageToVerify package, List<FolderEntry> entries, PackageVerdict verdict)
    {
        var id = package.Id.ToLowerInvariant();
        var version = package.Version.ToLowerInvariant();
        var nupkgName = $"{id}.{version}.nupkg";
        var nupkg = Path.Combine(package.Directory, nupkgName);
        var metadataFile = Path.Combine(package.Directory, ".nupkg.metadata");
        var name = $"package {package.Id} {package.Version}";
        if (!File.Exists(nupkg))
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Incomplete, nupkgName,
                $"{name}: {nupkgName} is missing from {package.Directory}, so its files cannot be checked: the package is partially extracted or was tampered with. Delete the folder and restore"));
            return;
        }
        if (!File.Exists(metadataFile))
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Incomplete, ".nupkg.metadata",
                $"{name}: .nupkg.metadata is missing from {package.Directory}: NuGet did not finish extracting it. Delete the folder and restore"));
            return;
        }
        string? metadataHash = null;
        try
        {
            if (JsonParser.ParseGenerated(InputFile.ReadAllBytes(metadataFile, InputKind.Metadata)) is JsonMap m && m.TryGetValue("contentHash", out var ch) && ch is JsonString chs)
            {
                metadataHash = chs.Value;
            }
        }
        catch (JsonFormatException)
        {
        }
        if (metadataHash is null)
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Incomplete, ".nupkg.metadata",
                $"{name}: .nupkg.metadata in {package.Directory} has no readable contentHash. Delete the folder and restore"));
            return;
        }
        string actual;
        try
        {
            actual = _contentHash(nupkg);
        }
        catch (Exception e) when (e is InvalidDataException || e is IOException || e is InvalidOperationException || e is FormatException)
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.ContentHash, nupkgName,
                $"{name}: {nupkgName} is not a readable package ({e.Message}). Delete {package.Directory} and restore"));
            return;
        }
        verdict.ContentHash = actual;
        CheckExpected(verdict, actual, metadataHash);
        if (!verdict.Ok)
        {
            return;
        }

        // Every entry extracted exactly; nothing else in the folder.
        var expected = new HashSet<string>(StringComparer.Ordinal) { nupkgName, nupkgName + ".sha512", ".nupkg.metadata" };
        var onDisk = entries.Where(e => !e.IsDirectory).ToDictionary(e => e.RelativePath, StringComparer.Ordinal);
        try
        {
            using var zip = ArchiveReader.OpenFile(nupkg);
            foreach (var entry in zip.Entries)
            {
                var relative = ExtractedName(entry.FullName, id);
                if (relative is null)
                {
                    continue;
                }
                // NuGet unescapes names before extracting: "%2e%2e/x" is "../x", which must not make us read outside the folder.
                var extracted = ArchiveReader.ExtractionPath(package.Directory, relative);
                expected.Add(relative);
                if (!onDisk.TryGetValue(relative, out var file))
                {
                    verdict.Problems.Add(new PackageProblem(PackageProblemKind.Incomplete, relative,
                        $"{name}: {relative} is in the package but missing from {package.Directory}: partially extracted or deleted. Delete the folder and restore"));
                    continue;
                }
                if (file.Length != entry.Length || !SameContent(extracted, zip, entry))
                {
                    verdict.Problems.Add(new PackageProblem(PackageProblemKind.Modified, relative,
                        $"{name}: {relative} in the packages folder differs from the package's own copy ({file.Length} bytes on disk, {entry.Length} in {nupkgName}): the extracted file was modified after restore. Delete {package.Directory} and restore, and find out what changed it"));
                }
            }
        }
        catch (ArchiveFormatException e)
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.ContentHash, nupkgName, $"{name}: {nupkgName} is not a package SecureBuild accepts ({e.Message}) Delete {package.Directory} and restore"));
            return;
        }
        foreach (var extra in onDisk.Keys.Where(k => !expected.Contains(k)).OrderBy(k => k, StringComparer.Ordinal))
        {
            verdict.Problems.Add(new PackageProblem(PackageProblemKind.Unexpected, extra,
                $"{name}: {extra} is in {package.Directory} but not in the package: something added it after restore. Delete the folder and restore"));
        }
        if (verdict.Ok && _signature is not null)
        {
            verdict.Signature = _signature(nupkg);
        }
    }

    private static void CheckExpected(PackageVerdict verdict, string actual, string? metadataHash)
    {
        var package = verdict.Package;
        var expectations = new List<KeyValuePair<string, string>>(package.ExpectedContentHashes);
        if (metadataHash is not null)
        {
            expectations.Insert(0, new KeyValuePair<string, string>(".nupkg.metadata", metadataHash));
        }
        foreach (var e in expectations)
        {
            if (!string.Equals(e.Value, actual, StringComparison.Ordinal))
            {
                verdict.Problems.Add(new PackageProblem(PackageProblemKind.ContentHash, null,
                    $"package {package.Id} {package.Version}: the .nupkg in {package.Directory} has content hash {actual}, but {e.Key} says {e.Value}: the cached package is not the one restore verified. Delete the folder and restore"));
            }
        }
    }

    /// <summary>
    /// The path NuGet extracts a zip entry to, or null for what it does not extract (OPC parts,
    /// directories). The root .nuspec is extracted as "&lt;id&gt;.nuspec" in lowercase.
    /// </summary>
    public static string? ExtractedName(string entryName, string lowercaseId)
    {
        if (entryName.Length == 0 || entryName.EndsWith("/", StringComparison.Ordinal))
        {
            return null;
        }
        var name = Uri.UnescapeDataString(entryName.Replace('\\', '/'));
        if (name == "[Content_Types].xml" || name.StartsWith("_rels/", StringComparison.Ordinal) ||
            name.StartsWith("package/", StringComparison.Ordinal))
        {
            return null;
        }
        if (name.IndexOf('/') < 0 && name.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase))
        {
            return lowercaseId + ".nuspec";
        }
        return name;
    }

    private static bool SameContent(string file, ArchiveReader zip, ArchiveEntry entry)
    {
        using var sha1 = SHA256.Create();
        using var sha2 = SHA256.Create();
        byte[] a;
        using (var stream = InputFile.OpenRead(file, InputKind.Artifact))
        {
            a = sha1.ComputeHash(stream);
        }
        byte[] b;
        using (var stream = zip.OpenEntry(entry))
        {
            b = sha2.ComputeHash(stream);
        }
        return a.SequenceEqual(b);
    }

    private static bool IsLink(FileSystemInfo info) => (info.Attributes & FileAttributes.ReparsePoint) != 0;

    private sealed class FolderEntry
    {
        public string RelativePath = "";
        public long Length;
        public long Ticks;
        public bool IsDirectory;
    }

    private static List<FolderEntry> Scan(DirectoryInfo root, PackageVerdict verdict)
    {
        var result = new List<FolderEntry>();
        var pending = new Stack<(DirectoryInfo Dir, string Prefix)>();
        pending.Push((root, ""));
        while (pending.Count > 0)
        {
            var (dir, prefix) = pending.Pop();
            foreach (var info in dir.EnumerateFileSystemInfos())
            {
                var relative = prefix + info.Name;
                if (IsLink(info))
                {
                    verdict.Problems.Add(new PackageProblem(PackageProblemKind.Link, relative,
                        $"package {verdict.Package.Id} {verdict.Package.Version}: {relative} in {verdict.Package.Directory} is a symbolic link, so the build would read a file from outside the package. NuGet never creates links; delete the folder and restore"));
                    continue;
                }
                if (info is DirectoryInfo sub)
                {
                    result.Add(new FolderEntry { RelativePath = relative + "/", IsDirectory = true });
                    pending.Push((sub, relative + "/"));
                }
                else if (info is FileInfo file)
                {
                    result.Add(new FolderEntry { RelativePath = relative, Length = file.Length, Ticks = file.LastWriteTimeUtc.Ticks });
                }
            }
        }
        return result;
    }

    private static string Fingerprint(List<FolderEntry> entries, PackageToVerify package)
    {
        var text = new StringBuilder(entries.Count * 48);
        text.Append(package.Key).Append('\n');
        foreach (var e in entries.OrderBy(e => e.RelativePath, StringComparer.Ordinal))
        {
            text.Append(e.RelativePath).Append('\t').Append(e.Length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(e.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        foreach (var e in package.ExpectedContentHashes)
        {
            text.Append(e.Key).Append('=').Append(e.Value).Append('\n');
        }
        return Crypto.Sha256Hex.Of(text.ToString());
    }
}
