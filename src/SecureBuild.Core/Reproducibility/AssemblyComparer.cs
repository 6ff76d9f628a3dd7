using System.Collections.Immutable;
using System.Collections;
using System.Globalization;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// Compares two .NET assemblies: PE header, debug directory (CodeView path/GUID/age, PDB checksum, Reproducible
/// entry, embedded PDB), MVID, assembly identity and references, custom attributes, types and methods (IL with
/// tokens resolved), constants and manifest resources. Values that are content hashes under Deterministic=true
/// (MVID, COFF timestamp, PDB id and checksum) are reported as consequences of the content differences.
/// </summary>
internal sealed class AssemblyComparer
{
    private readonly ArtifactDiffer _differ;
    private readonly string _name;
    private readonly List<Difference> _derived = new();
    private readonly List<Difference> _content = new();

    public AssemblyComparer(ArtifactDiffer differ, string name)
    {
        _differ = differ;
        _name = name;
    }

    private byte[] _leftBytes = Array.Empty<byte>();
    private byte[] _rightBytes = Array.Empty<byte>();

    public void Compare(byte[] leftBytes, byte[] rightBytes)
    {
        _leftBytes = leftBytes;
        _rightBytes = rightBytes;
        using var left = new PEReader(ImmutableArray.Create(leftBytes));
        using var right = new PEReader(ImmutableArray.Create(rightBytes));
        if (!left.HasMetadata || !right.HasMetadata)
        {
            // A native PE file: nothing structural to say.
            return;
        }

        var lmd = left.GetMetadataReader();
        var rmd = right.GetMetadataReader();

        CompareHeaders(left, right);
        bool leftReproducible = CompareDebugDirectory(left, right);
        CompareIdentity(lmd, rmd);
        CompareAttributes(lmd, rmd);
        CompareTypesAndMethods(left, right, lmd, rmd);
        CompareConstants(lmd, rmd);
        CompareResources(left, right, lmd, rmd);

        if (_content.Count == 0 && _derived.Count > 0 && !HasEmbeddedPdbDifference())
        {
            // Only hash-like values differ: check that nothing else does.
            var residual = ResidualDifference(left, right, leftBytes, rightBytes, lmd, rmd);
            if (residual is not null)
            {
                _content.Add(residual);
            }
        }

        Finish(leftReproducible);
    }

    private bool HasEmbeddedPdbDifference() => _differ.Report.Differences.Any(d => d.Artifact == _name + "!/embedded.pdb");

    private void Finish(bool reproducibleEntry)
    {
        foreach (var d in _content)
        {
            _differ.Add(d);
        }

        if (_derived.Count == 0)
        {
            return;
        }

        string? root = _content.FirstOrDefault()?.Aspect;
        if (root is not null)
        {
            foreach (var d in _derived)
            {
                d.ConsequenceOf = $"{_name}: {root}";
                _differ.Add(d);
            }

            return;
        }

        if (HasEmbeddedPdbDifference())
        {
            foreach (var d in _derived)
            {
                d.ConsequenceOf = _name + "!/embedded.pdb";
                _differ.Add(d);
            }

            return;
        }

        if (!reproducibleEntry)
        {
            var mvid = _derived.FirstOrDefault(d => d.Aspect.StartsWith("MVID", StringComparison.Ordinal)) ?? _derived[0];
            mvid.Cause = Causes.DeterministicOff;
            _differ.Add(mvid);
            foreach (var d in _derived.Where(d => d != mvid))
            {
                d.ConsequenceOf = $"{_name}: {mvid.Aspect}";
                _differ.Add(d);
            }

            return;
        }

        // Only the PDB id/checksum (and the hashes over them) differ: the PDB this assembly points to differs.
        var pdbId = _derived.FirstOrDefault(d => d.Aspect.StartsWith(PdbIdAspect, StringComparison.Ordinal));
        if (pdbId is not null)
        {
            pdbId.Cause = Causes.ContentHash.WithTitle("The PDB this assembly was built with differs (its id and checksum changed); see the .pdb's own differences — most often absolute build paths");
            _differ.Add(pdbId);
            foreach (var d in _derived.Where(d => d != pdbId))
            {
                d.ConsequenceOf = $"{_name}: {pdbId.Aspect}";
                _differ.Add(d);
            }

            return;
        }

        foreach (var d in _derived)
        {
            _differ.Add(d);
        }
    }

