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
        LinkGeneratedSources(report);
    }

    /// <summary>
    /// A PDB whose only own differences are checksums of sources generated under obj/ (AssemblyInfo, a generated
    /// BuildInfo) differs because of what was generated; its assembly shows the generated values (the attribute or
    /// literal), which are the better explanation.
    /// </summary>
    private static void LinkGeneratedSources(DiffReport report)
    {
        foreach (var pdb in report.Artifacts.Where(a => a.Kind == "pdb" && a.Status == ArtifactStatus.Different))
        {
            var roots = report.Differences.Where(d => d.Artifact == pdb.Path && d.IsRootCause).ToList();
            if (roots.Count == 0 || !roots.All(d => d.Cause.Id == Causes.SourceContent.Id && d.Aspect.IndexOf("/obj/", StringComparison.Ordinal) >= 0))
            {
                continue;
            }

            var stem = pdb.Path.Substring(0, pdb.Path.Length - 4);
            var assemblyRoot = report.Differences.FirstOrDefault(d => d.IsRootCause && (d.Artifact == stem + ".dll" || d.Artifact == stem + ".exe")
                && d.Cause.Id != Causes.SourceContent.Id && d.Cause.Id != Causes.ContentHash.Id);
            if (assemblyRoot is null)
            {
                continue;
            }

            foreach (var d in roots)
            {
                d.ConsequenceOf = $"{assemblyRoot.Artifact}: {assemblyRoot.Aspect} (the generated source holds that value)";
            }
        }
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
