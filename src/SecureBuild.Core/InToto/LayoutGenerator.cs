using System.Text;

namespace SecureBuild.Core.InToto;

/// <summary>
/// Writes a strict first layout for the steps a SecureBuild.Sdk build recorded. Every step may be performed by the
/// given functionaries, and every step ends its material and product rules with <c>DISALLOW *</c>, so anything the
/// rules do not name fails verification:
/// <list type="bullet">
/// <item>Materials: every build output a step consumes must be exactly what an earlier step produced (MATCH, else
/// DISALLOW by name). Then, in this order: packages and SDK files by category (<c>@nuget/*</c>, <c>@dotnet/*</c>;
/// their contents are pinned by the lock file), files outside every known root by their directory
/// (<c>@external/&lt;hash&gt;/*</c>), files that unrecorded targets generate into output directories by exact name,
/// every other file in an output directory disallowed, the project's sources (<c>&lt;project dir&gt;/*</c>, so adding
/// a source file keeps the policy working), other repository files (Directory.Build.props, nuget.config, another
/// project's reference assembly) by exact name.</item>
/// <item>Products: what a step creates, only in the directories it created files in (<c>CREATE &lt;dir&gt;/*</c>, so a
/// new package version or a new dependency in the publish folder keeps working); a product that already existed as a
/// material of the same step (changed in place), or that lies in the project directory, a parent of it or the
/// repository root (packages.lock.json), only by exact name. A step that writes into the sources, or anywhere else,
/// fails.</item>
/// </list>
/// <see cref="LayoutPolicy.Permissive"/> keeps only the chaining (MATCH with earlier products, DISALLOW what an earlier
/// step produced and does not match) and allows every other material and product (<c>ALLOW *</c>): the first layouts'
/// policy, for a team that adopts the strict one step by step.
/// </summary>
public static class LayoutGenerator
{
    private static readonly string[] ProjectExtensions = { ".csproj", ".fsproj", ".vbproj", ".proj" };

    private static int Rank(string name) =>
        name == "restore" ? 0 :
        name == "compile" || name.StartsWith("compile-", StringComparison.Ordinal) ? 1 :
        name == "test" || name.StartsWith("test-", StringComparison.Ordinal) ? 2 :
        name == "pack" ? 3 :
        name == "publish" || name.StartsWith("publish-", StringComparison.Ordinal) ? 4 : 5;

