namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// Links differences across files so that each one is explained once: a file that is a copy of another compared
/// file (the assembly in bin/ and in the package) refers to it, and an assembly whose only own difference is the id
/// of its PDB refers to that PDB's differences.
/// </summary>
internal static class CascadeAnalyzer
{
    public static void Link(DiffReport report)
    {
        LinkCopies(report);
        LinkPdbIds(report);
    }

    private static int Depth(string path) => path.Split(new[] { "!/" }, StringSplitOptions.None).Length;

    private static void LinkCopies(DiffReport report)
    {
        var groups = report.Artifacts
            .Where(a => a.Status == ArtifactStatus.Different && a.LeftSha256 is not null && a.RightSha256 is not null)
            .GroupBy(a => a.LeftSha256 + "/" + a.RightSha256)
            .Where(g => g.Count() > 1);
        foreach (var group in groups)
        {
            var ordered = group.OrderBy(a => Depth(a.Path)).ThenBy(a => a.Path.Length).ThenBy(a => a.Path, StringComparer.Ordinal).ToList();
            var primary = ordered[0].Path;
            foreach (var copy in ordered.Skip(1))
            {
                foreach (var d in report.Differences.Where(d => d.IsRootCause && (d.Artifact == copy.Path || d.Artifact.StartsWith(copy.Path + "!/", StringComparison.Ordinal))))
                {
                    d.ConsequenceOf = $"same file as {primary}";
                }
            }
        }
    }

    private static void LinkPdbIds(DiffReport report)
    {
        var pdbs = report.Artifacts.Where(a => a.Status == ArtifactStatus.Different && a.Kind == "pdb").Select(a => a.Path).ToList();
        foreach (var d in report.Differences.Where(d => d.IsRootCause && d.Aspect == AssemblyComparer.PdbIdAspect).ToList())
        {
            var stem = d.Artifact.Substring(0, d.Artifact.Length - System.IO.Path.GetExtension(d.Artifact).Length);
            var pdb = pdbs.FirstOrDefault(p => p == stem + ".pdb")
                ?? pdbs.FirstOrDefault(p => p.EndsWith("/" + FileName(stem) + ".pdb", StringComparison.Ordinal) || p == FileName(stem) + ".pdb");
            if (pdb is not null)
            {
                d.ConsequenceOf = pdb;
                d.Cause = Causes.ContentHash;
            }
        }
    }

    private static string FileName(string path)
    {
        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('!'));
        return slash >= 0 ? path.Substring(slash + 1) : path;
    }
}
