using System.Globalization;
using System.Numerics;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// How Python sees parsed JSON values, where in-toto-verify's behaviour depends on it: <c>==</c> between two values
/// (integers by value, so <c>1</c> equals <c>1</c> however written) and truthiness.
/// </summary>
internal static class PythonValues
{
    /// <summary>Python equality of two parsed JSON values (numbers by value for integers, by text otherwise).</summary>
    public static bool Equal(JsonItem a, JsonItem b)
    {
        switch (a)
        {
            case JsonString sa:
                return b is JsonString sb && sa.Value == sb.Value;
            case JsonNumber na:
                return b is JsonNumber nb && (na.RawText == nb.RawText || (na.IsInteger && nb.IsInteger
                    && BigInteger.Parse(na.RawText, CultureInfo.InvariantCulture) == BigInteger.Parse(nb.RawText, CultureInfo.InvariantCulture)));
            case JsonBool ba:
                return b is JsonBool bb && ba.Value == bb.Value;
            case JsonNull:
                return b is JsonNull;
            case JsonList aa:
                if (b is not JsonList ab || aa.Count != ab.Count)
                {
                    return false;
                }

                for (int i = 0; i < aa.Count; i++)
                {
                    if (!Equal(aa[i], ab[i]))
                    {
                        return false;
                    }
                }

                return true;
            case JsonMap oa:
                if (b is not JsonMap ob || oa.Count != ob.Count)
                {
                    return false;
                }

                foreach (var member in oa)
                {
                    if (!ob.TryGetValue(member.Key, out var other) || !Equal(member.Value, other))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Python truthiness of a parsed JSON value.</summary>
    public static bool IsFalsy(JsonItem node) => node switch
    {
        JsonBool b => !b.Value,
        JsonNull => true,
        JsonString s => s.Value.Length == 0,
        JsonList a => a.Count == 0,
        JsonMap o => o.Count == 0,
        JsonNumber n => IsZero(n.RawText),
        _ => false,
    };

    // True when the number's value is zero ("0", "-0", "0.0", "0e5", ...).
    private static bool IsZero(string raw)
    {
        int e = raw.IndexOfAny(new[] { 'e', 'E' });
        string mantissa = e < 0 ? raw : raw.Substring(0, e);
        return mantissa.All(c => c == '0' || c == '-' || c == '.');
    }
}