    /// <summary>
    /// The order steps are chained in: restore, compile*, test* (the tests run on compile's outputs, before anything
    /// ships them), pack, publish*, then any other by name.
    /// </summary>
    public static IReadOnlyList<Link> OrderSteps(IEnumerable<Link> links)
    {
        return links.GroupBy(l => l.Name, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(l => Rank(l.Name))
            .ThenBy(l => l.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Creates the layout (unsigned) for the links of one project (step names as recorded).</summary>
    public static Layout Create(IEnumerable<Link> links, IReadOnlyCollection<Crypto.PublicKey> functionaries, int threshold, DateTimeOffset expires, string readme,
        LayoutPolicy policy = LayoutPolicy.Strict, SpiffeFunctionaries? spiffe = null) =>
        Create(new[] { new ProjectLinks("", links.ToList()) }, functionaries, threshold, expires, readme, policy, spiffe);

    /// <summary>
    /// Creates one layout (unsigned) for several projects, e.g. a solution: each project's steps are named
    /// <c>&lt;prefix&gt;&lt;step&gt;</c>, where the prefix is its link directory relative to the directory the
    /// verifier is given ("src/App/bin/Release/attestations/"), so in-toto-verify finds every link where the SDK wrote
    /// it. Steps are chained across projects too: an app's compile must read exactly the reference assembly its
    /// library's compile produced. With <c>spiffe</c>, SPIFFE IDs may perform every step too (each step's
    /// <c>cert_constraints</c>; their trust bundle's CAs become the layout's <c>rootcas</c>).
    /// </summary>
    public static Layout Create(IReadOnlyList<ProjectLinks> projects, IReadOnlyCollection<Crypto.PublicKey> functionaries, int threshold, DateTimeOffset expires, string readme,
        LayoutPolicy policy = LayoutPolicy.Strict, SpiffeFunctionaries? spiffe = null)
    {
        if (functionaries.Count == 0 && spiffe is null)
        {
            throw new ArgumentException("at least one functionary key or SPIFFE ID is needed", nameof(functionaries));
        }
        // in-toto counts one link per distinct key: the same key given twice cannot meet a threshold of 2. (A SPIFFE ID
        // pattern such as spiffe://td/builder/* stands for any number of workloads, so it sets no upper bound.)
        var distinctKeys = functionaries.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count();
        if (threshold < 1 || (spiffe is null && threshold > distinctKeys))
        {
            throw new ArgumentException($"threshold must be between 1 and the number of distinct functionary keys ({distinctKeys})", nameof(threshold));
        }
        var layout = new Layout { Expires = expires, Readme = readme };
        var keyIds = functionaries.Select(layout.AddKey).Distinct(StringComparer.Ordinal).ToList();
        spiffe?.AddRootCas(layout);

        var entries = new List<Entry>();
        foreach (var project in projects)
        {
            var ordered = OrderSteps(project.Links);
            var projectDir = FindProjectDirectory(ordered);
            entries.AddRange(ordered.Select(l => new Entry(project.Prefix + l.Name, l, projectDir)));
        }
        var duplicate = entries.GroupBy(e => e.StepName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"two projects record a step named '{duplicate.Key}': give each project its own link directory", nameof(projects));
        }
        entries = OrderByDependencies(entries);

        // Directories the build writes into: each project's bin/ and obj/, and every directory a recorded step
        // created a product in. A material there that no step produced was generated by an unrecorded target.
        var outputDirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.ProjectDir is { } dir)
            {
                outputDirs.Add(dir + "bin/");
                outputDirs.Add(dir + "obj/");
            }
            outputDirs.UnionWith(CreatedProductDirectories(entry.Link, entry.ProjectDir));
        }
        var outputRoots = Collapse(outputDirs);

        var earlier = new List<Entry>();
        foreach (var entry in entries)
        {
            var step = new Step(entry.StepName)
            {
                PubKeys = keyIds.ToList(),
                Threshold = threshold,
                CertConstraints = spiffe?.Constraints() ?? new List<CertificateConstraint>(),
                ExpectedCommand = entry.Link.Command.ToList(),
            };
            AddChainingRules(step.ExpectedMaterials, entry.Link, earlier);
            if (policy == LayoutPolicy.Permissive)
            {
                step.ExpectedMaterials.Add(new[] { "ALLOW", "*" });
                step.ExpectedProducts.Add(new[] { "ALLOW", "*" });
            }
            else
            {
                AddMaterialRules(step.ExpectedMaterials, entry.Link, earlier, entry.ProjectDir, outputRoots);
                AddProductRules(step.ExpectedProducts, entry.Link, entry.ProjectDir);
            }
            layout.Steps.Add(step);
            earlier.Add(entry);
        }
        return layout;
    }

    /// <summary>
    /// Keeps the given order (restore, compile, pack, publish per project) but moves a step after every step whose
    /// products it reads, so a library's compile comes before the compile of the app that references it.
    /// </summary>
    private static List<Entry> OrderByDependencies(List<Entry> entries)
    {
        var pending = entries.OrderBy(e => Rank(e.Link.Name)).ThenBy(e => e.StepName, StringComparer.Ordinal).ToList();
        var readsFrom = pending.ToDictionary(e => e, e => pending.Where(o => o != e && o.Link.Products.Keys.Any(e.Link.Materials.ContainsKey)).ToList());
        var result = new List<Entry>(pending.Count);
        while (pending.Count > 0)
        {
            // The first step (in that order) that reads nothing a pending step produces; on a cycle, the first one.
            var next = pending.FirstOrDefault(e => !readsFrom[e].Any(pending.Contains)) ?? pending[0];
            pending.Remove(next);
            result.Add(next);
        }
        return result;
    }

