using System.Xml;
using System.Xml.Linq;
using SecureBuild.Core.Archives;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Inspection;

/// <summary>What to inspect and against what.</summary>
public sealed class InspectionOptions
{
    /// <summary>The .nupkg (or any zip) or the folder (a publish output) to inspect.</summary>
    public string Input { get; set; } = string.Empty;

    /// <summary>The folder of the build's in-toto links; null: no accounting (reported as SB4305).</summary>
    public string? LinksDirectory { get; set; }

    /// <summary>Keys the links must be signed by; empty: the links are not signature-checked (the report says so).</summary>
    public IReadOnlyList<PublicKey> LinkKeys { get; set; } = Array.Empty<PublicKey>();

    /// <summary>
    /// The previous release to compare capabilities with: a .nupkg, a folder, or <c>PackageId@Version</c> from
    /// <see cref="PackagesFolder"/>; null: none (unless <see cref="BaselineFromCache"/>).
    /// </summary>
    public string? Baseline { get; set; }

    /// <summary>Take as baseline the highest release of the package's id below its version in <see cref="PackagesFolder"/>.</summary>
    public bool BaselineFromCache { get; set; }

    /// <summary>NuGet's global packages folder, for a baseline from the cache (the caller resolves NUGET_PACKAGES / ~/.nuget/packages).</summary>
    public string? PackagesFolder { get; set; }

    /// <summary>The policy that sets each finding's severity (<see cref="InspectionPolicy.Default"/> when null).</summary>
    public InspectionPolicy? Policy { get; set; }

    /// <summary>The archive limits (the defaults of <see cref="ArchiveLimits"/> when null).</summary>
    public ArchiveLimits? Limits { get; set; }

    /// <summary>At most this many bytes of one package's files are kept for analysis (<see cref="PackageFile.MaxAnalysedTotalBytes"/>).</summary>
    public long MaxAnalysedTotalBytes { get; set; } = PackageFile.MaxAnalysedTotalBytes;
}

