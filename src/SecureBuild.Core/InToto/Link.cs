using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The "signed" part of a classic in-toto v0.9 link: _type, name, command, materials, products, byproducts and
/// environment. The one link model: SecureBuild records it, the strict reader (<see cref="StrictInTotoReader"/>, for
/// what SecureBuild signs) and the reference-compatible reader of the verifier (what in-toto-verify accepts) both read
/// into it.
/// </summary>
public sealed class Link
{
    private string _name = "";
    private IReadOnlyList<string> _command = Array.Empty<string>();
    private ArtifactMap _materials = new();
    private ArtifactMap _products = new();
    private JsonMap _byproducts = new();
    private JsonMap _environment = new();
    private JsonItem? _nameAsWritten;
    private JsonList? _commandAsWritten;

    public Link()
    {
    }

    public Link(string name)
    {
        Name = name;
    }

    /// <summary>Step (or inspection) name.</summary>
    public string Name
    {
        get => _name;
        set
        {
            _name = value ?? throw new ArgumentNullException(nameof(value));
            _nameAsWritten = null;
        }
    }

    /// <summary>The command that ran (empty when nothing ran, like in-toto-run -x).</summary>
    public IReadOnlyList<string> Command
    {
        get => _command;
        set
        {
            _command = value ?? throw new ArgumentNullException(nameof(value));
            _commandAsWritten = null;
        }
    }

    /// <summary>Artifact path ("/" separated, relative) -> hash dict such as {"sha256": "&lt;hex&gt;"}.</summary>
    public ArtifactMap Materials
    {
        get => _materials;
        set => _materials = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <inheritdoc cref="Materials"/>
    public ArtifactMap Products
    {
        get => _products;
        set => _products = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Free-form; in-toto-run writes {"return-value": int, "stderr": str, "stdout": str}, or {} with -x.</summary>
    public JsonMap Byproducts
    {
        get => _byproducts;
        set => _byproducts = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Free-form; {} from the in-toto CLI.</summary>
    public JsonMap Environment
    {
        get => _environment;
        set => _environment = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// "name" as written. in-toto 1.3.1 does not check its type, so the reference reader keeps a name that is not a
    /// string here (<see cref="Name"/> is then ""); the verifier warns about it. Otherwise the JSON of <see cref="Name"/>.
    /// </summary>
    internal JsonItem NameAsWritten
    {
        get => _nameAsWritten ?? new JsonString(_name);
        set
        {
            _name = value is JsonString s ? s.Value : "";
            _nameAsWritten = value;
        }
    }

    /// <summary>The name when "name" is a string, else null.</summary>
    internal string? NameText => NameAsWritten is JsonString s ? s.Value : null;

    /// <summary>
    /// "command" as written: in-toto 1.3.1 only requires a list, so the reference reader keeps elements that are not
    /// strings here (they are compared with Python's == against the expected command). <see cref="Command"/> holds
    /// the strings, and the JSON text of any other element.
    /// </summary>
    internal JsonList CommandAsWritten
    {
        get => _commandAsWritten ?? StrictInTotoFields.ToJson(_command);
        set
        {
            _command = StrictInTotoFields.Texts(value);
            _commandAsWritten = value;
        }
    }

    /// <summary>Materials or products, by the name an artifact rule uses ("materials" / "products").</summary>
    internal ArtifactMap Side(string side) => side == "materials" ? _materials : _products;

    /// <summary>The 7 link fields; none is ever dropped, even when empty. Byproducts/environment are deep-copied.</summary>
    public JsonMap ToJson() => new()
    {
        { "_type", "link" },
        { "byproducts", _byproducts.DeepClone() },
        { "command", CommandAsWritten },
        { "environment", _environment.DeepClone() },
        { "materials", _materials.ToJson() },
        { "name", NameAsWritten },
        { "products", _products.ToJson() },
    };

    /// <summary>Strict: exactly the 7 fields with the right types and _type "link" (<see cref="StrictInTotoReader.ReadLink"/>).</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Link FromJson(JsonMap signed) => StrictInTotoReader.ReadLink(signed);
}
