namespace SecureBuild.Core.InToto;

/// <summary>
/// The rebuild and release-approval steps a roles file adds to a layout, and the links their functionaries sign. Both
/// stay plain in-toto, so the reference in-toto-verify decides them as ours does:
/// <list type="bullet">
/// <item>Rebuild: each rebuilder's link lists, as products, the packages it rebuilt. The step's expected products are
/// <c>REQUIRE</c> each package the pack step(s) produced, <c>MATCH * WITH PRODUCTS FROM pack</c>, <c>DISALLOW *</c>:
/// a package with other bytes is not consumed by the MATCH and the DISALLOW refuses it. With a threshold k, k
/// rebuilders' links must verify, and in-toto requires every link of a step to list the same artifacts.</item>
/// <item>Approval: each approver's link lists, as materials, the packages approved. Expected materials as the rebuild's
/// products; expected products <c>DISALLOW *</c> (approving produces nothing).</item>
/// </list>
/// Packages are the pack steps' <c>.nupkg</c>/<c>.snupkg</c> products named inside the repository (a name with an
/// <c>@</c> prefix, such as <c>@pack-output/</c>, is made from an output folder a rebuilder's copy does not have).
/// </summary>
public static class ReleaseSteps
{
    /// <summary>True for a package file name (.nupkg, .snupkg).</summary>
    public static bool IsPackage(string name) =>
        name.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".snupkg", StringComparison.OrdinalIgnoreCase);

    /// <summary>Each project's pack step (its name in the layout) and the packages it produced inside the repository.</summary>
    /// <exception cref="RolesException">SB5270: no pack step, or none with a package inside the repository.</exception>
    public static IReadOnlyList<PackStep> PackSteps(IReadOnlyList<ProjectLinks> projects)
    {
        var packs = new List<PackStep>();
        var outside = new List<string>();
        foreach (var project in projects)
        {
            var link = project.Links.FirstOrDefault(l => l.Name == "pack");
            if (link is null)
            {
                continue;
            }

            var packages = link.Products.Select(p => p.Key).Where(IsPackage).ToList();
            outside.AddRange(packages.Where(n => n.StartsWith("@", StringComparison.Ordinal)));
            var inside = packages.Where(n => !n.StartsWith("@", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (inside.Count > 0)
            {
                packs.Add(new PackStep(project.Prefix + link.Name, inside));
            }
        }

        if (packs.Count == 0)
        {
            throw new RolesException(RolesException.NoPackStep,
                outside.Count > 0
                    ? $"rebuilders and approvers check the packages the pack step produced, and its packages lie outside the repository ({string.Join(", ", outside.Take(5))}): a rebuilder's copy cannot name them the same."
                    : "rebuilders and approvers check the packages the pack step produced, and no link directory holds a pack link with a package (.nupkg).",
                "Build with `dotnet pack` (the SDK records the pack step) into the project's own output folder (no -o outside the repository), then run `securebuild layout new --roles` on its link directory.");
        }

        return packs;
    }

    /// <summary>The rebuild step: its products must be the pack steps' packages, byte for byte.</summary>
    public static Step Rebuild(string name, IReadOnlyList<PackStep> packs)
    {
        var step = new Step(name);
        step.ExpectedMaterials.Add(new[] { "DISALLOW", "*" });
        AddPackageRules(step.ExpectedProducts, packs);
        return step;
    }

    /// <summary>The approval step: its materials must be the pack steps' packages, byte for byte; it produces nothing.</summary>
    public static Step Approval(string name, IReadOnlyList<PackStep> packs)
    {
        var step = new Step(name);
        AddPackageRules(step.ExpectedMaterials, packs);
        step.ExpectedProducts.Add(new[] { "DISALLOW", "*" });
        return step;
    }

    /// <summary>A rebuilder's link: the packages among <paramref name="outputs"/> (artifact name → sha256 hex) as products.</summary>
    /// <exception cref="RolesException">SB5273: no package among the outputs.</exception>
    public static Link RebuildLink(string step, IEnumerable<KeyValuePair<string, string>> outputs, IReadOnlyList<string> command)
    {
        var link = new Link(step) { Command = command.ToList() };
        AddPackages(link.Products, outputs.Where(o => IsPackage(o.Key)),
            "the rebuild produced no package (.nupkg), and the rebuild step attests packages.", "Rebuild with --command pack (the default) a project that packs.");
        return link;
    }

    /// <summary>An approver's link: the approved packages (artifact name → sha256 hex) as materials.</summary>
    /// <exception cref="RolesException">SB5273: no package to approve.</exception>
    public static Link ApprovalLink(string step, IEnumerable<KeyValuePair<string, string>> packages)
    {
        var link = new Link(step);
        AddPackages(link.Materials, packages,
            "there is no package (.nupkg, .snupkg) to approve.", "Give the package file, or a directory holding the packages the pack step produced.");
        return link;
    }

    private static void AddPackages(ArtifactMap map, IEnumerable<KeyValuePair<string, string>> packages, string none, string fix)
    {
        foreach (var package in packages.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            map[package.Key] = HashDict.Sha256(package.Value);
        }

        if (map.Count == 0)
        {
            throw new RolesException(RolesException.NoPackages, none, fix);
        }
    }

    /// <summary>REQUIRE each package first (REQUIRE only sees what is still queued), then MATCH with each pack step, then DISALLOW *.</summary>
    private static void AddPackageRules(List<IReadOnlyList<string>> rules, IReadOnlyList<PackStep> packs)
    {
        foreach (var package in packs.SelectMany(p => p.Packages).Distinct(StringComparer.Ordinal))
        {
            rules.Add(new[] { "REQUIRE", package });
        }

        foreach (var pack in packs)
        {
            rules.Add(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", pack.Step });
        }

        rules.Add(new[] { "DISALLOW", "*" });
    }
}

/// <summary>A pack step of the layout and the packages it produced (artifact names inside the repository).</summary>
public sealed record PackStep(string Step, IReadOnlyList<string> Packages);
