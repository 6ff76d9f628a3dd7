using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// A step's <c>cert_constraints</c> entry, as in-toto-golang defines it: which certificates may act as the step's
/// functionary, besides the keys in <c>pubkeys</c>. Each attribute is a list of allowed values; <c>["*"]</c> allows
/// anything, an empty list (or <c>""</c> for the common name) allows nothing, otherwise the certificate's values must
/// be exactly the listed ones. <c>roots</c> names root CAs of the layout's <c>rootcas</c> by keyid. SecureBuild's
/// functionary certificates are X.509-SVIDs, so <c>uris</c> holds SPIFFE IDs, and beyond in-toto-golang (which compares
/// URIs as plain strings) an entry ending in <c>/*</c> allows every ID below that path (<see cref="Spiffe.SpiffePattern"/>).
/// </summary>
public sealed class CertificateConstraint
{
    /// <summary>The value that allows anything.</summary>
    public const string AllowAll = "*";

    public string CommonName { get; set; } = AllowAll;

    public List<string> DnsNames { get; set; } = new() { AllowAll };

    public List<string> Emails { get; set; } = new() { AllowAll };

    public List<string> Organizations { get; set; } = new() { AllowAll };

    /// <summary>Keyids of <c>rootcas</c> the certificate must chain to; <c>["*"]</c>: any of them.</summary>
    public List<string> Roots { get; set; } = new() { AllowAll };

    /// <summary>SPIFFE IDs or <c>spiffe://td/path/*</c> patterns; <c>["*"]</c>: any.</summary>
    public List<string> Uris { get; set; } = new() { AllowAll };

    /// <summary>A constraint that allows the SVIDs of <paramref name="patterns"/>, whatever their other names, from any root.</summary>
    public static CertificateConstraint ForSpiffeIds(IEnumerable<string> patterns) => new() { Uris = patterns.ToList() };

    /// <summary>The constraint in one line, for messages.</summary>
    public override string ToString()
    {
        var parts = new List<string> { "uris: " + string.Join(", ", Uris) };
        if (!IsAny(Roots))
        {
            parts.Add("roots: " + string.Join(", ", Roots.Select(r => r.Length > 8 ? r.Substring(0, 8) : r)));
        }

        if (CommonName != AllowAll)
        {
            parts.Add($"common name: '{CommonName}'");
        }

        foreach (var (name, values) in new[] { ("dns names", DnsNames), ("emails", Emails), ("organizations", Organizations) })
        {
            if (!IsAny(values))
            {
                parts.Add($"{name}: [{string.Join(", ", values)}]");
            }
        }

        return "{" + string.Join("; ", parts) + "}";
    }

    /// <summary>True when <paramref name="values"/> is <c>["*"]</c>.</summary>
    public static bool IsAny(IReadOnlyList<string> values) => values.Count == 1 && values[0] == AllowAll;

    public JsonMap ToJson() => new()
    {
        { "common_name", CommonName },
        { "dns_names", StrictInTotoFields.ToJson(DnsNames) },
        { "emails", StrictInTotoFields.ToJson(Emails) },
        { "organizations", StrictInTotoFields.ToJson(Organizations) },
        { "roots", StrictInTotoFields.ToJson(Roots) },
        { "uris", StrictInTotoFields.ToJson(Uris) },
    };

    /// <summary>
    /// Reads one entry. A missing attribute is what in-toto-golang's JSON decoding leaves it: an empty value (allows
    /// nothing); unknown members are refused.
    /// </summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static CertificateConstraint FromJson(JsonItem node, string path)
    {
        if (node is not JsonMap json)
        {
            throw new InTotoFormatException($"{path}: expected a certificate constraint object, found {StrictInTotoFields.Describe(node)}.");
        }

        StrictJson.AllowedFields(json, path, m => new InTotoFormatException(m), "common_name", "dns_names", "emails", "organizations", "roots", "uris");
        List<string> List(string field) => json.ContainsKey(field) ? StrictInTotoFields.StringList(json, field, path) : new List<string>();
        return new CertificateConstraint
        {
            CommonName = json.ContainsKey("common_name") ? StrictInTotoFields.String(json, "common_name", path) : "",
            DnsNames = List("dns_names"),
            Emails = List("emails"),
            Organizations = List("organizations"),
            Roots = List("roots"),
            Uris = List("uris"),
        };
    }
}