    internal const string PdbIdAspect = "PE debug directory: PDB id (CodeView GUID/age, PDB checksum)";

    private void Derived(string aspect, string? left, string? right) =>
        _derived.Add(new Difference(_name, aspect, left, right, Causes.ContentHash));

    private void Content(string aspect, string? left, string? right, Cause cause, string? detail = null)
    {
        if (_content.Count >= _differ.Options.MaxDifferencesPerFile)
        {
            return;
        }

        _content.Add(new Difference(_name, aspect, left, right, cause, detail));
    }

    private void CompareHeaders(PEReader left, PEReader right)
    {
        var l = left.PEHeaders;
        var r = right.PEHeaders;
        if (l.CoffHeader.TimeDateStamp != r.CoffHeader.TimeDateStamp)
        {
            Derived("PE header: COFF TimeDateStamp", Stamp(l.CoffHeader.TimeDateStamp), Stamp(r.CoffHeader.TimeDateStamp));
        }

        if (l.CoffHeader.Machine != r.CoffHeader.Machine || l.CoffHeader.Characteristics != r.CoffHeader.Characteristics)
        {
            Content("PE header: machine/characteristics", $"{l.CoffHeader.Machine} {l.CoffHeader.Characteristics}", $"{r.CoffHeader.Machine} {r.CoffHeader.Characteristics}", Causes.CompilationOptions);
        }

        if (l.PEHeader is not null && r.PEHeader is not null && l.PEHeader.CheckSum != r.PEHeader.CheckSum)
        {
            Derived("PE header: checksum", l.PEHeader.CheckSum.ToString(CultureInfo.InvariantCulture), r.PEHeader.CheckSum.ToString(CultureInfo.InvariantCulture));
        }

        if (l.CorHeader is not null && r.CorHeader is not null && l.CorHeader.Flags != r.CorHeader.Flags)
        {
            Content("CLI header: flags", l.CorHeader.Flags.ToString(), r.CorHeader.Flags.ToString(), Causes.CompilationOptions);
        }
    }

    private static string Stamp(int stamp) =>
        $"0x{stamp:x8}" + (stamp > 0x50000000 && stamp < 0x7FFFFFFF ? string.Empty : string.Empty);

