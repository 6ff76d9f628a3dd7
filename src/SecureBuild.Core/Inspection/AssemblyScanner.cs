using System.Collections.Immutable;
using System.Net;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace SecureBuild.Core.Inspection;

/// <summary>
/// What an assembly or native binary can do, read from its bytes with System.Reflection.Metadata (nothing is loaded or
/// run): P/Invoke targets (ImplMap rows and their ModuleRef), references to Process.Start, network APIs and
/// Reflection.Emit, URLs and IP addresses among its string literals, obfuscator markers, and whether it is
/// strong-named and deterministic. A file that is not a PE, ELF or Mach-O but is named like a binary, or a PE that
/// does not parse (truncated, corrupted), is an error finding.
/// </summary>
public static class AssemblyScanner
{
    private static readonly Regex Url = new(@"\b(?:https?|ftp)://[^\s""'<>\\]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex IPv4 = new(@"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])", RegexOptions.CultureInvariant);

    /// <summary>Full names of the attributes obfuscators leave in their output (ConfuserEx, Dotfuscator, SmartAssembly, Babel, Goliath, Agile.NET, Xenocode).</summary>
    private static readonly HashSet<string> ObfuscatorMarkers = new(StringComparer.Ordinal)
    {
        "ConfusedByAttribute", "DotfuscatorAttribute", "SmartAssembly.Attributes.PoweredByAttribute", "BabelObfuscatorAttribute",
        "ObfuscatedByGoliath", "ObfuscatedByAgileDotNetAttribute", "Xenocode.Client.Attributes.AssemblyAttributes.ProcessedByXenocode",
    };

    /// <summary>True for files looked at as binaries: by extension, or below a runtimes/&lt;rid&gt;/native/ folder.</summary>
    public static bool IsBinary(string path)
    {
        var lower = path.ToLowerInvariant();
        return lower.EndsWith(".dll", StringComparison.Ordinal) || lower.EndsWith(".exe", StringComparison.Ordinal) ||
            lower.EndsWith(".so", StringComparison.Ordinal) || lower.IndexOf(".so.", StringComparison.Ordinal) >= 0 ||
            lower.EndsWith(".dylib", StringComparison.Ordinal) || NativeRid(path) is not null;
    }

    /// <summary>The RID of a file below runtimes/&lt;rid&gt;/native/, else null.</summary>
    public static string? NativeRid(string path)
    {
        var parts = path.Split('/');
        return parts.Length >= 4 && parts[0].Equals("runtimes", StringComparison.OrdinalIgnoreCase) &&
            parts[2].Equals("native", StringComparison.OrdinalIgnoreCase) ? parts[1] : null;
    }

    /// <summary>The findings for one binary (<paramref name="file"/>'s content must have been kept).</summary>
    public static IEnumerable<Finding> Scan(PackageFile file)
    {
        if (file.Content is null)
        {
            return new[] { Unreadable(file, file.NotAnalysed + ", not analysed") };
        }

        var bytes = file.Content;
        if (IsElf(bytes) || IsMachO(bytes))
        {
            return new[] { Native(file, IsElf(bytes) ? "ELF" : "Mach-O") };
        }

        if (bytes.Length < 2 || bytes[0] != (byte)'M' || bytes[1] != (byte)'Z')
        {
            return new[] { Unreadable(file, "not a PE, ELF or Mach-O file") };
        }

        try
        {
            using var pe = new PEReader(ImmutableArray.Create(bytes));
            if (!pe.HasMetadata)
            {
                // Touch the headers so a truncated native PE is reported as unreadable, not as a native binary.
                _ = pe.PEHeaders.CoffHeader.Machine;
                return new[] { Native(file, "PE") };
            }

            return Managed(file, pe);
        }
        catch (Exception e) when (e is BadImageFormatException || e is InvalidOperationException || e is ArgumentException ||
            e is IndexOutOfRangeException || e is OverflowException || e is NotSupportedException)
        {
            return new[] { Unreadable(file, e.Message) };
        }
    }

    private static List<Finding> Managed(PackageFile file, PEReader pe)
    {
        var metadata = pe.GetMetadataReader();
        var findings = new List<Finding>();
        var path = file.Path;

        var modules = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var handle in metadata.MethodDefinitions)
        {
            var import = metadata.GetMethodDefinition(handle).GetImport();
            if (!import.Module.IsNil)
            {
                modules.Add(metadata.GetString(metadata.GetModuleReference(import.Module).Name));
            }
        }

        findings.AddRange(modules.Select(m => new Finding(InspectionCodes.PInvoke, FindingSeverity.Info, path, m, $"calls native library {m} (P/Invoke)")));

        var apis = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var handle in metadata.MemberReferences)
        {
            var member = metadata.GetMemberReference(handle);
            if (member.Parent.Kind != HandleKind.TypeReference)
            {
                continue;
            }

            var type = TypeName(metadata, (TypeReferenceHandle)member.Parent);
            var name = metadata.GetString(member.Name);
            if (type == "System.Diagnostics.Process" && name == "Start")
            {
                apis[type + "." + name] = InspectionCodes.ProcessStart;
            }
        }

        foreach (var handle in metadata.TypeReferences)
        {
            var type = TypeName(metadata, handle);
            if (type.StartsWith("System.Net.Sockets.", StringComparison.Ordinal) || type == "System.Net.Http.HttpClient" ||
                type == "System.Net.WebClient" || type == "System.Net.WebRequest" || type == "System.Net.HttpWebRequest" ||
                type == "System.Net.Http.SocketsHttpHandler" || type == "System.Net.Http.HttpClientHandler")
            {
                apis[type] = InspectionCodes.Network;
            }
            else if (type.StartsWith("System.Reflection.Emit.", StringComparison.Ordinal))
            {
                apis["System.Reflection.Emit"] = InspectionCodes.ReflectionEmit;
            }

            if (ObfuscatorMarkers.Contains(type))
            {
                apis[type] = InspectionCodes.Obfuscated;
            }
        }

        foreach (var handle in metadata.TypeDefinitions)
        {
            var definition = metadata.GetTypeDefinition(handle);
            var ns = metadata.GetString(definition.Namespace);
            var type = ns.Length == 0 ? metadata.GetString(definition.Name) : ns + "." + metadata.GetString(definition.Name);
            if (ObfuscatorMarkers.Contains(type))
            {
                apis[type] = InspectionCodes.Obfuscated;
            }
        }

        foreach (var api in apis)
        {
            findings.Add(new Finding(api.Value, FindingSeverity.Info, path, api.Key, api.Value switch
            {
                InspectionCodes.ProcessStart => "starts processes (System.Diagnostics.Process.Start)",
                InspectionCodes.Network => $"uses the network ({api.Key})",
                InspectionCodes.ReflectionEmit => "emits code at run time (System.Reflection.Emit)",
                _ => $"carries the obfuscator marker {api.Key}",
            }));
        }

        findings.AddRange(Addresses(metadata).Select(a => new Finding(InspectionCodes.EmbeddedAddress, FindingSeverity.Info, path, a, $"embeds the address {a}")));

        if (metadata.IsAssembly)
        {
            var strongNamed = !metadata.GetAssemblyDefinition().PublicKey.IsNil &&
                (pe.PEHeaders.CorHeader!.Flags & CorFlags.StrongNameSigned) != 0;
            if (!strongNamed)
            {
                findings.Add(new Finding(InspectionCodes.NotStrongNamed, FindingSeverity.Info, path, "strong name", "is not strong-named"));
            }
        }

        // A deterministic compilation writes the Reproducible entry: its MVID and time stamp are then a hash of the
        // content, not a random GUID and the clock.
        var debugDirectory = pe.ReadDebugDirectory();
        if (!debugDirectory.Any(d => d.Type == DebugDirectoryEntryType.Reproducible))
        {
            findings.Add(new Finding(InspectionCodes.NotDeterministic, FindingSeverity.Info, path, "deterministic",
                "was not compiled deterministically (no Reproducible debug directory entry; its MVID is not a content hash): it cannot be rebuilt bit for bit"));
        }

        if (MachinePdbPath(pe, debugDirectory) is { } pdbPath)
        {
            // The folder itself is not repeated: reports and attestations name no machine's path (not even the builder's).
            findings.Add(new Finding(InspectionCodes.MachinePath, FindingSeverity.Info, path, "pdb path",
                $"records a folder of the build machine in its PDB path (an absolute path to {pdbPath}, not mapped to /_/ as ContinuousIntegrationBuild does): its bytes depend on where it was checked out"));
        }

        return findings;
    }

    /// <summary>
    /// The PDB file name when the CodeView entry's path is an absolute path of the build machine: not a bare file name and not
    /// below a PathMap root (/_/, /_1/, ...) that deterministic CI builds map the source and output folders to.
    /// </summary>
    private static string? MachinePdbPath(PEReader pe, IEnumerable<DebugDirectoryEntry> debugDirectory)
    {
        foreach (var entry in debugDirectory.Where(d => d.Type == DebugDirectoryEntryType.CodeView))
        {
            string pdbPath;
            try
            {
                pdbPath = pe.ReadCodeViewDebugDirectoryData(entry).Path;
            }
            catch (BadImageFormatException)
            {
                continue; // a malformed entry says nothing about the machine
            }

            var windowsRooted = pdbPath.Length >= 3 && char.IsLetter(pdbPath[0]) && pdbPath[1] == ':' && (pdbPath[2] == '\\' || pdbPath[2] == '/');
            var rooted = pdbPath.StartsWith("/", StringComparison.Ordinal) || pdbPath.StartsWith("\\\\", StringComparison.Ordinal) || windowsRooted;
            if (rooted && !PathMapRoot.IsMatch(pdbPath))
            {
                var name = pdbPath.Substring(pdbPath.LastIndexOfAny(new[] { '/', '\\' }) + 1);
                return name.Length > 260 ? name.Substring(0, 260) + "…" : name;
            }
        }

        return null;
    }

    private static readonly Regex PathMapRoot = new(@"^/_\d*/", RegexOptions.CultureInvariant);

    private static IEnumerable<string> Addresses(MetadataReader metadata)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var handle = MetadataTokens.UserStringHandle(1);
        var heapSize = metadata.GetHeapSize(HeapIndex.UserString);
        while (!handle.IsNil && MetadataTokens.GetHeapOffset(handle) < heapSize && found.Count < 1000)
        {
            var text = metadata.GetUserString(handle);
            foreach (Match match in Url.Matches(text))
            {
                found.Add(match.Value);
            }

            foreach (Match match in IPv4.Matches(text))
            {
                // a.b.c.0 is almost always a version ("4.0.0.0"), not a host.
                if (IPAddress.TryParse(match.Value, out _) && !match.Value.EndsWith(".0", StringComparison.Ordinal) &&
                    match.Value.Split('.').All(o => int.Parse(o, System.Globalization.CultureInfo.InvariantCulture) <= 255))
                {
                    found.Add(match.Value);
                }
            }

            handle = metadata.GetNextHandle(handle);
        }

        return found;
    }

    private static string TypeName(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var type = metadata.GetTypeReference(handle);
        var ns = metadata.GetString(type.Namespace);
        var name = metadata.GetString(type.Name);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private static bool IsElf(byte[] b) => b.Length >= 4 && b[0] == 0x7F && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F';

    private static bool IsMachO(byte[] b)
    {
        if (b.Length < 4)
        {
            return false;
        }

        var magic = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        return magic is 0xFEEDFACE or 0xFEEDFACF or 0xCEFAEDFE or 0xCFFAEDFE or 0xCAFEBABE;
    }

    private static Finding Native(PackageFile file, string format)
    {
        var rid = NativeRid(file.Path);
        return new Finding(InspectionCodes.NativeBinary, FindingSeverity.Info, file.Path, file.Path,
            $"native {format} binary{(rid is null ? string.Empty : " for " + rid)}: machine code the consumer's process can load");
    }

    private static Finding Unreadable(PackageFile file, string reason) =>
        new(InspectionCodes.UnreadableAssembly, FindingSeverity.Error, file.Path, file.Path,
            $"named like a binary but not readable as one ({reason}); what it does cannot be known. Do not use the package.");
}
