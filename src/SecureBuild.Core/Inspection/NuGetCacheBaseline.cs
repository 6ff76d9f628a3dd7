using System.Globalization;
using System.Xml;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// Finds a baseline release in NuGet's global packages folder, where restore keeps every package it extracted as
/// <c>&lt;id&gt;/&lt;version&gt;/&lt;id&gt;.&lt;version&gt;.nupkg</c> (id and normalized version in lowercase): by
/// <c>PackageId@Version</c>, or as the highest version below the inspected package's own (its nuspec's id and version).
/// The folder is the caller's (NUGET_PACKAGES, else ~/.nuget/packages: <see cref="Hermetic.HermeticPlan.PackagesFolder"/>).
/// </summary>
public static class NuGetCacheBaseline
{
    /// <summary>True when <paramref name="baseline"/> names a package (<c>Id@Version</c>) rather than a file or folder.</summary>
    public static bool IsPackageReference(string baseline) =>
        !InputFile.Exists(baseline) && baseline.IndexOf('@') > 0 && baseline.IndexOf('@') == baseline.LastIndexOf('@') &&
        baseline.IndexOfAny(new[] { '/', '\\' }) < 0;

    /// <summary>The cached .nupkg of <c>Id@Version</c>.</summary>
    /// <exception cref="InspectionException">SB4345: not in the folder.</exception>
    public static string Resolve(string reference, string packagesFolder)
    {
        var at = reference.IndexOf('@');
        var id = reference.Substring(0, at).Trim();
        var version = reference.Substring(at + 1).Trim();
        if (id.Length == 0 || PackageVersion.TryParse(version) is null)
        {
            throw new InspectionException(InspectionCodes.BaselineNotInCache,
                $"--baseline '{reference}' is not a package id and version: write PackageId@Version (for example Newtonsoft.Json@13.0.3), or give a .nupkg file or folder.");
        }

        var normalized = PackageVersion.TryParse(version)!.Normalized;
        var path = NupkgPath(packagesFolder, id, normalized);
        if (!File.Exists(path))
        {
            throw new InspectionException(InspectionCodes.BaselineNotInCache,
                $"the baseline {id} {normalized} is not in the NuGet global packages folder ({path} does not exist). Restore a project that references {id} {normalized} (or `dotnet add package {id} --version {normalized}`), set NUGET_PACKAGES to the folder that has it, or give the .nupkg with --baseline FILE.");
        }

        return path;
    }

    /// <summary>The cached .nupkg of the highest version of the inspected package's id below its own version.</summary>
    /// <exception cref="InspectionException">SB4345: the package has no readable id/version, or no earlier release is cached.</exception>
    public static string Previous(IReadOnlyList<PackageFile> files, string packagesFolder)
    {
        var (id, version) = Identity(files);
        var current = PackageVersion.TryParse(version) ?? throw new InspectionException(InspectionCodes.BaselineNotInCache,
            $"the package's nuspec version '{version}' is not a NuGet version, so no earlier release can be looked for: give --baseline FILE or PackageId@Version.");
        var folder = Path.Combine(packagesFolder, id.ToLowerInvariant());
        var earlier = (Directory.Exists(folder) ? Directory.GetDirectories(folder) : Array.Empty<string>())
            .Select(d => PackageVersion.TryParse(Path.GetFileName(d)))
            .Where(v => v is not null && v.CompareTo(current) < 0 && File.Exists(NupkgPath(packagesFolder, id, v.Normalized)))
            .OrderByDescending(v => v)
            .FirstOrDefault();
        if (earlier is null)
        {
            throw new InspectionException(InspectionCodes.BaselineNotInCache,
                $"no release of {id} earlier than {current.Normalized} is in the NuGet global packages folder ({folder}). Restore a project that references the previous release, set NUGET_PACKAGES to the folder that has it, or give --baseline FILE.");
        }

        return NupkgPath(packagesFolder, id, earlier.Normalized);
    }

    private static string NupkgPath(string packagesFolder, string id, string normalizedVersion)
    {
        var lowerId = id.ToLowerInvariant();
        var lowerVersion = normalizedVersion.ToLowerInvariant();
        return Path.Combine(packagesFolder, lowerId, lowerVersion, $"{lowerId}.{lowerVersion}.nupkg");
    }