    /// <summary>Compares the debug directories; returns whether the left assembly has a Reproducible entry.</summary>
    private bool CompareDebugDirectory(PEReader left, PEReader right)
    {
        var l = left.ReadDebugDirectory();
        var r = right.ReadDebugDirectory();
        bool reproducible = l.Any(e => e.Type == DebugDirectoryEntryType.Reproducible);
        bool rightReproducible = r.Any(e => e.Type == DebugDirectoryEntryType.Reproducible);
        if (reproducible != rightReproducible)
        {
            Content("PE debug directory: Reproducible entry (Deterministic)", reproducible ? "present" : "absent", rightReproducible ? "present" : "absent", Causes.CompilationOptions.WithTitle("Deterministic differs between the builds"));
        }

        var lTypes = string.Join(",", l.Select(e => e.Type));
        var rTypes = string.Join(",", r.Select(e => e.Type));
        if (lTypes != rTypes)
        {
            Content("PE debug directory: entries", lTypes, rTypes, Causes.CompilationOptions.WithTitle("Different debug settings (DebugType)"));
        }

        var lcv = l.Where(e => e.Type == DebugDirectoryEntryType.CodeView).Select(left.ReadCodeViewDebugDirectoryData).ToList();
        var rcv = r.Where(e => e.Type == DebugDirectoryEntryType.CodeView).Select(right.ReadCodeViewDebugDirectoryData).ToList();
        bool idDiffers = false;
        string? leftId = null, rightId = null;
        for (int i = 0; i < Math.Min(lcv.Count, rcv.Count); i++)
        {
            if (lcv[i].Path != rcv[i].Path)
            {
                Content("PE debug directory: CodeView PDB path", lcv[i].Path, rcv[i].Path,
                    _differ.Classifier.Classify(lcv[i].Path, rcv[i].Path, Causes.CodeViewPath, Causes.CodeViewPath));
            }

            if (lcv[i].Guid != rcv[i].Guid || lcv[i].Age != rcv[i].Age)
            {
                idDiffers = true;
                leftId = $"{lcv[i].Guid:D} age {lcv[i].Age}";
                rightId = $"{rcv[i].Guid:D} age {rcv[i].Age}";
            }
        }

        var lck = l.Where(e => e.Type == DebugDirectoryEntryType.PdbChecksum).Select(left.ReadPdbChecksumDebugDirectoryData).ToList();
        var rck = r.Where(e => e.Type == DebugDirectoryEntryType.PdbChecksum).Select(right.ReadPdbChecksumDebugDirectoryData).ToList();
        for (int i = 0; i < Math.Min(lck.Count, rck.Count); i++)
        {
            if (!lck[i].Checksum.SequenceEqual(rck[i].Checksum))
            {
                idDiffers = true;
                leftId = (leftId ?? string.Empty) + $"; {lck[i].AlgorithmName} {Hex.Encode(lck[i].Checksum.ToArray()).Substring(0, 16)}…";
                rightId = (rightId ?? string.Empty) + $"; {rck[i].AlgorithmName} {Hex.Encode(rck[i].Checksum.ToArray()).Substring(0, 16)}…";
            }
        }

        if (idDiffers)
        {
            Derived(PdbIdAspect, leftId?.TrimStart(';', ' '), rightId?.TrimStart(';', ' '));
        }

        var lEmbedded = l.FirstOrDefault(e => e.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
        var rEmbedded = r.FirstOrDefault(e => e.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
        if (lEmbedded.Type == DebugDirectoryEntryType.EmbeddedPortablePdb && rEmbedded.Type == DebugDirectoryEntryType.EmbeddedPortablePdb)
        {
            var lb = EmbeddedPdb(_leftBytes, lEmbedded);
            var rb = EmbeddedPdb(_rightBytes, rEmbedded);
            if (!lb.SequenceEqual(rb))
            {
                _differ.CompareBytes(_name + "!/embedded.pdb", lb, rb);
            }
        }

        return reproducible;
    }

    /// <summary>The embedded portable PDB: "MPDB", uncompressed size, deflate stream.</summary>
    private static byte[] EmbeddedPdb(byte[] file, DebugDirectoryEntry entry)
    {
        int offset = entry.DataPointer;
        if (entry.DataSize < 8 || file[offset] != 'M' || file[offset + 1] != 'P' || file[offset + 2] != 'D' || file[offset + 3] != 'B')
        {
            throw new BadImageFormatException("embedded PDB without MPDB signature");
        }

        int size = BitConverter.ToInt32(file, offset + 4);
        using var deflate = new System.IO.Compression.DeflateStream(new MemoryStream(file, offset + 8, entry.DataSize - 8), System.IO.Compression.CompressionMode.Decompress);
        var result = new byte[size];
        int read = 0;
        while (read < size)
        {
            int n = deflate.Read(result, read, size - read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return result;
    }

    private void CompareIdentity(MetadataReader l, MetadataReader r)
    {
        var lm = l.GetGuid(l.GetModuleDefinition().Mvid);
        var rm = r.GetGuid(r.GetModuleDefinition().Mvid);
        if (lm != rm)
        {
            Derived("MVID (module version id)", lm.ToString("D"), rm.ToString("D"));
        }

        if (l.IsAssembly && r.IsAssembly)
        {
            var la = l.GetAssemblyDefinition();
            var ra = r.GetAssemblyDefinition();
            var lid = $"{l.GetString(la.Name)}, Version={la.Version}";
            var rid = $"{r.GetString(ra.Name)}, Version={ra.Version}";
            if (lid != rid)
            {
                Content("assembly identity", lid, rid, _differ.Classifier.Classify(lid, rid, Causes.Version));
            }
        }

        var lrefs = l.AssemblyReferences.Select(h => l.GetAssemblyReference(h)).Select(a => $"{l.GetString(a.Name)}, Version={a.Version}").ToList();
        var rrefs = r.AssemblyReferences.Select(h => r.GetAssemblyReference(h)).Select(a => $"{r.GetString(a.Name)}, Version={a.Version}").ToList();
        if (!lrefs.SequenceEqual(rrefs))
        {
            var onlyLeft = lrefs.Except(rrefs).ToList();
            var onlyRight = rrefs.Except(lrefs).ToList();
            var cause = onlyLeft.Count == 0 && onlyRight.Count == 0 ? Causes.Ordering : Causes.References;
            Content("assembly references", string.Join("; ", onlyLeft.DefaultIfEmpty("(same set)")), string.Join("; ", onlyRight.DefaultIfEmpty("(same set)")), cause);
        }
    }

    private static string Parent(MetadataReader md, EntityHandle parent) => parent.Kind switch
    {
        HandleKind.AssemblyDefinition => "assembly",
        HandleKind.ModuleDefinition => "module",
        HandleKind.TypeDefinition => MetadataNames.Type(md, (TypeDefinitionHandle)parent),
        HandleKind.MethodDefinition => MetadataNames.Entity(md, parent),
        HandleKind.FieldDefinition => MetadataNames.Entity(md, parent),
        _ => parent.Kind.ToString(),
    };

    private static Dictionary<string, string> Attributes(MetadataReader md)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var h in md.CustomAttributes)
        {
            var a = md.GetCustomAttribute(h);
            var key = Parent(md, a.Parent) + " [" + MetadataNames.AttributeType(md, a) + "]";
            var value = MetadataNames.AttributeValue(md, a);
            int n = 1;
            var unique = key;
            while (result.ContainsKey(unique))
            {
                unique = key + " #" + (++n).ToString(CultureInfo.InvariantCulture);
            }

            result[unique] = value;
        }

        return result;
    }

    private void CompareAttributes(MetadataReader l, MetadataReader r)
    {
        var la = Attributes(l);
        var ra = Attributes(r);
        foreach (var key in la.Keys.Union(ra.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            la.TryGetValue(key, out var lv);
            ra.TryGetValue(key, out var rv);
            if (lv == rv)
            {
                continue;
            }

            var fallback = key.IndexOf("Version", StringComparison.Ordinal) >= 0 ? Causes.Version : Causes.GeneratedCode;
            Content("custom attribute " + key, lv, rv, _differ.Classifier.Classify(lv, rv, fallback, Causes.PathInCode));
        }
    }

    private sealed class MethodInfo
    {
        public string Text = string.Empty;
        public List<string> Literals = new();
    }

    private static Dictionary<string, MethodInfo> Methods(PEReader pe, MetadataReader md, out List<string> types)
    {
        types = new List<string>();
        var result = new Dictionary<string, MethodInfo>(StringComparer.Ordinal);
        foreach (var th in md.TypeDefinitions)
        {
            var typeName = MetadataNames.Type(md, th);
            types.Add(typeName);
            foreach (var mh in md.GetTypeDefinition(th).GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                var key = typeName + "::" + md.GetString(m.Name) + "(" + Convert.ToBase64String(md.GetBlobBytes(m.Signature)) + ")";
                var info = new MethodInfo();
                if (m.RelativeVirtualAddress != 0)
                {
                    var body = pe.GetMethodBody(m.RelativeVirtualAddress);
                    var il = body.GetILBytes() ?? Array.Empty<byte>();
                    (info.Text, info.Literals) = IlText.Render(il, md);
                }

                int n = 1;
                var unique = key;
                while (result.ContainsKey(unique))
                {
                    unique = key + "#" + (++n).ToString(CultureInfo.InvariantCulture);
                }

                result[unique] = info;
            }
        }

        return result;
    }

    private void CompareTypesAndMethods(PEReader left, PEReader right, MetadataReader lmd, MetadataReader rmd)
    {
        var lm = Methods(left, lmd, out var lt);
        var rm = Methods(right, rmd, out var rt);
        var onlyLeftTypes = lt.Except(rt).ToList();
        var onlyRightTypes = rt.Except(lt).ToList();
        if (onlyLeftTypes.Count > 0 || onlyRightTypes.Count > 0)
        {
            var l = string.Join(", ", onlyLeftTypes);
            var r = string.Join(", ", onlyRightTypes);
            Content("types", l.Length == 0 ? "(none only here)" : l, r.Length == 0 ? "(none only here)" : r, _differ.Classifier.Classify(l, r, Causes.GeneratedCode));
        }
        else if (!lt.SequenceEqual(rt))
        {
            Content("type order", Preview(lt), Preview(rt), Causes.Ordering.WithTitle("Same types in a different order (source files or generated types in another order)"));
        }

        var methodKeysLeft = lm.Keys.ToList();
        var methodKeysRight = rm.Keys.ToList();
        var onlyLeft = methodKeysLeft.Except(methodKeysRight).ToList();
        var onlyRight = methodKeysRight.Except(methodKeysLeft).ToList();
        if (onlyLeft.Count > 0 || onlyRight.Count > 0)
        {
            var l = string.Join(", ", onlyLeft.Select(StripSignature));
            var r = string.Join(", ", onlyRight.Select(StripSignature));
            Content("methods", l.Length == 0 ? "(none only here)" : l, r.Length == 0 ? "(none only here)" : r, _differ.Classifier.Classify(l, r, Causes.GeneratedCode));
        }

        foreach (var key in methodKeysLeft.Intersect(methodKeysRight))
        {
            var a = lm[key];
            var b = rm[key];
            if (a.Text == b.Text)
            {
                continue;
            }

            var name = StripSignature(key);
            if (a.Literals.Count == b.Literals.Count && !a.Literals.SequenceEqual(b.Literals))
            {
                bool onlyLiterals = Normalize(a.Text) == Normalize(b.Text);
                for (int i = 0; i < a.Literals.Count; i++)
                {
                    if (a.Literals[i] != b.Literals[i])
                    {
                        var cause = _differ.Classifier.Classify(a.Literals[i], b.Literals[i], onlyLiterals ? Causes.GeneratedCode : Causes.GeneratedCode, Causes.PathInCode);
                        Content($"IL of {name}: string literal (ldstr)", a.Literals[i], b.Literals[i], cause);
                    }
                }

                if (onlyLiterals)
                {
                    continue;
                }
            }

            var (dl, dr) = TextComparer.FirstDifferingLines(a.Text, b.Text);
            Content($"IL of {name}", dl, dr, _differ.Classifier.Classify(a.Text, b.Text, Causes.GeneratedCode, Causes.PathInCode), TextComparer.UnifiedDiff(a.Text, b.Text, 3, 40));
        }
    }

    private static string Normalize(string ilText) =>
        System.Text.RegularExpressions.Regex.Replace(ilText, "72 \"(?:[^\"\\\\]|\\\\.)*\"", "72 \"…\"");

    private static string StripSignature(string key)
    {
        int paren = key.IndexOf('(');
        return paren > 0 ? key.Substring(0, paren) + "()" : key;
    }

    private static string Preview(List<string> items) =>
        ValueClassifier.Short(string.Join(", ", items), 200);

    private void CompareConstants(MetadataReader l, MetadataReader r)
    {
        var lc = Constants(l);
        var rc = Constants(r);
        foreach (var key in lc.Keys.Intersect(rc.Keys))
        {
            if (lc[key] != rc[key])
            {
                Content("constant " + key, lc[key], rc[key], _differ.Classifier.Classify(lc[key], rc[key], Causes.GeneratedCode, Causes.PathInCode));
            }
        }
    }

    private static Dictionary<string, string> Constants(MetadataReader md)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int row = 1; row <= md.GetTableRowCount(TableIndex.Constant); row++)
        {
            var c = md.GetConstant(MetadataTokens.ConstantHandle(row));
            var key = Parent(md, c.Parent) + "#" + row.ToString(CultureInfo.InvariantCulture);
            if (c.Parent.Kind == HandleKind.FieldDefinition)
            {
                key = Parent(md, c.Parent);
            }

            var blob = md.GetBlobBytes(c.Value);
            result[key] = c.TypeCode == ConstantTypeCode.String
                ? System.Text.Encoding.Unicode.GetString(blob)
                : Convert.ToBase64String(blob);
        }

        return result;
    }

    private static Dictionary<string, byte[]> Resources(PEReader pe, MetadataReader md)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var dir = pe.PEHeaders.CorHeader?.ResourcesDirectory;
        foreach (var h in md.ManifestResources)
        {
            var res = md.GetManifestResource(h);
            var name = md.GetString(res.Name);
            if (!res.Implementation.IsNil || dir is null || dir.Value.Size == 0)
            {
                result[name] = Array.Empty<byte>();
                continue;
            }

            var block = pe.GetSectionData(dir.Value.RelativeVirtualAddress);
            var reader = block.GetReader();
            reader.Offset = (int)res.Offset;
            int length = reader.ReadInt32();
            result[name] = reader.ReadBytes(length);
        }

        return result;
    }

