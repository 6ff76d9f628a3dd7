using System.Globalization;
using System.Text.RegularExpressions;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The "signed" part of a classic in-toto v0.9 layout (_type, expires, readme, keys, steps, inspect). The one layout
/// model: SecureBuild writes it, the strict reader (<see cref="StrictInTotoReader"/>) and the verifier's
/// reference-compatible reader both read into it.
/// </summary>
public sealed class Layout
{
    /// <summary>The only accepted "expires" format (in-toto rejects fractions and offsets).</summary>
    public const string ExpiresFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    private static readonly Regex ExpiresPattern = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", RegexOptions.CultureInvariant);

    /// <summary>Expiry, written as UTC "yyyy-MM-ddTHH:mm:ssZ" (fractions of a second are dropped).</summary>
    public DateTimeOffset Expires { get; set; } = new DateTimeOffset(DateTime.UtcNow.Date.AddYears(1), TimeSpan.Zero);

    public string Readme { get; set; } = "";

    /// <summary>Functionary keys: keyid -> public key.</summary>
    public SortedDictionary<string, PublicKey> Keys { get; set; } = new(StringComparer.Ordinal);

    public List<Step> Steps { get; set; } = new();

    /// <summary>The layout's "inspect" list.</summary>
    public List<Inspection> Inspect { get; set; } = new();