/// <summary>
/// `securebuild inspect`: (1) accounting: every file of the package is matched by SHA-256 to a product or a material of
/// the build's links, or is unaccounted (an error); (2) capabilities read from the files: build files and what they
/// run, install scripts, native binaries, analyzers, what assemblies call, the nuspec's dependencies; (3) against a
/// baseline release, the capabilities that are new.
/// </summary>
public static class PackageInspector
{
    /// <summary>The codes compared with a baseline: what a package can do, not how it was built.</summary>
    public static readonly IReadOnlyCollection<string> CapabilityCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        InspectionCodes.BuildExec, InspectionCodes.InlineTask, InspectionCodes.BuildDownload, InspectionCodes.TaskAssembly,
        InspectionCodes.InstallScript, InspectionCodes.NativeBinary, InspectionCodes.Analyzer, InspectionCodes.BuildFile,
        InspectionCodes.PInvoke, InspectionCodes.ProcessStart, InspectionCodes.Network, InspectionCodes.ReflectionEmit,
        InspectionCodes.EmbeddedAddress, InspectionCodes.Obfuscated, InspectionCodes.Dependency,
    };

    /// <summary>Inspects <see cref="InspectionOptions.Input"/>.</summary>
    /// <exception cref="InspectionException">An input cannot be read (SB4300, SB4303, SB4304, SB4341): exit 2.</exception>
    public static InspectionReport Inspect(InspectionOptions options)
    {
        var isPackage = !Directory.Exists(options.Input);
        if (isPackage && File.Exists(options.Input))
        {
            // Names and declared sizes first: a crafted archive (a 2 GB entry, a bomb) is refused before its bytes are hashed.
            ReadFiles(options.Input, options, InspectionCodes.UnreadableInput, checkOnly: true);
        }

        var digest = isPackage && File.Exists(options.Input) ? PackageDigests(options.Input, sha512: true) : default;
        var files = ReadFiles(options.Input, options, InspectionCodes.UnreadableInput);
        if (digest.Sha256 is not null && PackageDigests(options.Input, sha512: false).Sha256 != digest.Sha256)
        {
            throw new InspectionException(InspectionCodes.UnreadableInput, $"'{options.Input}' changed while it was inspected. Inspect a copy nothing writes to.");
        }

        var signed = files.Any(f => f.Path == ".signature.p7s");
        var report = new InspectionReport(options.Input, isPackage) { PackageSha256 = digest.Sha256, PackageSha512 = signed ? null : digest.Sha512 };

        report.Findings.AddRange(Duplicates(files));
        Account(report, files, isPackage, options);
        report.Findings.AddRange(Capabilities(files, isPackage));

        var baseline = BaselineOf(options, files);
        if (baseline is not null)
        {
            report.Baseline = baseline;
            var old = ReadFiles(baseline, options, InspectionCodes.UnreadableBaseline);
            report.Findings.AddRange(NewCapabilities(report.Findings, Capabilities(old, !Directory.Exists(baseline))));
        }

        (options.Policy ?? InspectionPolicy.Default).Apply(report);

        return report;
    }

    /// <summary>Every capability finding of <paramref name="files"/> (no accounting).</summary>
    public static List<Finding> Capabilities(IReadOnlyList<PackageFile> files, bool isPackage)
    {
        var findings = new List<Finding>();
        foreach (var file in files)
        {
            var lower = file.Path.ToLowerInvariant();
            if (BuildFileScanner.IsBuildFile(file.Path))
            {
                findings.AddRange(BuildFileScanner.Scan(file));
            }
            else if (isPackage && lower.EndsWith(".nuspec", StringComparison.Ordinal) && file.Path.IndexOf('/') < 0)
            {
                findings.AddRange(Dependencies(file));
            }
            else if (lower.StartsWith("tools/", StringComparison.Ordinal) &&
                (lower.EndsWith("/install.ps1", StringComparison.Ordinal) || lower.EndsWith("/init.ps1", StringComparison.Ordinal) ||
                 lower.EndsWith("/uninstall.ps1", StringComparison.Ordinal)))
            {
                findings.Add(new Finding(InspectionCodes.InstallScript, FindingSeverity.Warning, file.Path, Path.GetFileName(file.Path),
                    "a PowerShell script Visual Studio runs when the package is installed or the solution opened"));
            }

            if (AssemblyScanner.IsBinary(file.Path))
            {
                if (lower.StartsWith("analyzers/", StringComparison.Ordinal))
                {
                    findings.Add(new Finding(InspectionCodes.Analyzer, FindingSeverity.Info, file.Path, Path.GetFileName(file.Path),
                        "an analyzer or source generator: runs inside the consumer's compiler"));
                }

                findings.AddRange(AssemblyScanner.Scan(file));
            }
        }

        return findings;
    }

    /// <summary>The baseline file or folder: as given, or found in NuGet's global packages folder.</summary>
    private static string? BaselineOf(InspectionOptions options, IReadOnlyList<PackageFile> files)
    {
        if (options.BaselineFromCache && options.Baseline is not null)
        {
            throw new InspectionException(InspectionCodes.InspectUsage, "give either --baseline or --baseline-from-cache, not both.");
        }

        var fromCache = options.BaselineFromCache || (options.Baseline is not null && NuGetCacheBaseline.IsPackageReference(options.Baseline));
        if (!fromCache)
        {
            return options.Baseline;
        }

        if (string.IsNullOrEmpty(options.PackagesFolder))
        {
            throw new InspectionException(InspectionCodes.BaselineNotInCache, "no NuGet global packages folder is known to look for the baseline in: set NUGET_PACKAGES or HOME, or give --baseline FILE.");
        }

        return options.BaselineFromCache ? NuGetCacheBaseline.Previous(files, options.PackagesFolder!) : NuGetCacheBaseline.Resolve(options.Baseline!, options.PackagesFolder!);
    }

    private static (string? Sha256, string? Sha512) PackageDigests(string path, bool sha512)
    {
        try
        {
            using var sha256Hash = System.Security.Cryptography.SHA256.Create();
            using var sha512Hash = System.Security.Cryptography.SHA512.Create();
            IO.InputFile.Hash(path, IO.InputKind.Artifact, null, sha512 ? new System.Security.Cryptography.HashAlgorithm[] { sha256Hash, sha512Hash } : new System.Security.Cryptography.HashAlgorithm[] { sha256Hash });
            return (Crypto.Hex.Encode(sha256Hash.Hash!), sha512 ? Crypto.Hex.Encode(sha512Hash.Hash!) : null);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new InspectionException(InspectionCodes.UnreadableInput, $"'{path}' cannot be read: {e.Message}", e);
        }
    }

    private static List<PackageFile> ReadFiles(string input, InspectionOptions options, string code, bool checkOnly = false)
    {
        if (!File.Exists(input) && !Directory.Exists(input))
        {
            throw new InspectionException(code, $"'{input}' does not exist. Give a .nupkg file or a publish folder.");
        }

        try
        {
            if (checkOnly)
            {
                ArchiveReader.Check(input, options.Limits);
                return new List<PackageFile>();
            }

            return PackageFile.Read(input, options.Limits, options.MaxAnalysedTotalBytes);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new InspectionException(code, $"'{input}' cannot be read: {e.Message}", e);
        }
    }

    private static IEnumerable<Finding> Duplicates(IEnumerable<PackageFile> files) =>
        files.GroupBy(f => f.Path, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g =>
            new Finding(InspectionCodes.DuplicateEntry, FindingSeverity.Error, g.Key, g.Key,
                $"the package holds {g.Count()} entries named {g.Key} (names compared ignoring case, as NuGet extracts them): which one a consumer gets depends on the tool. The package was crafted or corrupted; do not use it."));

    private static void Account(InspectionReport report, IReadOnlyList<PackageFile> files, bool isPackage, InspectionOptions options)
    {
        LinkEvidence? evidence = null;
        if (options.LinksDirectory is null)
        {
            report.Findings.Add(new Finding(InspectionCodes.NotAccounted, FindingSeverity.Warning, string.Empty, "accounting",
                "no links were given (--links): the files were not accounted for. Give the attestations folder of the build that made the package."));
        }
        else
        {
            try
            {
                evidence = LinkEvidence.Load(options.LinksDirectory, options.LinkKeys);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new InspectionException(InspectionCodes.UnreadableLinks, $"a link in '{options.LinksDirectory}' cannot be read: {e.Message}", e);
            }

            report.Steps.AddRange(evidence.Steps);
            report.LinksVerified = options.LinkKeys.Count > 0;
        }

        foreach (var file in files)
        {
            var accounted = new AccountedFile(file);
            report.Files.Add(accounted);
            if (evidence is null)
            {
                continue;
            }

            if (isPackage && IsPackageMetadata(file.Path))
            {
                accounted.Origin = new ArtifactOrigin("pack", file.Path, isProduct: true);
                accounted.AsPackageMetadata = true;
                continue;
            }

            accounted.Origin = evidence.Find(file.Sha256);
            if (accounted.Origin is null)
            {
                report.Findings.Add(new Finding(InspectionCodes.Unaccounted, FindingSeverity.Error, file.Path, file.Path,
                    $"no recorded step produced this file and no step declared it as a material (sha256 {file.Sha256}): it was added or changed outside the recorded build. Find who put it there; rebuild and pack with SecureBuild.Sdk."));
            }
        }
    }

    /// <summary>The files NuGet's pack writes inside the package itself (OPC parts and the package's nuspec).</summary>
    public static bool IsPackageMetadata(string path)
    {
        var lower = path.ToLowerInvariant();
        return lower == "[content_types].xml" || lower == "_rels/.rels" || lower == ".signature.p7s" ||
            (lower.StartsWith("package/services/metadata/core-properties/", StringComparison.Ordinal) && lower.EndsWith(".psmdcp", StringComparison.Ordinal)) ||
            (lower.EndsWith(".nuspec", StringComparison.Ordinal) && lower.IndexOf('/') < 0);
    }

    private static IEnumerable<Finding> Dependencies(PackageFile nuspec)
    {
        if (nuspec.Content is null)
        {
            return new[] { BuildFileScanner.TooLarge(nuspec) };
        }

        XDocument document;
        try
        {
            document = XmlInput.Parse(nuspec.Content);
        }
        catch (XmlException e)
        {
            return new[]
            {
                new Finding(InspectionCodes.UnreadableXml, FindingSeverity.Error, nuspec.Path, nuspec.Path,
                    $"the nuspec is not readable as XML without a DTD ({e.Message}); a nuspec never needs a DTD or entities. Do not use the package."),
            };
        }

        return document.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => (Id: e.Attribute("id")?.Value.Trim() ?? string.Empty, Version: e.Attribute("version")?.Value.Trim() ?? string.Empty))
            .Where(d => d.Id.Length > 0)
            .GroupBy(d => d.Id, StringComparer.OrdinalIgnoreCase)
            .Select(g => new Finding(InspectionCodes.Dependency, FindingSeverity.Info, nuspec.Path, g.Key.ToLowerInvariant(),
                $"depends on {g.Key} {string.Join(", ", g.Select(d => d.Version).Distinct(StringComparer.Ordinal))}"));
    }

    private static IEnumerable<Finding> NewCapabilities(IReadOnlyList<Finding> current, IReadOnlyList<Finding> baseline)
    {
        var known = new HashSet<string>(baseline.Select(f => f.BaselineKey), StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var finding in current.Where(f => CapabilityCodes.Contains(f.Code)).ToList())
        {
            if (!known.Contains(finding.BaselineKey) && seen.Add(finding.BaselineKey))
            {
                yield return new Finding(InspectionCodes.NewCapability, FindingSeverity.Warning, finding.Path, finding.Code + " " + finding.Subject,
                    $"new in this release ({finding.Code}): {finding.Message}");
            }
        }
    }
}