    private void CompareResources(PEReader left, PEReader right, MetadataReader lmd, MetadataReader rmd)
    {
        var l = Resources(left, lmd);
        var r = Resources(right, rmd);
        var ln = l.Keys.ToList();
        var rn = r.Keys.ToList();
        if (!ln.OrderBy(x => x, StringComparer.Ordinal).SequenceEqual(rn.OrderBy(x => x, StringComparer.Ordinal)))
        {
            Content("manifest resources", string.Join(", ", ln.Except(rn)), string.Join(", ", rn.Except(ln)), Causes.ResourceContent);
        }
        else if (!ln.SequenceEqual(rn))
        {
            Content("manifest resource order", string.Join(", ", ln), string.Join(", ", rn), Causes.Ordering);
        }

        foreach (var name in ln.Intersect(rn))
        {
            if (l[name].AsSpan().SequenceEqual(r[name]))
            {
                continue;
            }

            CompareResource(name, l[name], r[name]);
        }
    }

    private void CompareResource(string name, byte[] left, byte[] right)
    {
        var aspect = "resource " + name;
        if (left.Length >= 4 && BitConverter.ToUInt32(left, 0) == 0xBEEFCACE)
        {
            var lv = ReadResources(left);
            var rv = ReadResources(right);
            if (lv is not null && rv is not null)
            {
                bool any = false;
                foreach (var key in lv.Keys.Union(rv.Keys).OrderBy(k => k, StringComparer.Ordinal))
                {
                    lv.TryGetValue(key, out var a);
                    rv.TryGetValue(key, out var b);
                    if (a != b)
                    {
                        any = true;
                        Content($"{aspect}: {key}", a, b, _differ.Classifier.Classify(a, b, Causes.ResourceContent));
                    }
                }

                if (any)
                {
                    return;
                }
            }
        }

        if (ArtifactDiffer.LooksLikeText(left) && ArtifactDiffer.LooksLikeText(right))
        {
            var a = ArtifactDiffer.Decode(left);
            var b = ArtifactDiffer.Decode(right);
            var (dl, dr) = TextComparer.FirstDifferingLines(a, b);
            Content(aspect, dl, dr, _differ.Classifier.Classify(a, b, Causes.ResourceContent), TextComparer.UnifiedDiff(a, b, 2, 40));
            return;
        }

        Content(aspect, $"{left.Length} bytes, sha256 {Crypto.Sha256Hex.Of(left).Substring(0, 16)}…", $"{right.Length} bytes, sha256 {Crypto.Sha256Hex.Of(right).Substring(0, 16)}…", Causes.ResourceContent);
    }

