using System.Collections.Immutable;
using System.IO.Compression;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace SecureBuild.Inspection.Tests;

/// <summary>Builds the test inputs: zips entry by entry (duplicates and unsafe names included) and assemblies with Roslyn.</summary>
public static class Packages
{
    private static readonly ImmutableArray<MetadataReference> References =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is "System.Runtime.dll" or "System.Private.CoreLib.dll" or "System.Diagnostics.Process.dll"
                or "System.Net.Http.dll" or "System.Net.Sockets.dll" or "System.Net.Primitives.dll" or "System.ComponentModel.Primitives.dll"
                or "System.Private.Uri.dll" or "System.Console.dll" or "System.Threading.Tasks.dll" or "System.Reflection.Emit.dll" or "System.Reflection.Emit.Lightweight.dll" or "System.Runtime.InteropServices.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();

    /// <summary>A library that can do nothing worth reporting.</summary>
    public static readonly byte[] SmallLibrary = Assembly("P", "public static class C { public static int F() => 1; }");

    /// <summary>A zip of the entries in order, names stored as given.</summary>
    public static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                using var stream = entry.Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The zip with one more entry, stored, appended after the others without rewriting a byte of them, as a repository
    /// signing a package appends `.signature.p7s` (the zip must have no archive comment).
    /// </summary>
    public static byte[] AppendStored(byte[] zip, string name, byte[] content)
    {
        var end = zip.Length - 22;
        if (BitConverter.ToUInt32(zip, end) != 0x06054B50)
        {
            throw new ArgumentException("not a zip without an archive comment", nameof(zip));
        }

        var entries = BitConverter.ToUInt16(zip, end + 10);
        var directorySize = BitConverter.ToInt32(zip, end + 12);
        var directoryOffset = BitConverter.ToInt32(zip, end + 16);
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        var crc = Crc32(content);
        using var output = new MemoryStream();
        using var writer = new BinaryWriter(output);
        writer.Write(zip, 0, directoryOffset);
        writer.Write(0x04034B50u); writer.Write((ushort)20); writer.Write((ushort)0); writer.Write((ushort)0);
        writer.Write((ushort)0); writer.Write((ushort)0x21); writer.Write(crc); writer.Write(content.Length); writer.Write(content.Length);
        writer.Write((ushort)nameBytes.Length); writer.Write((ushort)0); writer.Write(nameBytes); writer.Write(content);
        var newDirectoryOffset = (int)output.Position;
        writer.Write(zip, directoryOffset, directorySize);
        writer.Write(0x02014B50u); writer.Write((ushort)20); writer.Write((ushort)20); writer.Write((ushort)0); writer.Write((ushort)0);
        writer.Write((ushort)0); writer.Write((ushort)0x21); writer.Write(crc); writer.Write(content.Length); writer.Write(content.Length);
        writer.Write((ushort)nameBytes.Length); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write((ushort)0);
        writer.Write(0u); writer.Write(directoryOffset); writer.Write(nameBytes);
        var newDirectorySize = (int)output.Position - newDirectoryOffset;
        writer.Write(0x06054B50u); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write((ushort)(entries + 1)); writer.Write((ushort)(entries + 1));
        writer.Write(newDirectorySize); writer.Write(newDirectoryOffset); writer.Write((ushort)0);
        writer.Flush();
        return output.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>A minimal nuspec.</summary>
    public static byte[] Nuspec(string id, string version, params string[] dependencies) => Text(
        $"""
        <?xml version="1.0" encoding="utf-8"?>
        <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
          <metadata>
            <id>{id}</id>
            <version>{version}</version>
            <authors>test</authors>
            <description>test</description>
            <dependencies><group targetFramework="net8.0">{string.Concat(dependencies.Select(d => $"<dependency id=\"{d}\" version=\"1.0.0\" />"))}</group></dependencies>
          </metadata>
        </package>
        """);

    /// <summary>An MSBuild project file with <paramref name="body"/> inside a target.</summary>
    public static byte[] Targets(string body) => Text(
        $"""
        <Project>
          <Target Name="Sample" BeforeTargets="Build">
            {body}
          </Target>
        </Project>
        """);

    public static byte[] Text(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    /// <summary>Compiles <paramref name="code"/> into a library.</summary>
    public static byte[] Assembly(string name, string code, bool deterministic = true, string? pdbPath = null)
    {
        var compilation = CSharpCompilation.Create(name, new[] { CSharpSyntaxTree.ParseText(code) }, References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, deterministic: deterministic, allowUnsafe: true));
        using var dll = new MemoryStream();
        // An embedded PDB's CodeView entry holds only the file name; a separate PDB's holds the path as given.
        using var pdb = pdbPath is null ? null : new MemoryStream();
        var format = pdbPath is null ? Microsoft.CodeAnalysis.Emit.DebugInformationFormat.Embedded : Microsoft.CodeAnalysis.Emit.DebugInformationFormat.PortablePdb;
        var emit = compilation.Emit(dll, pdb, options: new Microsoft.CodeAnalysis.Emit.EmitOptions(debugInformationFormat: format, pdbFilePath: pdbPath));
        if (!emit.Success)
        {
            throw new InvalidOperationException(string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }

        return dll.ToArray();
    }

    /// <summary>The first bytes of an ELF shared object: enough for the magic number.</summary>
    public static byte[] Elf() => new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3E, 0 };
}
