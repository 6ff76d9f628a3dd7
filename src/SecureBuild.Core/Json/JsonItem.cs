using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SecureBuild.Core.Json;

/// <summary>
/// The one JSON DOM: a JSON value, one of <see cref="JsonMap"/> (an object), <see cref="JsonList"/> (an array),
/// <see cref="JsonString"/>, <see cref="JsonNumber"/>, <see cref="JsonBool"/> and <see cref="JsonNull"/>. Maps keep
/// insertion order; serializers decide the output order. The names are not System.Text.Json.Nodes' (JsonNode,
/// JsonObject, JsonArray, JsonValue), so code that uses both never has to qualify one of them.
/// <para>
/// Trees from <see cref="JsonParser.Parse(byte[])"/> are ordinary. Trees from the verifier's
/// <see cref="JsonParser.ParseSigned(byte[])"/> are the same types with two specialisations that make checking a
/// signature over large link files cheap: a parsed string keeps its bytes in the file (decoded when first read,
/// copied as is by <see cref="CanonicalJson"/>), and an object shaped like an in-toto artifact map keeps its entries as
/// slices (<see cref="ArtifactMapSlices"/>), turned into ordinary members only when something asks for them.
/// </para>
/// </summary>
public abstract class JsonItem
{
    private protected JsonItem()
    {
    }

    public static implicit operator JsonItem(string value) => new JsonString(value);

    public static implicit operator JsonItem(long value) => new JsonNumber(value);

    public static implicit operator JsonItem(int value) => new JsonNumber(value);

    public static implicit operator JsonItem(bool value) => value ? JsonBool.True : JsonBool.False;

    /// <summary>Structural equality: same types, same members (object member order ignored), numbers by raw text.</summary>
    public static bool DeepEquals(JsonItem? a, JsonItem? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null)
        {
            return false;
        }

        switch (a)
        {
            case JsonMap oa when b is JsonMap ob:
                if (oa.Count != ob.Count)
                {
                    return false;
                }

                foreach (var kv in oa)
                {
                    if (!ob.TryGetValue(kv.Key, out var other) || !DeepEquals(kv.Value, other))
                    {
                        return false;
                    }
                }

                return true;
            case JsonList aa when b is JsonList ab:
                if (aa.Count != ab.Count)
                {
                    return false;
                }

                for (int i = 0; i < aa.Count; i++)
                {
                    if (!DeepEquals(aa[i], ab[i]))
                    {
                        return false;
                    }
                }

                return true;
            case JsonString sa when b is JsonString sb:
                return string.Equals(sa.Value, sb.Value, StringComparison.Ordinal);
            case JsonNumber na when b is JsonNumber nb:
                return string.Equals(na.RawText, nb.RawText, StringComparison.Ordinal);
            case JsonBool ba when b is JsonBool bb:
                return ba.Value == bb.Value;
            case JsonNull when b is JsonNull:
                return true;
            default:
                return false;
        }
    }

    /// <summary>What kind of value <paramref name="node"/> is, for messages: "an object", "a string", ..., "nothing" for null.</summary>
    public static string Describe(JsonItem? node) => node switch
    {
        null => "nothing",
        JsonMap => "an object",
        JsonList => "an array",
        JsonString => "a string",
        JsonNumber => "a number",
        JsonBool => "a boolean",
        _ => "null",
    };

    /// <summary>A deep copy (strings, numbers, booleans and null are immutable and shared).</summary>
    public abstract JsonItem DeepClone();

    /// <summary>Compact JSON text (sorted keys, ASCII only). For diagnostics.</summary>
    public override string ToString() => JsonText.Write(this, indented: false);
}

/// <summary>A JSON object: an insertion-ordered map from string to <see cref="JsonItem"/>. Keys are unique.</summary>
public sealed class JsonMap : JsonItem, IEnumerable<KeyValuePair<string, JsonItem>>
{
    private List<KeyValuePair<string, JsonItem>>? _members;
    private Dictionary<string, int>? _byKey;

    public JsonMap()
    {
        _members = new();
        _byKey = new(StringComparer.Ordinal);
    }

    /// <summary>An artifact map as parsed by <see cref="JsonParser.ParseSigned(byte[])"/>: members are made on first use.</summary>
    internal JsonMap(ArtifactMapSlices slices)
    {
        Slices = slices;
    }

    /// <summary>
    /// The parsed slices of an artifact-map shaped object (for the canonical writer and the verifier's map), or null.
    /// Null again once the object is changed, so nothing writes stale slices.
    /// </summary>
    internal ArtifactMapSlices? Slices { get; private set; }

    private List<KeyValuePair<string, JsonItem>> Members
    {
        get
        {
            if (_members is null)
            {
                Materialize();
            }

            return _members!;
        }
    }

    private Dictionary<string, int> ByKey
    {
        get
        {
            if (_byKey is null)
            {
                Materialize();
            }

            return _byKey!;
        }
    }