    private static (string Id, string Version) Identity(IReadOnlyList<PackageFile> files)
    {
        var nuspec = files.FirstOrDefault(f => f.Path.IndexOf('/') < 0 && f.Path.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase) && f.Content is not null);
        string? id = null, version = null;
        if (nuspec is not null)
        {
            try
            {
                var metadata = XmlInput.Parse(nuspec.Content!).Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata");
                id = metadata?.Elements().FirstOrDefault(e => e.Name.LocalName == "id")?.Value.Trim();
                version = metadata?.Elements().FirstOrDefault(e => e.Name.LocalName == "version")?.Value.Trim();
            }
            catch (XmlException)
            {
                // reported below: no identity
            }
        }

        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(version) || id!.IndexOfAny(new[] { '/', '\\' }) >= 0 || id.Contains(".."))
        {
            throw new InspectionException(InspectionCodes.BaselineNotInCache,
                "--baseline-from-cache needs the package's id and version from its nuspec, and the input has no readable nuspec with both: give --baseline FILE or PackageId@Version.");
        }

        return (id, version!);
    }
}

/// <summary>
/// A NuGet package version as restore names its folder: 1 to 4 numeric parts (normalized to at least three, a fourth
/// part of 0 dropped), an optional SemVer 2 pre-release label, build metadata ignored; compared by SemVer precedence.
/// </summary>
internal sealed class PackageVersion : IComparable<PackageVersion>
{
    private readonly long[] _numbers;
    private readonly string[] _release;

    private PackageVersion(long[] numbers, string[] release, string normalized)
    {
        _numbers = numbers;
        _release = release;
        Normalized = normalized;
    }

    public string Normalized { get; }

    public static PackageVersion? TryParse(string text)
    {
        var plus = text.IndexOf('+');
        var core = plus < 0 ? text : text.Substring(0, plus);
        var dash = core.IndexOf('-');
        var numbersText = dash < 0 ? core : core.Substring(0, dash);
        var release = dash < 0 ? Array.Empty<string>() : core.Substring(dash + 1).Split('.');
        var parts = numbersText.Split('.');
        if (parts.Length is < 1 or > 4 || release.Any(r => r.Length == 0 || !r.All(c => char.IsLetterOrDigit(c) && c < 128 || c == '-')))
        {
            return null;
        }

        var numbers = new long[4];
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0 || parts[i].Length > 9 || !parts[i].All(c => c >= '0' && c <= '9'))
            {
                return null;
            }

            numbers[i] = long.Parse(parts[i], CultureInfo.InvariantCulture);
        }

        var normalized = string.Join(".", numbers.Take(numbers[3] == 0 ? 3 : 4).Select(n => n.ToString(CultureInfo.InvariantCulture))) +
            (release.Length > 0 ? "-" + string.Join(".", release) : string.Empty);
        return new PackageVersion(numbers, release, normalized);
    }

    public int CompareTo(PackageVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        for (var i = 0; i < 4; i++)
        {
            if (_numbers[i] != other._numbers[i])
            {
                return _numbers[i].CompareTo(other._numbers[i]);
            }
        }

        if (_release.Length == 0 || other._release.Length == 0)
        {
            return _release.Length == other._release.Length ? 0 : _release.Length == 0 ? 1 : -1; // a release follows its pre-releases
        }

        for (var i = 0; i < Math.Min(_release.Length, other._release.Length); i++)
        {
            var mine = _release[i];
            var theirs = other._release[i];
            var mineNumeric = mine.All(char.IsDigit);
            var theirsNumeric = theirs.All(char.IsDigit);
            var order = mineNumeric && theirsNumeric ? mine.Length != theirs.Length ? mine.Length.CompareTo(theirs.Length) : string.CompareOrdinal(mine, theirs)
                : mineNumeric ? -1 : theirsNumeric ? 1 : string.Compare(mine, theirs, StringComparison.OrdinalIgnoreCase);
            if (order != 0)
            {
                return order;
            }
        }

        return _release.Length.CompareTo(other._release.Length);
    }
}
