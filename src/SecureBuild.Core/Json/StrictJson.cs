using SecureBuild.Core.Attestation;

namespace SecureBuild.Core.Json;

/// <summary>
/// The one typed-access helper for strict reading: path-reporting access to parsed JSON for the models SecureBuild
/// checks field by field (DSSE, in-toto statements, Sigstore bundles and trusted roots, and the strict in-toto
/// reader's field checks). Every failure goes through the caller's <c>fail</c> factory, so each model throws its own
/// exception type with a message naming the JSON path. Fields follow proto3 JSON here (an explicit <c>null</c> is an
/// absent field); the strict in-toto reader, where <c>null</c> is a value of the wrong type, keeps that rule in
/// <c>InToto/StrictInTotoFields</c> and shares the rest.
/// </summary>
internal static class StrictJson
{
    public static JsonItem Parse(byte[] utf8, string what, Func<string, Exception> fail)
    {
        if (utf8 is null || utf8.Length == 0)
        {
            throw fail($"{what} is empty.");
        }

        try
        {
            return JsonParser.Parse(utf8);
        }
        catch (JsonFormatException e)
        {
            throw fail($"{what} is not valid JSON: {e.Message}");
        }
    }

    public static JsonMap AsObject(JsonItem node, string path, Func<string, Exception> fail) =>
        node as JsonMap ?? throw fail($"{path} must be a JSON object, found {Describe(node)}.");

    public static void AllowedFields(JsonMap obj, string path, Func<string, Exception> fail, params string[] allowed)
    {
        foreach (var kv in obj)
        {
            if (Array.IndexOf(allowed, kv.Key) < 0)
            {
                throw fail($"{path}: unexpected field \"{kv.Key}\" (allowed: {string.Join(", ", allowed)}).");
            }
        }
    }

    /// <summary>Every one of <paramref name="fields"/> is present (null counts as present) and nothing else is.</summary>
    public static void ExactFields(JsonMap obj, string path, Func<string, Exception> fail, params string[] fields)
    {
        foreach (var field in fields)
        {
            if (!obj.ContainsKey(field))
            {
                throw fail($"{path}: required field \"{field}\" is missing.");
            }
        }

        AllowedFields(obj, path, fail, fields);
    }

    public static JsonItem? Opt(JsonMap obj, string field) =>
        obj.TryGetValue(field, out var v) && v is not JsonNull ? v : null;

    public static JsonItem Req(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        Opt(obj, field) ?? throw fail($"{path}: required field \"{field}\" is missing.");

    public static string ReqString(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        Req(obj, field, path, fail) is JsonString s ? s.Value : throw WrongType(obj, field, path, "a string", fail);

    public static string? OptString(JsonMap obj, string field, string path, Func<string, Exception> fail)
    {
        var node = Opt(obj, field);
        return node is null ? null : node is JsonString s ? s.Value : throw WrongType(obj, field, path, "a string", fail);
    }

    public static JsonMap ReqObject(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        Req(obj, field, path, fail) as JsonMap ?? throw WrongType(obj, field, path, "an object", fail);

    public static JsonMap? OptObject(JsonMap obj, string field, string path, Func<string, Exception> fail)
    {
        var node = Opt(obj, field);
        return node is null ? null : node as JsonMap ?? throw WrongType(obj, field, path, "an object", fail);
    }

    public static JsonList ReqArray(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        Req(obj, field, path, fail) as JsonList ?? throw WrongType(obj, field, path, "an array", fail);

    public static JsonList? OptArray(JsonMap obj, string field, string path, Func<string, Exception> fail)
    {
        var node = Opt(obj, field);
        return node is null ? null : node as JsonList ?? throw WrongType(obj, field, path, "an array", fail);
    }

    /// <summary>A proto3 JSON bytes field: base64 (standard or URL-safe, padding optional).</summary>
    public static byte[] ReqBytes(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        DecodeBase64(ReqString(obj, field, path, fail), $"{path}.{field}", fail);

    public static byte[]? OptBytes(JsonMap obj, string field, string path, Func<string, Exception> fail)
    {
        string? text = OptString(obj, field, path, fail);
        return text is null ? null : DecodeBase64(text, $"{path}.{field}", fail);
    }

    public static byte[] DecodeBase64(string text, string path, Func<string, Exception> fail) =>
        Base64Codec.TryDecode(text, out var bytes, out var error) ? bytes : throw fail($"{path} is not valid base64: {error}.");

    /// <summary>
    /// A proto3 JSON int64/uint64 field: a decimal string (the canonical form) or a JSON integer. Negative values
    /// and anything but plain digits are rejected.
    /// </summary>
    public static long? OptNonNegativeInt64(JsonMap obj, string field, string path, Func<string, Exception> fail)
    {
        var node = Opt(obj, field);
        if (node is null)
        {
            return null;
        }

        string text = node switch
        {
            JsonString s => s.Value,
            JsonNumber n when n.IsInteger => n.RawText,
            _ => throw WrongType(obj, field, path, "an integer (as a decimal string)", fail),
        };
        if (text.Length == 0 || text.Length > 19)
        {
            throw fail($"{path}.{field} must be a non-negative 64-bit integer, found \"{Clip(text)}\".");
        }

        foreach (char c in text)
        {
            if (c < '0' || c > '9')
            {
                throw fail($"{path}.{field} must be a non-negative 64-bit integer, found \"{Clip(text)}\".");
            }
        }

        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value))
        {
            throw fail($"{path}.{field} does not fit in a 64-bit integer.");
        }

        return value;
    }

    public static long ReqNonNegativeInt64(JsonMap obj, string field, string path, Func<string, Exception> fail) =>
        OptNonNegativeInt64(obj, field, path, fail) ?? throw fail($"{path}: required field \"{field}\" is missing.");

    public static string Clip(string s) => s.Length > 80 ? s.Substring(0, 80) + "..." : s;

    public static string Describe(JsonItem? node) => JsonItem.Describe(node);

    private static Exception WrongType(JsonMap obj, string field, string path, string expected, Func<string, Exception> fail) =>
        fail($"{path}.{field} must be {expected}, found {Describe(obj.TryGetValue(field, out var v) ? v : null)}.");
}
