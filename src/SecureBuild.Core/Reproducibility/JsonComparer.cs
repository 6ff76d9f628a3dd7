using SecureBuild.Core.Json;

namespace SecureBuild.Core.Reproducibility;

/// <summary>Structural JSON diff (deps.json, runtimeconfig.json, any .json): differences by JSON path.</summary>
internal static class JsonComparer
{
    public static void Compare(ArtifactDiffer differ, string name, byte[] left, byte[] right)
    {
        JsonItem a, b;
        try
        {
            // Outputs are generated files: read them as their readers do (a BOM, a repeated key). Any byte that
            // differs still shows, as a value or as "formatting or member order".
            a = JsonParser.ParseGenerated(left);
            b = JsonParser.ParseGenerated(right);
        }
        catch (JsonFormatException)
        {
            TextComparer.Compare(differ, name, ArtifactDiffer.Decode(left), ArtifactDiffer.Decode(right), Causes.Unknown);
            return;
        }

        var lower = name.ToLowerInvariant();
        var fallback = lower.EndsWith(".deps.json", StringComparison.Ordinal) ? Causes.References
            : lower.EndsWith(".runtimeconfig.json", StringComparison.Ordinal) ? Causes.CompilationOptions
            : Causes.Unknown;
        int before = differ.CountFor(name);
        Walk(differ, name, "$", a, b, fallback);
        if (differ.CountFor(name) == before)
        {
            // Same JSON values, different text (formatting or key order).
            var ta = ArtifactDiffer.Decode(left);
            var tb = ArtifactDiffer.Decode(right);
            var (l, r) = TextComparer.FirstDifferingLines(ta, tb);
            differ.Add(new Difference(name, "formatting or member order", l, r, Causes.Ordering.WithTitle("Same JSON, different member order or formatting"), TextComparer.UnifiedDiff(ta, tb, 1, 20)));
        }
    }


    private static void Walk(ArtifactDiffer differ, string name, string path, JsonItem? a, JsonItem? b, Cause fallback)
    {
        if (differ.CountFor(name) >= differ.Options.MaxDifferencesPerFile)
        {
            return;
        }

        if (a is JsonMap oa && b is JsonMap ob)
        {
            var ka = oa.Keys.ToList();
            var kb = ob.Keys.ToList();
            var onlyA = ka.Except(kb).ToList();
            var onlyB = kb.Except(ka).ToList();
            if (onlyA.Count > 0 || onlyB.Count > 0)
            {
                var l = string.Join(", ", onlyA);
                var r = string.Join(", ", onlyB);
                differ.Add(new Difference(name, $"members of {path}", l.Length == 0 ? "(none only here)" : l, r.Length == 0 ? "(none only here)" : r, differ.Classifier.Classify(l, r, fallback)));
            }

            foreach (var key in ka.Intersect(kb))
            {
                Walk(differ, name, path + "." + key, oa[key], ob[key], fallback);
            }

            return;
        }

        if (a is JsonList aa && b is JsonList ab)
        {
            if (aa.Count == ab.Count)
            {
                var ta = aa.Select(x => x.ToString()).ToList();
                var tb = ab.Select(x => x.ToString()).ToList();
                if (!ta.SequenceEqual(tb) && ta.OrderBy(x => x, StringComparer.Ordinal).SequenceEqual(tb.OrderBy(x => x, StringComparer.Ordinal)))
                {
                    differ.Add(new Difference(name, $"order of {path}", ValueClassifier.Short(string.Join(", ", ta), 200), ValueClassifier.Short(string.Join(", ", tb), 200), Causes.Ordering));
                    return;
                }

                for (int i = 0; i < aa.Count; i++)
                {
                    Walk(differ, name, $"{path}[{i}]", aa[i], ab[i], fallback);
                }

                return;
            }
        }

        if (!JsonItem.DeepEquals(a, b))
        {
            var l = a is JsonString sa ? sa.Value : a?.ToString();
            var r = b is JsonString sb ? sb.Value : b?.ToString();
            differ.Add(new Difference(name, path, ValueClassifier.Short(l ?? "null", 300), ValueClassifier.Short(r ?? "null", 300), differ.Classifier.Classify(l, r, fallback)));
        }
    }
}
