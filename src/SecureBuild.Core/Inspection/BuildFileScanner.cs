using System.Xml;
using System.Xml.Linq;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// What a package's MSBuild files do at the consumer's build: the props/targets under build/, buildTransitive/ and
/// buildMultiTargeting/ are imported by restore into every project that references the package. Read as XML without
/// a DTD (<see cref="XmlInput"/>), element by element: Exec (with its command), DownloadFile (with its URL), inline
/// tasks (UsingTask with a TaskFactory and code) and tasks loaded from an assembly (UsingTask AssemblyFile).
/// </summary>
public static class BuildFileScanner
{
    private static readonly string[] BuildFolders = { "build/", "buildtransitive/", "buildmultitargeting/" };

    /// <summary>True for a props/targets file NuGet imports into the consumer's build.</summary>
    public static bool IsBuildFile(string path)
    {
        var lower = path.ToLowerInvariant();
        return BuildFolders.Any(f => lower.StartsWith(f, StringComparison.Ordinal)) &&
            (lower.EndsWith(".props", StringComparison.Ordinal) || lower.EndsWith(".targets", StringComparison.Ordinal));
    }

    /// <summary>The findings for one build file (<paramref name="file"/>'s content must have been kept).</summary>
    public static IEnumerable<Finding> Scan(PackageFile file)
    {
        var findings = new List<Finding>
        {
            new(InspectionCodes.BuildFile, FindingSeverity.Info, file.Path, file.Path,
                "imported into the build of every project that references the package"),
        };
        if (file.Content is null)
        {
            findings.Add(TooLarge(file));
            return findings;
        }

        XDocument document;
        try
        {
            document = XmlInput.Parse(file.Content);
        }
        catch (XmlException e)
        {
            findings.Add(new Finding(InspectionCodes.UnreadableXml, FindingSeverity.Error, file.Path, file.Path,
                $"not readable as MSBuild XML without a DTD ({e.Message}); what it would do at the consumer's build cannot be known. Do not use the package."));
            return findings;
        }

        foreach (var element in document.Descendants())
        {
            switch (element.Name.LocalName)
            {
                case "Exec":
                    var command = Attribute(element, "Command");
                    findings.Add(new Finding(InspectionCodes.BuildExec, FindingSeverity.Warning, file.Path, command,
                        $"runs a command at the consumer's build: {command}"));
                    break;
                case "DownloadFile":
                    var url = Attribute(element, "SourceUrl");
                    findings.Add(new Finding(InspectionCodes.BuildDownload, FindingSeverity.Warning, file.Path, url,
                        $"downloads a file at the consumer's build: {url}"));
                    break;
                case "UsingTask":
                    findings.AddRange(UsingTask(file, element));
                    break;
            }
        }

        return findings;
    }

    private static IEnumerable<Finding> UsingTask(PackageFile file, XElement element)
    {
        var name = Attribute(element, "TaskName");
        var factory = Attribute(element, "TaskFactory");
        var assembly = Attribute(element, "AssemblyFile");
        if (factory.Length > 0 || element.Elements().Any(e => e.Name.LocalName == "Task"))
        {
            yield return new Finding(InspectionCodes.InlineTask, FindingSeverity.Warning, file.Path, name,
                $"defines inline task {name} (TaskFactory {(factory.Length > 0 ? factory : "unnamed")}): code compiled and run at the consumer's build");
        }
        else if (assembly.Length > 0)
        {
            yield return new Finding(InspectionCodes.TaskAssembly, FindingSeverity.Warning, file.Path, name + " from " + assembly,
                $"loads task {name} from {assembly} into the consumer's build");
        }
    }

    private static string Attribute(XElement element, string name) => element.Attribute(name)?.Value.Trim() ?? string.Empty;

    internal static Finding TooLarge(PackageFile file) =>
        new(InspectionCodes.UnreadableXml, FindingSeverity.Error, file.Path, file.Path,
            $"{file.NotAnalysed}: not analysed, so what it does cannot be known. Do not use the package.");
}