    /// <summary>
    /// Root CAs for certificate functionaries (in-toto-golang's <c>rootcas</c>): keyid -> CA. Written only when not
    /// empty, so a layout without certificate functionaries is the classic v0.9 layout.
    /// </summary>
    public SortedDictionary<string, LayoutCertificate> RootCas { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Intermediate CAs a functionary certificate may chain through (<c>intermediatecas</c>); written only when not empty.</summary>
    public SortedDictionary<string, LayoutCertificate> IntermediateCas { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// keyid -> key object, as written when the reference reader read the layout (it is signed as written, and may
    /// hold keys SecureBuild cannot use, such as GPG keys, which <see cref="Keys"/> has no form for); otherwise the
    /// key objects of <see cref="Keys"/>.
    /// </summary>
    internal JsonMap KeyObjects
    {
        get
        {
            if (_keyObjects is not null)
            {
                return _keyObjects;
            }

            var keys = new JsonMap();
            foreach (var kv in Keys)
            {
                keys.Add(kv.Key, kv.Value.ToKeyObject());
            }

            return keys;
        }

        set => _keyObjects = value;
    }

    private JsonMap? _keyObjects;

    /// <summary>
    /// "expires" as written, or null when the reference reader found none (in-toto then signs and uses "now + 1
    /// month", which <see cref="Expires"/> holds, and the layout never counts as expired).
    /// </summary>
    internal string? ExpiresText { get; set; }

    /// <summary>Adds (or replaces) a functionary key under its keyid and returns the keyid.</summary>
    public string AddKey(PublicKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        Keys[key.KeyId] = key;
        return key.KeyId;
    }

    public static string FormatExpires(DateTimeOffset value) =>
        value.ToUniversalTime().ToString(ExpiresFormat, CultureInfo.InvariantCulture);

    /// <exception cref="InTotoFormatException">Not exactly "yyyy-MM-ddTHH:mm:ssZ".</exception>
    public static DateTimeOffset ParseExpires(string text)
    {
        if (text is null || !ExpiresPattern.IsMatch(text)
            || !DateTimeOffset.TryParseExact(text, ExpiresFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new InTotoFormatException($"layout.expires: \"{text}\" is not a date in the format YYYY-MM-DDTHH:MM:SSZ (UTC, no fractions, no offset).");
        }

        return value;
    }

    public JsonMap ToJson()
    {
        var keys = new JsonMap();
        foreach (var kv in Keys)
        {
            if (kv.Key != kv.Value.KeyId)
            {
                throw new InTotoFormatException($"layout.keys: entry \"{kv.Key}\" holds the key {kv.Value.KeyId}; the map key must be the keyid.");
            }

            keys.Add(kv.Key, kv.Value.ToKeyObject());
        }

        var json = new JsonMap
        {
            { "_type", "layout" },
            { "expires", FormatExpires(Expires) },
            { "inspect", new JsonList(Inspect.Select(i => (JsonItem)i.ToJson())) },
            { "keys", keys },
            { "readme", Readme },
            { "steps", new JsonList(Steps.Select(s => (JsonItem)s.ToJson())) },
        };
        if (RootCas.Count > 0)
        {
            json.Add("rootcas", CertificatesToJson(RootCas));
        }

        if (IntermediateCas.Count > 0)
        {
            json.Add("intermediatecas", CertificatesToJson(IntermediateCas));
        }

        return json;
    }

    /// <summary>Adds (or replaces) a root CA for certificate functionaries and returns its keyid.</summary>
    public string AddRootCa(LayoutCertificate ca)
    {
        RootCas[ca.KeyId] = ca;
        return ca.KeyId;
    }

    private static JsonMap CertificatesToJson(SortedDictionary<string, LayoutCertificate> cas)
    {
        var json = new JsonMap();
        foreach (var kv in cas)
        {
            json.Add(kv.Key, kv.Value.ToKeyObject());
        }

        return json;
    }

    /// <summary>Strict: every field present, no extra fields, right types, keys consistent with their keyids (<see cref="StrictInTotoReader.ReadLayout"/>).</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Layout FromJson(JsonMap signed) => StrictInTotoReader.ReadLayout(signed);
}

/// <summary>
/// What a step and an inspection share (in-toto's SupplyChainItem): a name, unique within the layout, and the artifact
/// rules for the materials and products of its link.
/// </summary>
public abstract class SupplyChainItem
{
    private List<IReadOnlyList<string>> _expectedMaterials = new();
    private List<IReadOnlyList<string>> _expectedProducts = new();
    private List<ArtifactRule>? _materialRules;
    private List<ArtifactRule>? _productRules;

    private protected SupplyChainItem(string name)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
    }

    public string Name { get; set; }

    /// <summary>Artifact rules, each a list of strings such as ["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", "restore"].</summary>
    public List<IReadOnlyList<string>> ExpectedMaterials
    {
        get => _expectedMaterials;
        set
        {
            _expectedMaterials = value ?? throw new ArgumentNullException(nameof(value));
            _materialRules = null;
        }
    }

    /// <inheritdoc cref="ExpectedMaterials"/>
    public List<IReadOnlyList<string>> ExpectedProducts
    {
        get => _expectedProducts;
        set
        {
            _expectedProducts = value ?? throw new ArgumentNullException(nameof(value));
            _productRules = null;
        }
    }

    /// <summary>
    /// The parsed <see cref="ExpectedMaterials"/>: as the reference reader parsed them (it reports bad rules as it
    /// reads), or parsed now.
    /// </summary>
    /// <exception cref="FormatException">A rule that does not parse.</exception>
    internal List<ArtifactRule> MaterialRules => _materialRules ?? _expectedMaterials.Select(ArtifactRule.Parse).ToList();

    /// <summary>The parsed <see cref="ExpectedProducts"/> (see <see cref="MaterialRules"/>).</summary>
    /// <exception cref="FormatException">A rule that does not parse.</exception>
    internal List<ArtifactRule> ProductRules => _productRules ?? _expectedProducts.Select(ArtifactRule.Parse).ToList();

    /// <summary>Sets both rule lists with the parsed form the reader already made of them.</summary>
    internal void SetRules((List<IReadOnlyList<string>> Written, List<ArtifactRule> Parsed) materials, (List<IReadOnlyList<string>> Written, List<ArtifactRule> Parsed) products)
    {
        ExpectedMaterials = materials.Written;
        ExpectedProducts = products.Written;
        _materialRules = materials.Parsed;
        _productRules = products.Parsed;
    }
}

/// <summary>
/// A command list of a step or inspection: the strings the model works with, and the JSON list as the reference reader
/// read it (in-toto only requires a list), which setting the strings forgets.
/// </summary>
internal sealed class CommandField
{
    private List<string> _texts = new();
    private JsonList? _asWritten;

    public List<string> Texts
    {
        get => _texts;
        set
        {
            _texts = value ?? throw new ArgumentNullException(nameof(value));
            _asWritten = null;
        }
    }

    public JsonList AsWritten
    {
        get => _asWritten ?? StrictInTotoFields.ToJson(_texts);
        set
        {
            _texts = StrictInTotoFields.Texts(value);
            _asWritten = value;
        }
    }
}

/// <summary>A layout step.</summary>
public sealed class Step : SupplyChainItem
{
    private readonly CommandField _expectedCommand = new();

    public Step()
        : this("")
    {
    }

    public Step(string name)
        : base(name)
    {
    }

    /// <summary>Keyids of the functionaries authorized for this step.</summary>
    public List<string> PubKeys { get; set; } = new();

    /// <summary>How many functionaries must have performed the step (the strict reader allows 1 to int.MaxValue).</summary>
    public long Threshold { get; set; } = 1;

    /// <summary>
    /// Certificates that may act as functionaries besides <see cref="PubKeys"/> (in-toto-golang's <c>cert_constraints</c>;
    /// SecureBuild: X.509-SVIDs by SPIFFE ID); written only when not empty.
    /// </summary>
    public List<CertificateConstraint> CertConstraints { get; set; } = new();

    public List<string> ExpectedCommand
    {
        get => _expectedCommand.Texts;
        set => _expectedCommand.Texts = value;
    }

    /// <summary>
    /// "expected_command" as written when the reference reader read the step (in-toto 1.3.1 only requires a list; it
    /// compares it to a link's command with Python's ==); otherwise the JSON of <see cref="ExpectedCommand"/>.
    /// </summary>
    internal JsonList ExpectedCommandAsWritten
    {
        get => _expectedCommand.AsWritten;
        set => _expectedCommand.AsWritten = value;
    }

    public JsonMap ToJson()
    {
        var json = new JsonMap
        {
            { "_type", "step" },
            { "expected_command", StrictInTotoFields.ToJson(ExpectedCommand) },
            { "expected_materials", StrictInTotoFields.ToJson(ExpectedMaterials) },
            { "expected_products", StrictInTotoFields.ToJson(ExpectedProducts) },
            { "name", Name },
            { "pubkeys", StrictInTotoFields.ToJson(PubKeys) },
            { "threshold", Threshold },
        };
        if (CertConstraints.Count > 0)
        {
            json.Add("cert_constraints", new JsonList(CertConstraints.Select(c => (JsonItem)c.ToJson())));
        }

        return json;
    }

    public static Step FromJson(JsonMap json) => StrictInTotoReader.ReadStep(json, "step");
}

/// <summary>A layout inspection (a command the verifier runs).</summary>
public sealed class Inspection : SupplyChainItem
{
    private readonly CommandField _run = new();

    public Inspection()
        : this("")
    {
    }

    public Inspection(string name)
        : base(name)
    {
    }

    public List<string> Run
    {
        get => _run.Texts;
        set => _run.Texts = value;
    }

    /// <summary>
    /// "run" as written when the reference reader read the inspection (in-toto 1.3.1 only requires a list; an element
    /// that is not a string fails when the inspection runs); otherwise the JSON of <see cref="Run"/>.
    /// </summary>
    internal JsonList RunAsWritten
    {
        get => _run.AsWritten;
        set => _run.AsWritten = value;
    }

    public JsonMap ToJson() => new()
    {
        { "_type", "inspection" },
        { "expected_materials", StrictInTotoFields.ToJson(ExpectedMaterials) },
        { "expected_products", StrictInTotoFields.ToJson(ExpectedProducts) },
        { "name", Name },
        { "run", StrictInTotoFields.ToJson(Run) },
    };

    public static Inspection FromJson(JsonMap json) => StrictInTotoReader.ReadInspection(json, "inspection");
}
