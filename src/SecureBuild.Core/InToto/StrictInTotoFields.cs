using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// Field access for the strict in-toto reader (<see cref="Link.FromJson"/>, <see cref="Layout.FromJson"/>,
/// <see cref="Metablock"/>: what SecureBuild signs), over the one typed-access helper <see cref="StrictJson"/>.
/// Throws <see cref="InTotoFormatException"/> with the JSON path. Unlike proto3 JSON, <c>null</c> is a value here (of
/// the wrong type for every in-toto field), and type errors read "path: expected X, found Y".
/// </summary>
internal static class StrictInTotoFields
{
    public static void ExactFields(JsonMap obj, string path, params string[] fields) =>
        StrictJson.ExactFields(obj, path, Fail, fields);

    public static void ExpectType(JsonMap obj, string path, string expected)
    {
        string actual = String(obj, "_type", path);
        if (actual != expected)
        {
            throw new InTotoFormatException($"{path}: \"_type\" is \"{actual}\", expected \"{expected}\".");
        }
    }

    public static string String(JsonMap obj, string field, string path) =>
        Get(obj, field, path) is JsonString s ? s.Value : throw WrongType(path, field, "a string", obj[field]);

    public static JsonMap Object(JsonMap obj, string field, string path) =>
        Get(obj, field, path) is JsonMap o ? o : throw WrongType(path, field, "an object", obj[field]);

    public static JsonList Array(JsonMap obj, string field, string path) =>
        Get(obj, field, path) is JsonList a ? a : throw WrongType(path, field, "an array", obj[field]);

    public static long Integer(JsonMap obj, string field, string path)
    {
        if (Get(obj, field, path) is JsonNumber { IsInteger: true } n)
        {
            try
            {
                return n.AsInt64();
            }
            catch (JsonFormatException e)
            {
                throw new InTotoFormatException($"{path}.{field}: {e.Message}", e);
            }
        }

        throw WrongType(path, field, "an integer", obj[field]);
    }

    public static List<string> StringList(JsonMap obj, string field, string path) =>
        StringList(Array(obj, field, path), $"{path}.{field}");

    public static List<string> StringList(JsonList array, string path)
    {
        var result = new List<string>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonString s)
            {
                throw new InTotoFormatException($"{path}[{i}]: expected a string, found {Describe(array[i])}.");
            }

            result.Add(s.Value);
        }

        return result;
    }

    public static List<IReadOnlyList<string>> Rules(JsonMap obj, string field, string path)
    {
        var array = Array(obj, field, path);
        var rules = new List<IReadOnlyList<string>>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonList rule)
            {
                throw new InTotoFormatException($"{path}.{field}[{i}]: an artifact rule must be a list of strings, found {Describe(array[i])}.");
            }

            var parts = StringList(rule, $"{path}.{field}[{i}]");
            if (parts.Count == 0)
            {
                throw new InTotoFormatException($"{path}.{field}[{i}]: an artifact rule must not be empty.");
            }

            rules.Add(parts);
        }

        return rules;
    }

    /// <summary>A hash dict {algorithm: hex}.</summary>
    public static Dictionary<string, string> HashDict(JsonItem node, string path)
    {
        if (node is not JsonMap obj)
        {
            throw new InTotoFormatException($"{path}: expected a hash object like {{\"sha256\": \"<hex>\"}}, found {Describe(node)}.");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in obj)
        {
            if (kv.Value is not JsonString s || !Hex.IsHex(s.Value))
            {
                throw new InTotoFormatException($"{path}.{kv.Key}: a hash value must be a non-empty hex string.");
            }

            result.Add(kv.Key, s.Value);
        }

        return result;
    }

    /// <summary>Each element's text: a string as it is, anything else as its JSON (for lists in-toto leaves untyped).</summary>
    public static List<string> Texts(JsonList list)
    {
        var result = new List<string>(list.Count);
        foreach (var item in list)
        {
            result.Add(item is JsonString s ? s.Value : JsonText.Write(item, indented: false).TrimEnd('\n'));
        }

        return result;
    }

    public static JsonList ToJson(IEnumerable<string> strings) => new(strings.Select(s => (JsonItem)s));

    public static JsonList ToJson(IEnumerable<IReadOnlyList<string>> rules) => new(rules.Select(r => (JsonItem)ToJson(r)));

    public static string Describe(JsonItem node) => JsonItem.Describe(node);

    private static JsonItem Get(JsonMap obj, string field, string path) =>
        obj.TryGetValue(field, out var node) ? node : throw new InTotoFormatException($"{path}: required field \"{field}\" is missing.");

    private static InTotoFormatException WrongType(string path, string field, string expected, JsonItem actual) =>
        new($"{path}.{field}: expected {expected}, found {Describe(actual)}.");

    private static Exception Fail(string message) => new InTotoFormatException(message);
}