    private static Dictionary<string, string>? ReadResources(byte[] bytes)
    {
        try
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            using var reader = new System.Resources.ResourceReader(new MemoryStream(bytes));
            var e = reader.GetEnumerator();
            while (e.MoveNext())
            {
                string value;
                try
                {
                    value = e.Value is string s ? s : Convert.ToString(e.Value, CultureInfo.InvariantCulture) ?? string.Empty;
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    reader.GetResourceData((string)e.Key, out var type, out var data);
                    value = type + ":" + Convert.ToBase64String(data);
                }

                result[(string)e.Key] = value;
            }

            return result;
        }
        catch (Exception e) when (e is BadImageFormatException || e is ArgumentException || e is InvalidOperationException || e is NotSupportedException || e is IOException || e is FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// With the hash-like fields blanked out, are the two files identical? If not, reports where they differ
    /// (something the structural comparison above does not know about).
    /// </summary>
    private Difference? ResidualDifference(PEReader left, PEReader right, byte[] leftBytes, byte[] rightBytes, MetadataReader lmd, MetadataReader rmd)
    {
        if (leftBytes.Length != rightBytes.Length)
        {
            return new Difference(_name, "file size", leftBytes.Length.ToString(CultureInfo.InvariantCulture), rightBytes.Length.ToString(CultureInfo.InvariantCulture), Causes.Unknown);
        }

        var a = (byte[])leftBytes.Clone();
        var b = (byte[])rightBytes.Clone();
        Blank(left, lmd, a);
        Blank(right, rmd, b);
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                var section = left.PEHeaders.SectionHeaders.FirstOrDefault(s => i >= s.PointerToRawData && i < s.PointerToRawData + s.SizeOfRawData);
                var where = section.Name is null ? "headers" : section.Name;
                return new Difference(_name, $"bytes at offset 0x{i:x} ({where})", $"0x{a[i]:x2}", $"0x{b[i]:x2}", Causes.Unknown);
            }
        }