    public JsonMap(IEnumerable<KeyValuePair<string, JsonItem>> members)
        : this()
    {
        foreach (var kv in members)
        {
            Add(kv.Key, kv.Value);
        }
    }

    public int Count => _members?.Count ?? Slices!.Count;

    public IEnumerable<string> Keys => Members.Select(kv => kv.Key);

    /// <summary>Gets a member (throws <see cref="KeyNotFoundException"/> if absent) or sets one (replaces in place or appends).</summary>
    public JsonItem this[string key]
    {
        get
        {
            if (key is null)
            {
                throw new ArgumentNullException(nameof(key));
            }

            if (ByKey.TryGetValue(key, out int i))
            {
                return Members[i].Value;
            }

            throw new KeyNotFoundException($"JSON object has no member \"{key}\".");
        }

        set
        {
            if (key is null)
            {
                throw new ArgumentNullException(nameof(key));
            }

            if (value is null)
            {
                throw new ArgumentNullException(nameof(value));
            }

            Slices = null;
            if (ByKey.TryGetValue(key, out int i))
            {
                Members[i] = new KeyValuePair<string, JsonItem>(key, value);
            }
            else
            {
                ByKey.Add(key, Members.Count);
                Members.Add(new KeyValuePair<string, JsonItem>(key, value));
            }
        }
    }

    /// <summary>Appends a member. Throws <see cref="ArgumentException"/> if the key already exists.</summary>
    public void Add(string key, JsonItem value)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (value is null)
        {
            throw new ArgumentNullException(nameof(value));
        }

        if (ByKey.ContainsKey(key))
        {
            throw new ArgumentException($"JSON object already has a member \"{key}\".", nameof(key));
        }

        Slices = null;
        ByKey.Add(key, Members.Count);
        Members.Add(new KeyValuePair<string, JsonItem>(key, value));
    }

    public bool TryGetValue(string key, [NotNullWhen(true)] out JsonItem? value)
    {
        if (key is not null && ByKey.TryGetValue(key, out int i))
        {
            value = Members[i].Value;
            return true;
        }

        value = null;
        return false;
    }

    public bool ContainsKey(string key) => key is not null && ByKey.ContainsKey(key);

    public bool Remove(string key)
    {
        if (key is null || !ByKey.TryGetValue(key, out int i))
        {
            return false;
        }

        Slices = null;
        Members.RemoveAt(i);
        ByKey.Remove(key);
        for (int j = i; j < Members.Count; j++)
        {
            ByKey[Members[j].Key] = j;
        }

        return true;
    }

    public override JsonItem DeepClone()
    {
        var copy = new JsonMap();
        foreach (var kv in Members)
        {
            copy.Add(kv.Key, kv.Value.DeepClone());
        }

        return copy;
    }

    public IEnumerator<KeyValuePair<string, JsonItem>> GetEnumerator() => Members.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>An object built in code from unique keys, in this order.</summary>
    internal static JsonMap Build(params (string Key, JsonItem Value)[] members)
    {
        var obj = new JsonMap();
        foreach (var (key, value) in members)
        {
            obj.Add(key, value);
        }

        return obj;
    }

    /// <summary>The member's value, or null when there is none (for readers that apply their own defaults).</summary>
    internal JsonItem? Get(string key) => TryGetValue(key, out var value) ? value : null;

    /// <summary>The member at <paramref name="index"/> in insertion order.</summary>
    internal KeyValuePair<string, JsonItem> MemberAt(int index) => Members[index];

    /// <summary>Makes the members of a sliced artifact map and forgets the slices (before the object changes).</summary>
    internal void DetachSlices()
    {
        if (Slices is not null)
        {
            _ = Members;
            Slices = null;
        }
    }

    private void Materialize()
    {
        var members = new List<KeyValuePair<string, JsonItem>>(Slices!.Count);
        var byKey = new Dictionary<string, int>(Slices.Count, StringComparer.Ordinal);
        Slices.Materialize(members);
        for (int i = 0; i < members.Count; i++)
        {
            byKey.Add(members[i].Key, i); // the parser rejected duplicate paths
        }

        _members = members;
        _byKey = byKey;
    }
}

/// <summary>A JSON array.</summary>
public sealed class JsonList : JsonItem, IEnumerable<JsonItem>
{
    private readonly List<JsonItem> _items;

    public JsonList()
        : this(new List<JsonItem>(), owned: true)
    {
    }

    public JsonList(IEnumerable<JsonItem> items)
        : this(new List<JsonItem>(), owned: true)
    {
        foreach (var item in items)
        {
            Add(item);
        }
    }

    public JsonList(params JsonItem[] items)
        : this((IEnumerable<JsonItem>)items)
    {
    }

    /// <summary>Takes <paramref name="items"/> (no nulls, checked by the caller) as its list.</summary>
    internal JsonList(List<JsonItem> items, bool owned)
    {
        _items = owned ? items : new List<JsonItem>(items);
    }

    public int Count => _items.Count;