    /// <summary>Chaining, first in either policy: a material an earlier step produced must be byte-identical to that product.</summary>
    private static void AddChainingRules(List<IReadOnlyList<string>> rules, Link link, List<Entry> earlier)
    {
        for (var i = earlier.Count - 1; i >= 0; i--)
        {
            rules.Add(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", earlier[i].StepName });
        }
        var produced = new HashSet<string>(earlier.SelectMany(e => e.Link.Products.Keys), StringComparer.Ordinal);
        foreach (var name in link.Materials.Keys.Where(produced.Contains).OrderBy(n => n, StringComparer.Ordinal))
        {
            rules.Add(new[] { "DISALLOW", EscapeGlob(name) });
        }
    }

    /// <summary>The strict material rules after the chaining: the rest by kind, then DISALLOW *.</summary>
    private static void AddMaterialRules(List<IReadOnlyList<string>> rules, Link link, List<Entry> earlier, string? projectDir, IReadOnlyList<string> outputRoots)
    {
        var produced = new HashSet<string>(earlier.SelectMany(e => e.Link.Products.Keys), StringComparer.Ordinal);

        // The rest by kind. Patterns are emitted once each, in a fixed order (in-toto applies rules in order).
        var categories = new SortedSet<string>(StringComparer.Ordinal);
        var generated = new SortedSet<string>(StringComparer.Ordinal);
        var others = new SortedSet<string>(StringComparer.Ordinal);
        bool sources = false;
        foreach (var name in link.Materials.Keys)
        {
            if (produced.Contains(name))
            {
                continue;
            }
            if (name.StartsWith("@", StringComparison.Ordinal))
            {
                categories.Add(CategoryPattern(name));
            }
            else if (outputRoots.Any(root => name.StartsWith(root, StringComparison.Ordinal)))
            {
                generated.Add(EscapeGlob(name));
            }
            else if (projectDir is not null && name.StartsWith(projectDir, StringComparison.Ordinal))
            {
                sources = true;
            }
            else
            {
                others.Add(EscapeGlob(name));
            }
        }
        foreach (var pattern in categories)
        {
            rules.Add(new[] { "ALLOW", pattern });
        }
        foreach (var pattern in generated)
        {
            rules.Add(new[] { "ALLOW", pattern });
        }
        if (sources)
        {
            // Nothing else from an output directory (a stale or planted assembly in bin/ or obj/) passes as a source.
            foreach (var root in outputRoots.Where(r => r.StartsWith(projectDir!, StringComparison.Ordinal)))
            {
                rules.Add(new[] { "DISALLOW", EscapeGlob(root) + "*" });
            }
            rules.Add(new[] { "ALLOW", EscapeGlob(projectDir!) + "*" });
        }
        foreach (var pattern in others)
        {
            rules.Add(new[] { "ALLOW", pattern });
        }
        rules.Add(new[] { "DISALLOW", "*" });
    }

    private static void AddProductRules(List<IReadOnlyList<string>> rules, Link link, string? projectDir)
    {
        // By name: files changed in place (not "created", so CREATE would not take them), and files created next to the
        // sources (packages.lock.json): the next build reads and rewrites them, so ALLOW, not CREATE.
        var byDirectory = CreatedProductDirectories(link, projectDir);
        foreach (var name in link.Products.Keys.Where(n => ProductDirectory(n, projectDir) is null || link.Materials.ContainsKey(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            rules.Add(new[] { "ALLOW", EscapeGlob(name) });
        }
        foreach (var dir in Collapse(byDirectory))
        {
            rules.Add(new[] { "CREATE", EscapeGlob(dir) + "*" });
        }
        rules.Add(new[] { "DISALLOW", "*" });
    }

    /// <summary>
    /// The directories ("a/b/", with the slash) that <paramref name="link"/> created products in, except the
    /// repository root, the project directory and its parents: there only the created files themselves are allowed.
    /// </summary>
    private static SortedSet<string> CreatedProductDirectories(Link link, string? projectDir)
    {
        var dirs = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in link.Products.Keys)
        {
            if (!link.Materials.ContainsKey(name) && ProductDirectory(name, projectDir) is { } dir)
            {
                dirs.Add(dir);
            }
        }
        return dirs;
    }

    /// <summary>The directory a "CREATE dir/*" rule may cover <paramref name="name"/> with, or null.</summary>
    private static string? ProductDirectory(string name, string? projectDir)
    {
        int slash = name.LastIndexOf('/');
        if (slash < 0)
        {
            return null;
        }
        var dir = name.Substring(0, slash + 1);
        return projectDir is not null && projectDir.StartsWith(dir, StringComparison.Ordinal) ? null : dir;
    }

    /// <summary>Drops every directory that lies inside another one of the set (a "dir/*" pattern covers it).</summary>
    private static IReadOnlyList<string> Collapse(IEnumerable<string> dirs)
    {
        var result = new List<string>();
        foreach (var dir in dirs.Distinct(StringComparer.Ordinal).OrderBy(d => d, StringComparer.Ordinal))
        {
            if (!result.Any(r => dir.StartsWith(r, StringComparison.Ordinal)))
            {
                result.Add(dir);
            }
        }
        return result;
    }

    /// <summary>"@nuget/*" and "@dotnet/*" (whole categories; the lock pins their contents), "@external/&lt;dir hash&gt;/*".</summary>
    private static string CategoryPattern(string name)
    {
        int first = name.IndexOf('/');
        if (first < 0)
        {
            return EscapeGlob(name);
        }
        if (name.StartsWith(Recording.ArtifactNamer.ExternalPrefix, StringComparison.Ordinal))
        {
            int second = name.IndexOf('/', first + 1);
            return second < 0 ? EscapeGlob(name) : EscapeGlob(name.Substring(0, second + 1)) + "*";
        }
        return EscapeGlob(name.Substring(0, first + 1)) + "*";
    }

    /// <summary>
    /// The directory ("a/b/", or "" at the repository root) of the project the links were recorded for: the project
    /// file that a link's command names and a link records as a material. Null when there is none, or several.
    /// </summary>
    internal static string? FindProjectDirectory(IReadOnlyList<Link> links)
    {
        var materials = new HashSet<string>(links.SelectMany(l => l.Materials.Keys), StringComparer.Ordinal);
        var projects = links.SelectMany(l => l.Command)
            .Select(a => a.Replace('\\', '/'))
            .Where(a => ProjectExtensions.Any(e => a.EndsWith(e, StringComparison.OrdinalIgnoreCase)) && materials.Contains(a))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (projects.Count != 1)
        {
            return null;
        }
        int slash = projects[0].LastIndexOf('/');
        return slash < 0 ? "" : projects[0].Substring(0, slash + 1);
    }

    /// <summary>A pattern that matches exactly <paramref name="name"/> under Python fnmatch rules.</summary>
    public static string EscapeGlob(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            switch (c)
            {
                case '*':
                case '?':
                case '[':
                    sb.Append('[').Append(c).Append(']');
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    private sealed record Entry(string StepName, Link Link, string? ProjectDir);
}

/// <summary>How much a generated layout allows beyond chaining the steps.</summary>
public enum LayoutPolicy
{
    /// <summary>Every material and product by kind or name, products only created where the step created them, DISALLOW * last.</summary>
    Strict,

    /// <summary>Chaining only; every other material and product allowed (ALLOW *).</summary>
    Permissive,
}

/// <summary>The links of one project and the prefix its step names get in a layout for several projects.</summary>
/// <param name="Prefix">"" for a layout of one project, else the link directory relative to the verifier's link directory, with a trailing "/".</param>
/// <param name="Links">The project's links.</param>
public sealed record ProjectLinks(string Prefix, IReadOnlyList<Link> Links)
{
    public string Prefix { get; } = Prefix ?? throw new ArgumentNullException(nameof(Prefix));

    public IReadOnlyList<Link> Links { get; } = Links ?? throw new ArgumentNullException(nameof(Links));
}
