using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SecureBuild.Core.Json;

/// <summary>A JSON value. Objects keep insertion order; serializers decide the output order.</summary>
public abstract class JsonNode
{
    private protected JsonNode()
    {
    }

    public static implicit operator JsonNode(string value) => new JsonString(value);

    public static implicit operator JsonNode(long value) => new JsonNumber(value);

    public static implicit operator JsonNode(int value) => new JsonNumber(value);

    public static implicit operator JsonNode(bool value) => value ? JsonBool.True : JsonBool.False;

    /// <summary>Structural equality: same types, same members (object member order ignored), numbers by raw text.</summary>
    public static bool DeepEquals(JsonNode? a, JsonNode? b)
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
            case JsonObject oa when b is JsonObject ob:
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
            case JsonArray aa when b is JsonArray ab:
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

    /// <summary>A deep copy (strings, numbers, booleans and null are immutable and shared).</summary>
    public abstract JsonNode DeepClone();

    /// <summary>Compact JSON text (sorted keys, ASCII only). For diagnostics.</summary>
    public override string ToString() => JsonText.Write(this, indented: false);
}

/// <summary>A JSON object: an insertion-ordered map from string to <see cref="JsonNode"/>. Keys are unique.</summary>
public sealed class JsonObject : JsonNode, IEnumerable<KeyValuePair<string, JsonNode>>
{
    private readonly List<KeyValuePair<string, JsonNode>> _items = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public JsonObject()
    {
    }

    public JsonObject(IEnumerable<KeyValuePair<string, JsonNode>> members)
    {
        foreach (var kv in members)
        {
            Add(kv.Key, kv.Value);
        }
    }

    public int Count => _items.Count;

    public IEnumerable<string> Keys => _items.Select(kv => kv.Key);

    /// <summary>Gets a member (throws <see cref="KeyNotFoundException"/> if absent) or sets one (replaces in place or appends).</summary>
    public JsonNode this[string key]
    {
        get
        {
            if (key is null)
            {
                throw new ArgumentNullException(nameof(key));
            }

            if (_index.TryGetValue(key, out int i))
            {
                return _items[i].Value;
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

            if (_index.TryGetValue(key, out int i))
            {
                _items[i] = new KeyValuePair<string, JsonNode>(key, value);
            }
            else
            {
                _index.Add(key, _items.Count);
                _items.Add(new KeyValuePair<string, JsonNode>(key, value));
            }
        }
    }

    /// <summary>Appends a member. Throws <see cref="ArgumentException"/> if the key already exists.</summary>
    public void Add(string key, JsonNode value)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (value is null)
        {
            throw new ArgumentNullException(nameof(value));
        }

        if (_index.ContainsKey(key))
        {
            throw new ArgumentException($"JSON object already has a member \"{key}\".", nameof(key));
        }

        _index.Add(key, _items.Count);
        _items.Add(new KeyValuePair<string, JsonNode>(key, value));
    }

    public bool TryGetValue(string key, [NotNullWhen(true)] out JsonNode? value)
    {
        if (key is not null && _index.TryGetValue(key, out int i))
        {
            value = _items[i].Value;
            return true;
        }

        value = null;
        return false;
    }

    public bool ContainsKey(string key) => key is not null && _index.ContainsKey(key);

    public bool Remove(string key)
    {
        if (key is null || !_index.TryGetValue(key, out int i))
        {
            return false;
        }

        _items.RemoveAt(i);
        _index.Remove(key);
        for (int j = i; j < _items.Count; j++)
        {
            _index[_items[j].Key] = j;
        }

        return true;
    }

    public override JsonNode DeepClone()
    {
        var copy = new JsonObject();
        foreach (var kv in _items)
        {
            copy.Add(kv.Key, kv.Value.DeepClone());
        }

        return copy;
    }

    public IEnumerator<KeyValuePair<string, JsonNode>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A JSON array.</summary>
public sealed class JsonArray : JsonNode, IEnumerable<JsonNode>
{
    private readonly List<JsonNode> _items = new();

    public JsonArray()
    {
    }

    public JsonArray(IEnumerable<JsonNode> items)
    {
        foreach (var item in items)
        {
            Add(item);
        }
    }

    public JsonArray(params JsonNode[] items)
        : this((IEnumerable<JsonNode>)items)
    {
    }

    public int Count => _items.Count;

    public JsonNode this[int index]
    {
        get => _items[index];
        set => _items[index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    public void Add(JsonNode item) => _items.Add(item ?? throw new ArgumentNullException(nameof(item)));

    public void RemoveAt(int index) => _items.RemoveAt(index);

    public override JsonNode DeepClone() => new JsonArray(_items.Select(i => i.DeepClone()));

    public IEnumerator<JsonNode> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A JSON string.</summary>
public sealed class JsonString : JsonNode
{
    public JsonString(string value)
    {
        Value = value ?? throw new ArgumentNullException(nameof(value));
    }

    public string Value { get; }

    public override JsonNode DeepClone() => this;
}

/// <summary>A JSON number, kept as its raw text so nothing is lost (floats included).</summary>
public sealed class JsonNumber : JsonNode
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

    public override JsonNode DeepClone() => this;

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
public sealed class JsonBool : JsonNode
{
    public static readonly JsonBool True = new(true);
    public static readonly JsonBool False = new(false);

    public JsonBool(bool value)
    {
        Value = value;
    }

    public bool Value { get; }

    public override JsonNode DeepClone() => this;
}

/// <summary>JSON <c>null</c>.</summary>
public sealed class JsonNull : JsonNode
{
    public static readonly JsonNull Instance = new();

    public JsonNull()
    {
    }

    public override JsonNode DeepClone() => this;
}
