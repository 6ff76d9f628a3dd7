using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// in-toto 1.3.1 <c>verify_item_rules</c>: the artifacts of one side (materials or products) of an item go into a
/// queue; the rules run in order, each sees only what is still queued and removes what it consumes; DISALLOW fails
/// on any queued match, REQUIRE fails when its literal path is not queued. The queue is a flag per position of the
/// side's artifact map, so consuming costs nothing and a rule is one pass over the positions (a lookup for literal
/// patterns); hashing is needed only to look things up in other maps.
/// </summary>
internal static class RuleEngine
{
    private const int MaxExplained = 20;

    // Reused position lists (rules run one after another on one thread).
    [ThreadStatic]
    private static List<int>? _filtered;
    [ThreadStatic]
    private static List<int>? _consumed;

    private static List<int> Filtered()
    {
        var l = _filtered ??= new List<int>();
        l.Clear();
        return l;
    }

    private static List<int> ConsumedList()
    {
        var l = _consumed ??= new List<int>();
        l.Clear();
        return l;
    }

    /// <exception cref="VerificationAbort">RuleVerificationError, or FormatError where the reference crashes.</exception>
    [MethodImpl(Jit.AggressiveOptimization)]
    public static void VerifyItem(string itemName, string itemKind, string side, List<ArtifactRule> rules, Dictionary<string, Link> links)
    {
        var link = links[itemName];
        var artifacts = link.Side(side);
        var queued = NewQueue(artifacts.Count);
        for (int r = 0; r < rules.Count; r++)
        {
            var rule = rules[r];
            switch (rule.Type)
            {
                case RuleType.Disallow:
                    var hits = Filter(artifacts, queued, rule.Pattern);
                    if (hits.Count > 0)
                    {
                        throw DisallowFailure(itemName, itemKind, side, rules, r, hits.Select(artifacts.PathAt).ToList(), links);
                    }

                    continue;
                case RuleType.Require:
                    int at = artifacts.IndexOf(rule.PatternText);
                    if (at < 0 || !queued[at])
                    {
                        throw RequireFailure(itemName, itemKind, side, rules, r, links);
                    }

                    continue;
                default:
                    foreach (int c in Consume(rule, artifacts, queued, link, side, links, itemName, itemKind))
                    {
                        queued[c] = false;
                    }

                    continue;
            }
        }
    }