    public JsonItem this[int index]
    {
        get => _items[index];
        set => _items[index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    public void Add(JsonItem item) => _items.Add(item ?? throw new ArgumentNullException(nameof(item)));

    public void RemoveAt(int index) => _items.RemoveAt(index);

    public override JsonItem DeepClone() => new JsonList(_items.Select(i => i.DeepClone()));

    public IEnumerator<JsonItem> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A JSON string.</summary>
public sealed class JsonString : JsonItem
{
    private readonly byte[]? _source;
    private readonly int _start;
    private readonly int _length;
    private string? _value;

    public JsonString(string value)
    {
        _value = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// A parsed string kept as its content's bytes <c>source[start..start+length)</c>, already validated by the
    /// tokenizer; <paramref name="escaped"/>: the bytes hold escapes (so they are not the value's UTF-8).
    /// </summary>
    internal JsonString(byte[] source, int start, int length, bool escaped)
    {
        _source = source;
        _start = start;
        _length = length;
        IsVerbatim = !escaped;
    }

    public string Value => _value ??= JsonLexer.DecodeString(_source!, _start, _length, !IsVerbatim);

    /// <summary>True when the string's bytes in the parsed file are exactly its UTF-8 value (no escapes).</summary>
    internal bool IsVerbatim { get; }

    /// <summary>For a verbatim string: where its UTF-8 value is in the parsed file.</summary>
    internal void VerbatimBytes(out byte[] source, out int start, out int length)
    {
        source = _source!;
        start = _start;
        length = _length;
    }

    public override JsonItem DeepClone() => this;
}

/// <summary>A JSON number, kept as its raw text so nothing is lost (floats included).</summary>
public sealed class JsonNumber : JsonItem
{
    public JsonNumber(long value)
    {
        RawText = value.ToString(CultureInfo.InvariantCulture);
        IsInteger = true;
    }

    /// <summary>Creates a number from JSON number text such as <c>12</c>, <c>-0.5</c> or <c>1e3</c>.</summary>
    /// <exception cref="JsonFormatException">The text is not a JSON number.</exception>
    public JsonNumber(string rawText)
    {
        if (rawText is null)
        {
            throw new ArgumentNullException(nameof(rawText));
        }

        if (!TryClassify(rawText, out bool isInteger))
        {
            throw new JsonFormatException($"\"{rawText}\" is not a valid JSON number.");
        }

        RawText = rawText;
        IsInteger = isInteger;
    }

    /// <summary>A number the tokenizer has already checked against the grammar.</summary>
    internal JsonNumber(string rawText, bool isInteger)
    {
        RawText = rawText;
        IsInteger = isInteger;
    }

    /// <summary>The number exactly as written in the source (or as formatted from a long).</summary>
    public string RawText { get; }

    /// <summary>True when the text has no fraction and no exponent (any magnitude).</summary>
    public bool IsInteger { get; }

    /// <summary>The value as a long.</summary>
    /// <exception cref="JsonFormatException">Not an integer, or outside the range of long.</exception>
    public long AsInt64()
    {
        if (!IsInteger)
        {
            throw new JsonFormatException($"JSON number {RawText} is not an integer.");
        }

        if (!long.TryParse(RawText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            throw new JsonFormatException($"JSON number {RawText} does not fit in a 64-bit integer.");
        }

        return value;
    }

    public override JsonItem DeepClone() => this;

    /// <summary>Checks the RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</summary>
    internal static bool TryClassify(string s, out bool isInteger)
    {
        isInteger = false;
        int i = 0;
        int n = s.Length;
        if (i < n && s[i] == '-')
        {
            i++;
        }

        if (i >= n)
        {
            return false;
        }

        if (s[i] == '0')
        {
            i++;
        }
        else if (s[i] >= '1' && s[i] <= '9')
        {
            while (i < n && s[i] >= '0' && s[i] <= '9')
            {
                i++;
            }
        }
        else
        {
            return false;
        }

        bool integer = true;
        if (i < n && s[i] == '.')
        {
            integer = false;
            i++;
            int start = i;
            while (i < n && s[i] >= '0' && s[i] <= '9')
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i < n && (s[i] == 'e' || s[i] == 'E'))
        {
            integer = false;
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-'))
            {
                i++;
            }

            int start = i;
            while (i < n && s[i] >= '0' && s[i] <= '9')
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i != n)
        {
            return false;
        }

        isInteger = integer;
        return true;
    }
}

/// <summary>JSON <c>true</c> / <c>false</c>.</summary>
public sealed class JsonBool : JsonItem
{
    public static readonly JsonBool True = new(true);
    public static readonly JsonBool False = new(false);

    public JsonBool(bool value)
    {
        Value = value;
    }

    public bool Value { get; }

    public override JsonItem DeepClone() => this;
}

/// <summary>JSON <c>null</c>.</summary>
public sealed class JsonNull : JsonItem
{
    public static readonly JsonNull Instance = new();

    public JsonNull()
    {
    }

    public override JsonItem DeepClone() => this;
}