        return null;
    }

    private static void Blank(PEReader pe, MetadataReader md, byte[] bytes)
    {
        var h = pe.PEHeaders;
        Zero(bytes, h.CoffHeaderStartOffset + 4, 4);
        Zero(bytes, h.PEHeaderStartOffset + 64, 4);
        if (h.PEHeaders_TryGetDirectoryOffset(h.PEHeader!.DebugTableDirectory, out int debugOffset))
        {
            var entries = pe.ReadDebugDirectory();
            for (int i = 0; i < entries.Length; i++)
            {
                Zero(bytes, debugOffset + (i * 28) + 4, 4);
                if (entries[i].Type == DebugDirectoryEntryType.CodeView || entries[i].Type == DebugDirectoryEntryType.PdbChecksum)
                {
                    Zero(bytes, entries[i].DataPointer, entries[i].DataSize);
                }
            }
        }

        if (h.CorHeader is { } cor && cor.StrongNameSignatureDirectory.Size > 0 &&
            h.TryGetDirectoryOffset(cor.StrongNameSignatureDirectory, out int snOffset))
        {
            Zero(bytes, snOffset, cor.StrongNameSignatureDirectory.Size);
        }

        var mvid = md.GetModuleDefinition().Mvid;
        int guidIndex = MetadataTokens.GetHeapOffset(mvid);
        int guidHeap = h.MetadataStartOffset + md.GetHeapMetadataOffset(HeapIndex.Guid);
        Zero(bytes, guidHeap + ((guidIndex - 1) * 16), 16);
    }

    private static void Zero(byte[] bytes, int offset, int count)
    {
        for (int i = Math.Max(0, offset); i < Math.Min(bytes.Length, offset + count); i++)
        {
            bytes[i] = 0;
        }
    }
}

internal static class PEHeadersExtensions
{
    public static bool PEHeaders_TryGetDirectoryOffset(this PEHeaders headers, DirectoryEntry directory, out int offset) =>
        headers.TryGetDirectoryOffset(directory, out offset);
}