    private static bool[] NewQueue(int count)
    {
        var queued = new bool[count];
        for (int i = 0; i < count; i++)
        {
            queued[i] = true;
        }

        return queued;
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static List<int> Consume(ArtifactRule rule, ArtifactMap artifacts, bool[] queued, Link link, string side, Dictionary<string, Link> links, string itemName, string itemKind)
    {
        switch (rule.Type)
        {
            case RuleType.Allow:
                return Filter(artifacts, queued, rule.Pattern);
            case RuleType.Create:
                // Products that are not materials (on the materials side nothing qualifies).
                return KeepWhere(Filter(artifacts, queued, rule.Pattern), artifacts, link, Change.Created);
            case RuleType.Delete:
                return KeepWhere(Filter(artifacts, queued, rule.Pattern), artifacts, link, Change.Deleted);
            case RuleType.Modify:
                return KeepWhere(Filter(artifacts, queued, rule.Pattern), artifacts, link, Change.Modified);
            case RuleType.Match:
                return Match(rule, artifacts, queued, links, itemName, itemKind, side);
            default:
                return Filtered();
        }
    }

    private enum Change
    {
        Created,  // a product, not a material
        Deleted,  // a material, not a product
        Modified, // both, with different hashes
    }

    // Keeps the positions whose path underwent the change (looked up by the hash code the side's map already has).
    [MethodImpl(Jit.AggressiveOptimization)]
    private static List<int> KeepWhere(List<int> positions, ArtifactMap artifacts, Link link, Change change)
    {
        var materials = link.Materials;
        var products = link.Products;
        int kept = 0, mGuess = 0, pGuess = 0;
        for (int k = 0; k < positions.Count; k++)
        {
            int i = positions[k];
            string p = artifacts.PathAt(i);
            int h = artifacts.PathHashAt(i);
            int m = materials.IndexOf(p, h, ref mGuess);
            int q = products.IndexOf(p, h, ref pGuess);
            bool keep = change switch
            {
                Change.Created => q >= 0 && m < 0,
                Change.Deleted => m >= 0 && q < 0,
                _ => m >= 0 && q >= 0 && !materials.HashAt(m).Equals(products.HashAt(q)),
            };
            if (keep)
            {
                positions[kept++] = i;
            }
        }

        positions.RemoveRange(kept, positions.Count - kept);
        return positions;
    }

    // Queued positions whose path the pattern matches.
    [MethodImpl(Jit.AggressiveOptimization)]
    private static List<int> Filter(ArtifactMap artifacts, bool[] queued, GlobPattern pattern)
    {
        var result = Filtered();
        if (pattern.IsLiteral)
        {
            int at = artifacts.IndexOf(pattern.Literal!);
            if (at >= 0 && queued[at])
            {
                result.Add(at);
            }

            return result;
        }

        int n = artifacts.Count;
        bool all = pattern.MatchesEverything;
        for (int i = 0; i < n; i++)
        {
            if (queued[i] && (all || pattern.IsMatch(artifacts.PathAt(i), 0)))
            {
                result.Add(i);
            }
        }

        return result;
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static List<int> Match(ArtifactRule rule, ArtifactMap source, bool[] queued, Dictionary<string, Link> links, string itemName, string itemKind, string side)
    {
        var consumed = ConsumedList();
        if (!links.TryGetValue(rule.DestinationName, out var dest))
        {
            return consumed; // MATCH against an unknown step or inspection consumes nothing and is no error
        }

        var destArtifacts = dest.Side(rule.DestinationType);
        string src = rule.SourcePrefix;
        string dst = rule.DestinationPrefix;

        // The queued positions that the pattern matches once the source prefix is stripped.
        List<int> hits;
        int strip = 0;
        string np = "";
        if (src.Length > 0)
        {
            np = PathJoin.Join(src, "").Replace('\\', '/');
            strip = np.Length;
            hits = Filtered();
            if (rule.Pattern.IsLiteral)
            {
                int at = source.IndexOf(np + rule.Pattern.Literal);
                if (at >= 0 && queued[at])
                {
                    hits.Add(at);
                }
            }
            else
            {
                for (int i = 0; i < source.Count; i++)
                {
                    if (!queued[i])
                    {
                        continue;
                    }

                    string q = source.PathAt(i);
                    if (q.Length >= np.Length && string.CompareOrdinal(q, 0, np, 0, np.Length) == 0 && rule.Pattern.IsMatch(q, np.Length))
                    {
                        hits.Add(i);
                    }
                }
            }
        }
        else
        {
            hits = Filter(source, queued, rule.Pattern);
        }

        // The destination prefix as it starts every rebuilt destination path (os.path.join(prefix, rest) for a rest
        // that does not start with '/', then '\\' -> '/').
        string dstHead = dst.Length > 0 ? PathJoin.Join(dst, "").Replace('\\', '/') : "";

        // Every hit starts with np, so with the same prefix on both sides the destination path is the source path.
        bool samePath = src.Length > 0 && dst.Length > 0 && string.Equals(dstHead, np);

        // Without names that are not normalized paths (no backslash, no empty segment), no rest starts with '/' or
        // holds a backslash.
        bool allPlain = source.UnusualNames(out _) == 0;
        int guess = 0;
        for (int k = 0; k < hits.Count; k++)
        {
            // Python rebuilds both paths with os.path.join(prefix, rest) and turns '\' into '/'. The source path is
            // the queued path itself unless the rest starts with '/' or holds a backslash.
            int i = hits[k];
            string q = source.PathAt(i);
            bool plainRest = allPlain || (q.IndexOf('\\', strip) < 0 && !(q.Length > strip && q[strip] == '/'));
            int sourceAt = i;
            if (src.Length > 0 && !plainRest)
            {
                string rest = q.Substring(strip);
                string fullSource = PathJoin.Join(src, rest).Replace('\\', '/');
                sourceAt = source.IndexOf(fullSource);
                if (sourceAt < 0)
                {
                    throw new VerificationAbort(new VerificationFailure(FailureKind.FormatError,
                        $"{Capitalized(itemKind)} '{itemName}', expected_{side}: rule '{rule.Text}' rebuilt the source path '{fullSource}' (prefix '{src}' + '{rest}'), "
                        + $"which is not one of the {side}. in-toto-verify crashes with KeyError here; securebuild fails closed.")
                    {
                        Step = itemName,
                        Side = side,
                        Rule = rule.Raw,
                        Artifacts = new[] { fullSource },
                    });
                }
            }

            int destAt;
            if (dst.Length == 0)
            {
                // The rest as it is (no '\\' -> '/' here).
                destAt = strip == 0 ? destArtifacts.IndexOf(q, source.PathHashAt(i), ref guess) : destArtifacts.IndexOf(q.Substring(strip));
            }
            else if (plainRest && samePath)
            {
                destAt = destArtifacts.IndexOf(q, source.PathHashAt(i), ref guess); // the very same path
            }
            else if (plainRest)
            {
                destAt = destArtifacts.IndexOf(dstHead + q.Substring(strip));
            }
            else
            {
                destAt = destArtifacts.IndexOf(PathJoin.Join(dst, q.Substring(strip)).Replace('\\', '/'));
            }

            if (destAt >= 0 && source.HashAt(sourceAt).Equals(destArtifacts.HashAt(destAt)))
            {
                consumed.Add(sourceAt);
            }
        }

        return consumed;
    }

    private static VerificationAbort DisallowFailure(string itemName, string itemKind, string side, List<ArtifactRule> rules, int r, List<string> hits, Dictionary<string, Link> links)
    {
        hits.Sort(StringComparer.Ordinal);
        var rule = rules[r];
        var details = new List<string>();
        foreach (string a in hits.Take(MaxExplained))
        {
            details.Add($"{a}: {Explain(a, itemName, side, rules, r, links)}");
        }

        if (hits.Count > MaxExplained)
        {
            details.Add($"... and {hits.Count - MaxExplained} more");
        }

        string list = string.Join(", ", hits.Take(10)) + (hits.Count > 10 ? $", ... ({hits.Count} in all)" : "");
        return new VerificationAbort(new VerificationFailure(FailureKind.RuleVerificationError,
            $"{Capitalized(itemKind)} '{itemName}', expected_{side}: '{rule.Text}' matched the following artifacts, which no earlier rule consumed: {list}")
        {
            Step = itemName,
            Side = side,
            Rule = rule.Raw,
            Artifacts = hits,
            Details = details,
        });
    }

    private static VerificationAbort RequireFailure(string itemName, string itemKind, string side, List<ArtifactRule> rules, int r, Dictionary<string, Link> links)
    {
        var rule = rules[r];
        string f = rule.PatternText;
        var artifacts = links[itemName].Side(side);
        string why;
        if (!artifacts.ContainsKey(f))
        {
            why = $"'{f}' is not among the {side} of {itemKind} '{itemName}' at all (REQUIRE takes a literal path, not a pattern)";
        }
        else
        {
            int consumer = FindConsumer(f, itemName, side, rules, r, links);
            why = consumer >= 0
                ? $"'{f}' was consumed by the earlier rule '{rules[consumer].Text}'; REQUIRE only sees artifacts that are still queued, so put it first"
                : $"'{f}' was consumed by an earlier rule";
        }

        return new VerificationAbort(new VerificationFailure(FailureKind.RuleVerificationError,
            $"{Capitalized(itemKind)} '{itemName}', expected_{side}: '{rule.Text}' did not find {f}: {why}.")
        {
            Step = itemName,
            Side = side,
            Rule = rule.Raw,
            Artifacts = new[] { f },
        });
    }

    // Replays rules[0..limit) and returns the index of the rule that consumed 'artifact', or -1.
    private static int FindConsumer(string artifact, string itemName, string side, List<ArtifactRule> rules, int limit, Dictionary<string, Link> links)
    {
        var link = links[itemName];
        var artifacts = link.Side(side);
        int target = artifacts.IndexOf(artifact);
        var queued = NewQueue(artifacts.Count);
        for (int k = 0; k < limit; k++)
        {
            var rule = rules[k];
            if (rule.Type == RuleType.Disallow || rule.Type == RuleType.Require)
            {
                continue;
            }

            foreach (int c in Consume(rule, artifacts, queued, link, side, links, itemName, "item"))
            {
                if (c == target && queued[c])
                {
                    return k;
                }

                queued[c] = false;
            }
        }

        return -1;
    }

    // Why an artifact that reached rule 'limit' was not consumed by the rules before it.
    private static string Explain(string artifact, string itemName, string side, List<ArtifactRule> rules, int limit, Dictionary<string, Link> links)
    {
        var link = links[itemName];
        var reasons = new List<string>();
        for (int k = 0; k < limit; k++)
        {
            var rule = rules[k];
            switch (rule.Type)
            {
                case RuleType.Match:
                {
                    string rest = artifact;
                    if (rule.SourcePrefix.Length > 0)
                    {
                        string np = PathJoin.Join(rule.SourcePrefix, "").Replace('\\', '/');
                        if (!artifact.StartsWith(np, StringComparison.Ordinal))
                        {
                            continue;
                        }

                        rest = artifact.Substring(np.Length);
                    }

                    if (!rule.Pattern.IsMatch(rest))
                    {
                        continue;
                    }

                    if (!links.TryGetValue(rule.DestinationName, out var dest))
                    {
                        reasons.Add($"'{rule.Text}' consumed nothing: there is no step or inspection named '{rule.DestinationName}' to match against here");
                        continue;
                    }

                    string fullDest = rule.DestinationPrefix.Length > 0 ? PathJoin.Join(rule.DestinationPrefix, rest).Replace('\\', '/') : rest;
                    var destSide = dest.Side(rule.DestinationType);
                    if (!destSide.TryGetValue(fullDest, out var dh))
                    {
                        reasons.Add($"'{rule.Text}': '{rule.DestinationName}' has no {rule.DestinationType} entry '{fullDest}'");
                    }
                    else if (link.Side(side).TryGetValue(artifact, out var sh) && !sh.Equals(dh))
                    {
                        reasons.Add($"'{rule.Text}': hashes differ: {itemName} {side} has {sh}, {rule.DestinationName} {rule.DestinationType} '{fullDest}' has {dh}");
                    }

                    break;
                }

                case RuleType.Create when rule.Pattern.IsMatch(artifact):
                    reasons.Add(side == "materials"
                        ? $"'{rule.Text}' does nothing for materials"
                        : $"'{rule.Text}': it is also a material, so it was not created (MODIFY or MATCH would cover it)");
                    break;
                case RuleType.Delete when rule.Pattern.IsMatch(artifact):
                    reasons.Add(side == "products"
                        ? $"'{rule.Text}' does nothing for products"
                        : $"'{rule.Text}': it is still a product, so it was not deleted");
                    break;
                case RuleType.Modify when rule.Pattern.IsMatch(artifact):
                    reasons.Add(!link.Materials.TryGetValue(artifact, out var m) || !link.Products.TryGetValue(artifact, out var p)
                        ? $"'{rule.Text}': it is not both a material and a product"
                        : $"'{rule.Text}': it was not modified (same hash before and after: {m})");
                    break;
            }
        }

        return reasons.Count == 0 ? "no earlier rule covers it" : string.Join("; ", reasons);
    }

    private static string Capitalized(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);
}

/// <summary>Python's <c>posixpath.join(a, b)</c> for two parts.</summary>
internal static class PathJoin
{
    public static string Join(string a, string b)
    {
        if (b.StartsWith("/", StringComparison.Ordinal))
        {
            return b;
        }

        if (a.Length == 0 || a.EndsWith("/", StringComparison.Ordinal))
        {
            return a + b;
        }

        return a + "/" + b;
    }
}
