using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The hashes of one artifact, such as {"sha256": "ab12..."}: immutable, with Python dict equality (what in-toto
/// compares). The common case, exactly one sha256, is kept as the value's UTF-8 bytes, which the reference reader
/// takes as a slice of the link file without decoding it; anything else as sorted (algorithm, value) pairs.
/// </summary>
public readonly struct HashDict : IEquatable<HashDict>, IReadOnlyDictionary<string, string>
{
    // The common case, exactly {"sha256": value}: the value's UTF-8 bytes, possibly a slice of a link file.
    private readonly byte[]? _shaSource;
    private readonly int _shaStart;
    private readonly int _shaLength;
    private readonly string[]? _pairs; // otherwise: algorithm, value, ... sorted by algorithm (ordinal)

    private HashDict(byte[]? shaSource, int shaStart, int shaLength, string[]? pairs)
    {
        _shaSource = shaSource;
        _shaStart = shaStart;
        _shaLength = shaLength;
        _pairs = pairs;
    }

    /// <summary>The hashes in <paramref name="pairs"/> (algorithm -> hex), in any order.</summary>
    public static HashDict FromPairs(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var list = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        if (list.Count == 1 && list[0].Key == "sha256")
        {
            return Sha256(list[0].Value);
        }

        var a = new string[list.Count * 2];
        for (int i = 0; i < list.Count; i++)
        {
            a[2 * i] = list[i].Key;
            a[(2 * i) + 1] = list[i].Value;
        }

        return new HashDict(null, 0, 0, a);
    }

    /// <summary>{"sha256": <paramref name="hex"/>}.</summary>
    public static HashDict Sha256(string hex)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(hex);
        return new HashDict(bytes, 0, bytes.Length, null);
    }

    /// <summary>{"sha256": value} where value is the (escape-free) UTF-8 slice src[start..start+length).</summary>
    internal static HashDict Sha256(byte[] src, int start, int length) => new(src, start, length, null);

    [System.Runtime.CompilerServices.MethodImpl(Jit.AggressiveOptimization)]
    public bool Equals(HashDict other)
    {
        if (_shaSource is not null || other._shaSource is not null)
        {
            if (_shaSource is null || other._shaSource is null || _shaLength != other._shaLength)
            {
                return false;
            }

            return SameBytes(_shaSource, _shaStart, other._shaSource, other._shaStart, _shaLength);
        }

        var p = _pairs ?? Array.Empty<string>();
        var q = other._pairs ?? Array.Empty<string>();
        if (p.Length != q.Length)
        {
            return false;
        }

        for (int i = 0; i < p.Length; i++)
        {
            if (!string.Equals(p[i], q[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>a[ai..ai+length) == b[bi..bi+length), eight bytes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool SameBytes(byte[] a, int ai, byte[] b, int bi, int length)
    {
        if ((uint)ai > (uint)a.Length || (uint)length > (uint)(a.Length - ai) || (uint)bi > (uint)b.Length || (uint)length > (uint)(b.Length - bi))
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        int k = 0;
        for (; k + 8 <= length; k += 8)
        {
            if (BitConverter.ToUInt64(a, ai + k) != BitConverter.ToUInt64(b, bi + k))
            {
                return false;
            }
        }

        for (; k < length; k++)
        {
            if (a[ai + k] != b[bi + k])
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is HashDict h && Equals(h);

    public override int GetHashCode() => _shaSource is not null ? _shaLength : (_pairs?.Length ?? 0) + 1;

    private string[] Pairs => _pairs ?? (_shaSource is null ? Array.Empty<string>() : new[] { "sha256", System.Text.Encoding.UTF8.GetString(_shaSource, _shaStart, _shaLength) });

    /// <summary>A dictionary of algorithm -> hex, such as the one a recorder builds.</summary>
    public static implicit operator HashDict(Dictionary<string, string> hashes) =>
        FromPairs(hashes ?? throw new ArgumentNullException(nameof(hashes)));

    /// <summary>The same hashes as a <see cref="HashDict"/>.</summary>
    public static HashDict From(IReadOnlyDictionary<string, string> hashes) => hashes switch
    {
        null => throw new ArgumentNullException(nameof(hashes)),
        HashDict h => h,
        _ => FromPairs(hashes),
    };

    public static bool operator ==(HashDict left, HashDict right) => left.Equals(right);

    public static bool operator !=(HashDict left, HashDict right) => !left.Equals(right);

    /// <summary>How many algorithms.</summary>
    public int Count => _shaSource is not null ? 1 : (_pairs?.Length ?? 0) / 2;

    /// <summary>The algorithms, sorted (ordinal).</summary>
    public IEnumerable<string> Keys => this.Select(p => p.Key);

    /// <summary>The hex values, in algorithm order.</summary>
    public IEnumerable<string> Values => this.Select(p => p.Value);

    /// <exception cref="KeyNotFoundException">No hash by that algorithm.</exception>
    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No '{key}' hash.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, out string value)
    {
        var p = Pairs;
        for (int i = 0; i < p.Length; i += 2)
        {
            if (string.Equals(p[i], key, StringComparison.Ordinal))
            {
                value = p[i + 1];
                return true;
            }
        }

        value = null!;
        return false;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        var p = Pairs;
        for (int i = 0; i < p.Length; i += 2)
        {
            yield return new KeyValuePair<string, string>(p[i], p[i + 1]);
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>{"algorithm": "hex", ...}.</summary>
    public JsonMap ToJson()
    {
        var o = new JsonMap();
        var p = Pairs;
        for (int i = 0; i < p.Length; i += 2)
        {
            o.Add(p[i], p[i + 1]);
        }

        return o;
    }

    /// <summary>"sha256:0123456789ab…" (shortened hex), for messages.</summary>
    public override string ToString()
    {
        var p = Pairs;
        if (p.Length == 0)
        {
            return "{} (no hashes)";
        }

        var parts = new List<string>();
        for (int i = 0; i < p.Length; i += 2)
        {
            string v = p[i + 1];
            parts.Add($"{p[i]}:{(v.Length > 16 ? v.Substring(0, 16) + "…" : v)}");
        }

        return string.Join(" ", parts);
    }
}
