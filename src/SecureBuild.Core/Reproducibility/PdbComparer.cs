using System.Collections.Immutable;
using System.Globalization;
using System.IO.Compression;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.Metadata;
using System.Text;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// Compares two portable PDBs: the document table (names, checksums, languages), embedded sources, Source Link
/// JSON, compilation options and metadata references, sequence points and other debug information. The PDB id is
/// a hash of the content and is reported as a consequence of the other differences.
/// </summary>
internal sealed class PdbComparer
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");
    private static readonly Guid EmbeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
    private static readonly Guid CompilationOptionsKind = new("B5FEEC05-8CD0-4A83-96DA-466284BB4BD8");
    private static readonly Guid CompilationReferencesKind = new("7E4D4708-096E-4C5C-AEDA-CB10BA6A740D");

    private readonly ArtifactDiffer _differ;
    private readonly string _name;
    private readonly List<Difference> _content = new();

    public PdbComparer(ArtifactDiffer differ, string name)
    {
        _differ = differ;
        _name = name;
    }

    public void Compare(byte[] leftBytes, byte[] rightBytes)
    {
        using var lp = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(leftBytes));
        using var rp = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(rightBytes));
        var l = lp.GetMetadataReader();
        var r = rp.GetMetadataReader();

        var ldocs = Documents(l);
        var rdocs = Documents(r);
        CompareDocuments(ldocs, rdocs);
        CompareDebugInformation(l, r, ldocs, rdocs);
        CompareSequencePoints(l, r);

        var lid = l.DebugMetadataHeader?.Id.ToArray() ?? Array.Empty<byte>();
        var rid = r.DebugMetadataHeader?.Id.ToArray() ?? Array.Empty<byte>();
        Difference? idDifference = lid.AsSpan().SequenceEqual(rid) ? null
            : new Difference(_name, "PDB id", Hex.Encode(lid), Hex.Encode(rid), Causes.ContentHash);

        if (_content.Count == 0 && idDifference is not null)
        {
            // Only the id differs: is anything else different once it is blanked?
            var a = (byte[])leftBytes.Clone();
            var b = (byte[])rightBytes.Clone();
            BlankId(a, lid);
            BlankId(b, rid);
            if (!a.AsSpan().SequenceEqual(b))
            {
                _content.Add(new Difference(_name, "debug information (scopes, imports or other tables)",
                    $"{leftBytes.Length} bytes", $"{rightBytes.Length} bytes",
                    Causes.Unknown.WithTitle("PDB tables differ in a part SecureBuild does not decode (local scopes, imports, state machine info)")));
            }
            else
            {
                idDifference.Cause = Causes.DeterministicOff.WithTitle("Only the PDB id differs: a non-deterministic (Deterministic=false) build stamps a random id");
            }
        }

        foreach (var d in _content)
        {
            _differ.Add(d);
        }

        if (idDifference is not null)
        {
            if (_content.Count > 0)
            {
                idDifference.ConsequenceOf = $"{_name}: {_content[0].Aspect}";
            }

            _differ.Add(idDifference);
        }
    }

    private static void BlankId(byte[] bytes, byte[] id)
    {
        if (id.Length == 0)
        {
            return;
        }

        for (int i = 0; i + id.Length <= bytes.Length; i++)
        {
            int j = 0;
            while (j < id.Length && bytes[i + j] == id[j])
            {
                j++;
            }

            if (j == id.Length)
            {
                Array.Clear(bytes, i, id.Length);
                return;
            }
        }
    }

    private void Content(string aspect, string? left, string? right, Cause cause, string? detail = null)
    {
        if (_content.Count >= _differ.Options.MaxDifferencesPerFile)
        {
            return;
        }

        _content.Add(new Difference(_name, aspect, left, right, cause, detail));
    }

    private sealed class Doc
    {
        public string Name = string.Empty;
        public string Hash = string.Empty;
        public Guid Language;
    }

    private static List<Doc> Documents(MetadataReader md) =>
        md.Documents.Select(h => md.GetDocument(h)).Select(d => new Doc
        {
            Name = md.GetString(d.Name),
            Hash = d.Hash.IsNil ? string.Empty : Hex.Encode(md.GetBlobBytes(d.Hash)),
            Language = d.Language.IsNil ? Guid.Empty : md.GetGuid(d.Language),
        }).ToList();

    private void CompareDocuments(List<Doc> l, List<Doc> r)
    {
        var ln = l.Select(d => d.Name).ToList();
        var rn = r.Select(d => d.Name).ToList();
        if (ln.Count == rn.Count)
        {
            // Same set of (relative) names in another order?
            var lByHash = l.Select(d => d.Hash).ToList();
            var rByHash = r.Select(d => d.Hash).ToList();
            if (!lByHash.SequenceEqual(rByHash) && lByHash.OrderBy(x => x, StringComparer.Ordinal).SequenceEqual(rByHash.OrderBy(x => x, StringComparer.Ordinal)))
            {
                Content("PDB document order", Preview(ln), Preview(rn),
                    Causes.Ordering.WithTitle("Source files compiled in a different order (unordered file globbing)"));
                return;
            }

            int pathDifferences = 0;
            for (int i = 0; i < ln.Count; i++)
            {
                if (ln[i] != rn[i])
                {
                    var cause = _differ.Classifier.Classify(ln[i], rn[i], Causes.SourceContent, Causes.PdbDocumentPath);
                    if (cause.Id == Causes.PdbDocumentPath.Id && ++pathDifferences > 3)
                    {
                        continue;
                    }

                    Content("PDB document name", ln[i], rn[i], cause);
                }

                if (l[i].Hash != r[i].Hash && BaseName(ln[i]) == BaseName(rn[i]))
                {
                    Content($"PDB document checksum of {Relative(ln[i], rn[i])}", l[i].Hash.Substring(0, Math.Min(16, l[i].Hash.Length)) + "…", r[i].Hash.Substring(0, Math.Min(16, r[i].Hash.Length)) + "…", Causes.SourceContent.WithTitle($"Different content of source file {Relative(ln[i], rn[i])} (generated during the build, or different commits)"));
                }
            }

            if (pathDifferences > 3)
            {
                Content("PDB document names (more)", $"{pathDifferences - 3} more absolute paths", $"{pathDifferences - 3} more absolute paths", Causes.PdbDocumentPath);
            }

            return;
        }

        var onlyLeft = ln.Except(rn).ToList();
        var onlyRight = rn.Except(ln).ToList();
        Content("PDB documents", Preview(onlyLeft), Preview(onlyRight), _differ.Classifier.Classify(string.Join("\n", onlyLeft), string.Join("\n", onlyRight), Causes.SourceContent, Causes.PdbDocumentPath));
    }

    private static string BaseName(string path) => path.Replace('\\', '/').Split('/').Last();

    /// <summary>The common trailing part of two paths, for display.</summary>
    private static string Relative(string a, string b)
    {
        var x = a.Replace('\\', '/').Split('/');
        var y = b.Replace('\\', '/').Split('/');
        int n = 0;
        while (n < Math.Min(x.Length, y.Length) && x[x.Length - 1 - n] == y[y.Length - 1 - n])
        {
            n++;
        }

        return n == 0 ? BaseName(a) : string.Join("/", x.Skip(x.Length - n));
    }

    private static string Preview(List<string> items) => ValueClassifier.Short(string.Join(", ", items), 300);

    private string Parent(MetadataReader md, EntityHandle parent, List<Doc> docs)
    {
        if (parent.Kind == HandleKind.Document)
        {
            int row = MetadataTokens.GetRowNumber(parent);
            return row >= 1 && row <= docs.Count ? "document " + docs[row - 1].Name : "document #" + row.ToString(CultureInfo.InvariantCulture);
        }

        if (parent.Kind == HandleKind.ModuleDefinition)
        {
            return "module";
        }

        return parent.Kind + " #" + MetadataTokens.GetRowNumber(parent).ToString(CultureInfo.InvariantCulture);
    }

    private void CompareDebugInformation(MetadataReader l, MetadataReader r, List<Doc> ldocs, List<Doc> rdocs)
    {
        var li = l.CustomDebugInformation.Select(h => l.GetCustomDebugInformation(h)).ToList();
        var ri = r.CustomDebugInformation.Select(h => r.GetCustomDebugInformation(h)).ToList();
        var lk = li.Select(c => (Kind: l.GetGuid(c.Kind), Parent: c.Parent, Value: l.GetBlobBytes(c.Value))).ToList();
        var rk = ri.Select(c => (Kind: r.GetGuid(c.Kind), Parent: c.Parent, Value: r.GetBlobBytes(c.Value))).ToList();

        // Module-level records by kind.
        foreach (var kind in new[] { SourceLinkKind, CompilationOptionsKind, CompilationReferencesKind })
        {
            var a = lk.Where(c => c.Kind == kind).Select(c => c.Value).FirstOrDefault();
            var b = rk.Where(c => c.Kind == kind).Select(c => c.Value).FirstOrDefault();
            if (a is null && b is null)
            {
                continue;
            }

            if (a is null || b is null)
            {
                // The SDK writes Source Link from the git repository: a PDB without it was built without one.
                Content(KindName(kind), a is null ? "absent" : "present", b is null ? "absent" : "present",
                    kind == SourceLinkKind ? Causes.NoGitRepository : Causes.CompilationOptions);
                continue;
            }

            if (a.AsSpan().SequenceEqual(b))
            {
                continue;
            }

            if (kind == SourceLinkKind)
            {
                var ta = Encoding.UTF8.GetString(a);
                var tb = Encoding.UTF8.GetString(b);
                var (dl, dr) = TextComparer.FirstDifferingLines(ta, tb);
                Content("Source Link JSON", dl, dr, _differ.Classifier.Classify(ta, tb, Causes.SourceLink, Causes.PdbDocumentPath), TextComparer.UnifiedDiff(ta, tb, 1, 20));
            }
            else if (kind == CompilationOptionsKind)
            {
                var oa = Options(a);
                var ob = Options(b);
                foreach (var key in oa.Keys.Union(ob.Keys))
                {
                    oa.TryGetValue(key, out var va);
                    ob.TryGetValue(key, out var vb);
                    if (va != vb)
                    {
                        var cause = key is "compiler-version" or "runtime-version" or "language-version"
                            ? Causes.CompilerVersion
                            : _differ.Classifier.Classify(va, vb, Causes.CompilationOptions);
                        Content("PDB compilation option " + key, va, vb, cause);
                    }
                }
            }
            else
            {
                var ra = References(a);
                var rb = References(b);
                var onlyA = ra.Except(rb).ToList();
                var onlyB = rb.Except(ra).ToList();
                if (onlyA.Count == 0 && onlyB.Count == 0)
                {
                    Content("PDB compilation references order", Preview(ra), Preview(rb), Causes.Ordering);
                }
                else
                {
                    Content("PDB compilation references (name, MVID)", Preview(onlyA), Preview(onlyB), Causes.References);
                }
            }
        }

        // Embedded sources, by document name (relative part).
        var les = lk.Where(c => c.Kind == EmbeddedSourceKind).ToDictionary(c => Parent(l, c.Parent, ldocs), c => c.Value);
        var res = rk.Where(c => c.Kind == EmbeddedSourceKind).ToDictionary(c => Parent(r, c.Parent, rdocs), c => c.Value);
        var lesByBase = les.GroupBy(kv => BaseName(kv.Key)).ToDictionary(g => g.Key, g => g.First().Value);
        var resByBase = res.GroupBy(kv => BaseName(kv.Key)).ToDictionary(g => g.Key, g => g.First().Value);
        foreach (var key in lesByBase.Keys.Intersect(resByBase.Keys))
        {
            var a = lesByBase[key];
            var b = resByBase[key];
            if (!a.AsSpan().SequenceEqual(b))
            {
                var ta = EmbeddedSource(a);
                var tb = EmbeddedSource(b);
                if (ta == tb)
                {
                    continue;
                }

                var (dl, dr) = TextComparer.FirstDifferingLines(ta, tb);
                Content("embedded source " + key, dl, dr, _differ.Classifier.Classify(ta, tb, Causes.SourceContent, Causes.PathInCode), TextComparer.UnifiedDiff(ta, tb, 2, 40));
            }
        }

        if (les.Count != res.Count)
        {
            Content("embedded sources", les.Count.ToString(CultureInfo.InvariantCulture), res.Count.ToString(CultureInfo.InvariantCulture), Causes.CompilationOptions.WithTitle("Different sources embedded (EmbedUntrackedSources/EmbedAllSources)"));
        }

        // Everything else: per (kind) multiset of values.
        var known = new HashSet<Guid> { SourceLinkKind, CompilationOptionsKind, CompilationReferencesKind, EmbeddedSourceKind };
        foreach (var group in lk.Where(c => !known.Contains(c.Kind)).GroupBy(c => c.Kind))
        {
            var a = group.Select(c => Convert.ToBase64String(c.Value)).ToList();
            var b = rk.Where(c => c.Kind == group.Key).Select(c => Convert.ToBase64String(c.Value)).ToList();
            if (!a.SequenceEqual(b))
            {
                Content("custom debug information " + group.Key.ToString("D"), $"{a.Count} records", $"{b.Count} records",
                    Causes.GeneratedCode.WithTitle("Different debug information (state machines, dynamic locals, ...): the compiled code differs"));
            }
        }
    }

    private static string KindName(Guid kind) =>
        kind == SourceLinkKind ? "Source Link JSON" :
        kind == CompilationOptionsKind ? "PDB compilation options" :
        kind == CompilationReferencesKind ? "PDB compilation references" : kind.ToString("D");

    private static Dictionary<string, string> Options(byte[] blob)
    {
        var parts = Encoding.UTF8.GetString(blob).Split('\0');
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < parts.Length; i += 2)
        {
            result[parts[i]] = parts[i + 1];
        }

        return result;
    }

    /// <summary>Compilation metadata references: name\0 aliases\0 kind(1) timestamp(4) size(4) mvid(16).</summary>
    private static List<string> References(byte[] blob)
    {
        var result = new List<string>();
        int i = 0;
        while (i < blob.Length)
        {
            int end = Array.IndexOf(blob, (byte)0, i);
            if (end < 0)
            {
                break;
            }

            var name = Encoding.UTF8.GetString(blob, i, end - i);
            i = end + 1;
            end = Array.IndexOf(blob, (byte)0, i);
            if (end < 0)
            {
                break;
            }

            i = end + 1 + 1 + 4 + 4;
            if (i + 16 > blob.Length)
            {
                break;
            }

            var mvid = new Guid(blob.Skip(i).Take(16).ToArray());
            i += 16;
            result.Add($"{name} {mvid:D}");
        }

        return result;
    }

    private static string EmbeddedSource(byte[] blob)
    {
        if (blob.Length < 4)
        {
            return string.Empty;
        }

        int format = BitConverter.ToInt32(blob, 0);
        if (format == 0)
        {
            return ArtifactDiffer.Decode(blob.Skip(4).ToArray());
        }

        using var deflate = new DeflateStream(new MemoryStream(blob, 4, blob.Length - 4), CompressionMode.Decompress);
        using var output = new MemoryStream();
        deflate.CopyTo(output);
        return ArtifactDiffer.Decode(output.ToArray());
    }

    private void CompareSequencePoints(MetadataReader l, MetadataReader r)
    {
        var a = l.MethodDebugInformation.Select(h => l.GetMethodDebugInformation(h)).Select(m => m.SequencePointsBlob.IsNil ? string.Empty : Convert.ToBase64String(l.GetBlobBytes(m.SequencePointsBlob))).ToList();
        var b = r.MethodDebugInformation.Select(h => r.GetMethodDebugInformation(h)).Select(m => m.SequencePointsBlob.IsNil ? string.Empty : Convert.ToBase64String(r.GetBlobBytes(m.SequencePointsBlob))).ToList();
        int differing = a.Count == b.Count ? a.Zip(b, (x, y) => x != y).Count(d => d) : Math.Max(a.Count, b.Count);
        if (differing > 0)
        {
            Content("sequence points (line numbers)", $"{a.Count} methods", $"{b.Count} methods ({differing} differ)",
                Causes.SourceContent.WithTitle("Different line numbers or code layout: the sources or generated sources differ"));
        }
    }
}
