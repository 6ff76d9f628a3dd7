using System.Xml;
using System.Xml.Linq;

namespace SecureBuild.Core.IO;

/// <summary>
/// Parses XML that came from somewhere untrusted (a package's nuspec or .targets): no DTD is processed (a document with
/// one is refused, so no entity expansion and no external entity), nothing is resolved, and the document is bounded.
/// </summary>
public static class XmlInput
{
    /// <summary>The most characters a document may hold (16 Mi, far above any real nuspec or .targets file).</summary>
    public const long MaxCharacters = 16L << 20;

    /// <summary>Parses <paramref name="bytes"/>.</summary>
    /// <exception cref="XmlException">Not well-formed, has a DTD, or is too large.</exception>
    public static XDocument Parse(byte[] bytes)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxCharacters,
            MaxCharactersFromEntities = 0,
            CloseInput = true,
        };
        using var reader = XmlReader.Create(new MemoryStream(bytes, writable: false), settings);
        return XDocument.Load(reader, LoadOptions.None);
    }
}
