using System.Text;

namespace SecureBuild.Core.InToto;

/// <summary>
/// Writes a first layout for the steps a SecureBuild.Sdk build recorded: every step may be performed
/// by the given functionaries, and every build output a step consumes must be exactly what an
/// earlier step produced (MATCH), else it is rejected (DISALLOW by name). Sources, packages and SDK
/// files are recorded but not constrained (ALLOW *).
/// </summary>
public static class LayoutGenerator
{
    /// <summary>The order steps are chained in: restore, compile*, pack, publish*, then any other by name.</summary>
    public static IReadOnlyList<Link> OrderSteps(IEnumerable<Link> links)
    {
        static int Rank(string name) =>
            name == "restore" ? 0 :
            name == "compile" || name.StartsWith("compile-", StringComparison.Ordinal) ? 1 :
            name == "pack" ? 2 :
            name == "publish" || name.StartsWith("publish-", StringComparison.Ordinal) ? 3 : 4;
        return links.GroupBy(l => l.Name, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(l => Rank(l.Name))
            .ThenBy(l => l.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Creates the layout (unsigned) for <paramref name="links"/>.</summary>
    public static Layout Create(IEnumerable<Link> links, IReadOnlyCollection<Crypto.PublicKey> functionaries, int threshold, DateTimeOffset expires, string readme)
    {
        if (functionaries.Count == 0)
        {
            throw new ArgumentException("at least one functionary key is needed", nameof(functionaries));
        }
        // in-toto counts one link per distinct key: the same key given twice cannot meet a threshold of 2.
        var distinctKeys = functionaries.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count();
        if (threshold < 1 || threshold > distinctKeys)
        {
            throw new ArgumentException($"threshold must be between 1 and the number of distinct functionary keys ({distinctKeys})", nameof(threshold));
        }
        var layout = new Layout { Expires = expires, Readme = readme };
        var keyIds = functionaries.Select(layout.AddKey).Distinct(StringComparer.Ordinal).ToList();
        var ordered = OrderSteps(links);
        var earlier = new List<Link>();
        foreach (var link in ordered)
        {
            var step = new Step(link.Name)
            {
                PubKeys = keyIds.ToList(),
                Threshold = threshold,
                ExpectedCommand = link.Command.ToList(),
            };
            for (var i = earlier.Count - 1; i >= 0; i--)
            {
                step.ExpectedMaterials.Add(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", earlier[i].Name });
            }
            var produced = new SortedSet<string>(earlier.SelectMany(e => e.Products.Keys), StringComparer.Ordinal);
            foreach (var name in produced.Where(link.Materials.ContainsKey))
            {
                step.ExpectedMaterials.Add(new[] { "DISALLOW", EscapeGlob(name) });
            }
            step.ExpectedMaterials.Add(new[] { "ALLOW", "*" });
            step.ExpectedProducts.Add(new[] { "ALLOW", "*" });
            layout.Steps.Add(step);
            earlier.Add(link);
        }
        return layout;
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
}
