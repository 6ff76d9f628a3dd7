using System.Runtime.CompilerServices;
using System.Text;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.Json;

/// <summary>
/// The one canonical writer: securesystemslib <c>encode_canonical</c> (OLPC canonical JSON), the bytes in-toto signs:
/// object keys sorted by Unicode code point, no whitespace, only <c>\</c> and <c>"</c> escaped, every other
/// character (control characters and non-ASCII included) written raw as UTF-8, integers only.
/// <para>
/// The verifier's trees (<see cref="JsonParser.ParseSigned(byte[])"/>) take two shortcuts with the same output:
/// a string parsed without escapes is copied from the file's bytes, and an artifact map kept as
/// <see cref="ArtifactMapSlices"/> is written from its slices (in file order when the file already had its keys in
/// canonical order). The verifier's CanonicalEquivalenceTests pin both to this writer's ordinary path.
/// </para>
/// </summary>
public static class CanonicalJson
{
    /// <exception cref="JsonFormatException">A non-integer number, or a string with a lone surrogate.</exception>
    public static byte[] Serialize(JsonItem node)
    {
        if (node is null)
        {
            throw new ArgumentNullException(nameof(node));
        }

        var w = new Writer(new byte[256]);
        Write(node, w, new PathStack());
        var bytes = w.Detach(out int length);
        var result = new byte[length];
        Buffer.BlockCopy(bytes, 0, result, 0, length);
        return result;
    }

    /// <summary>
    /// The canonical bytes in a buffer from the verifier's pool: <c>buffer[0..length)</c> (the buffer may be longer).
    /// </summary>
    /// <exception cref="JsonFormatException">A non-integer number, or a string with a lone surrogate.</exception>
    internal static byte[] SerializePooled(JsonItem node, int sizeHint, out int length)
    {
        var w = new Writer(BufferPool.Rent(Math.Max(256, sizeHint + 64)));
        Write(node, w, new PathStack());
        return w.Detach(out length);
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static void Write(JsonItem node, Writer w, PathStack path)
    {
        switch (node)
        {
            case JsonString s:
                WriteString(s, w, path);
                break;
            case JsonMap { Slices: { } slices }:
                WriteCompact(slices, w);
                break;
            case JsonMap obj:
                w.Byte((byte)'{');
                int[] order = KeyOrder(obj);
                for (int i = 0; i < order.Length; i++)
                {
                    if (i > 0)
                    {
                        w.Byte((byte)',');
                    }

                    var member = obj.MemberAt(order[i]);
                    WriteChars(member.Key, w, path);
                    w.Byte((byte)':');
                    path.Push(member.Key);
                    Write(member.Value, w, path);
                    path.Pop();
                }

                w.Byte((byte)'}');
                break;
            case JsonList array:
                w.Byte((byte)'[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        w.Byte((byte)',');
                    }

                    path.Push(i);
                    Write(array[i], w, path);
                    path.Pop();
                }

                w.Byte((byte)']');
                break;
            case JsonNumber n:
                if (!n.IsInteger)
                {
                    throw new JsonFormatException(
                        $"Canonical JSON allows integers only, but {path} is the non-integer number {n.RawText}.");
                }

                // Python parses "-0" to the int 0.
                w.Ascii(n.RawText == "-0" ? "0" : n.RawText);
                break;
            case JsonBool b:
                w.Ascii(b.Value ? "true" : "false");
                break;
            case JsonNull:
                w.Ascii("null");
                break;
            default:
                throw new JsonFormatException($"Unknown JSON node type {node.GetType().Name} at {path}.");
        }
    }

    // Member indexes in code point order of the keys; objects written with sorted keys need no sort.
    private static int[] KeyOrder(JsonMap obj)
    {
        int n = obj.Count;
        var order = new int[n];
        bool sorted = true;
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            if (sorted && i > 0 && CodePointComparer.Instance.Compare(obj.MemberAt(i - 1).Key, obj.MemberAt(i).Key) > 0)
            {
                sorted = false;
            }
        }

        if (!sorted)
        {
            Array.Sort(order, (x, y) => CodePointComparer.Instance.Compare(obj.MemberAt(x).Key, obj.MemberAt(y).Key));
        }

        return order;
    }

    private static void WriteString(JsonString s, Writer w, PathStack path)
    {
        if (s.IsVerbatim)
        {
            // The parsed bytes hold no '"' or '\' (either would have been escaped) and are valid UTF-8.
            s.VerbatimBytes(out var source, out int start, out int length);
            w.Byte((byte)'"');
            w.Bytes(source, start, length);
            w.Byte((byte)'"');
        }
        else
        {
            WriteChars(s.Value, w, path);
        }
    }

    // A string value as canonical UTF-8: only '"' and '\' escaped.
    private static void WriteChars(string s, Writer w, PathStack path)
    {
        w.Byte((byte)'"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"' || c == '\\')
            {
                w.Byte((byte)'\\');
                w.Byte((byte)c);
            }
            else if (c < 0x80)
            {
                w.Byte((byte)c);
            }
            else if (c < 0x800)
            {
                w.Byte((byte)(0xC0 | (c >> 6)));
                w.Byte((byte)(0x80 | (c & 0x3F)));
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, s[i + 1]);
                i++;
                w.Byte((byte)(0xF0 | (cp >> 18)));
                w.Byte((byte)(0x80 | ((cp >> 12) & 0x3F)));
                w.Byte((byte)(0x80 | ((cp >> 6) & 0x3F)));
                w.Byte((byte)(0x80 | (cp & 0x3F)));
            }
            else if (char.IsSurrogate(c))
            {
                throw new JsonFormatException(
                    $"Cannot encode a string at {path}: lone surrogate U+{(int)c:X4} at character index {i}.");
            }
            else
            {
                w.Byte((byte)(0xE0 | (c >> 12)));
                w.Byte((byte)(0x80 | ((c >> 6) & 0x3F)));
                w.Byte((byte)(0x80 | (c & 0x3F)));
            }
        }

        w.Byte((byte)'"');
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static void WriteCompact(ArtifactMapSlices c, Writer w)
    {
        if (c.SortedRaw)
        {
            WriteCompactInFileOrder(c, w);
            return;
        }

        int n = c.Count;
        var src = c.Src;
        byte[]?[]? escapedKeys = null;
        for (int i = 0; i < n; i++)
        {
            if (c.KeyEscaped(i))
            {
                escapedKeys ??= new byte[n][];
                escapedKeys[i] = new UTF8Encoding(false, true).GetBytes(c.Path(i));
            }
        }

        void Key(int i, out byte[] b, out int s, out int l)
        {
            if (escapedKeys?[i] is { } e)
            {
                b = e;
                s = 0;
                l = e.Length;
            }
            else
            {
                b = src;
                c.KeySlice(i, out s, out l);
            }
        }

        int CompareKeys(int x, int y)
        {
            Key(x, out var xb, out int xs, out int xl);
            Key(y, out var yb, out int ys, out int yl);
            int m = Math.Min(xl, yl);
            for (int k = 0; k < m; k++)
            {
                int d = xb[xs + k] - yb[ys + k];
                if (d != 0)
                {
                    return d;
                }
            }

            return xl - yl;
        }

        var order = new int[n];
        bool sorted = true;
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            if (sorted && i > 0 && CompareKeys(i - 1, i) > 0)
            {
                sorted = false;
            }
        }

        if (!sorted)
        {
            Array.Sort(order, CompareKeys);
        }

        w.Byte((byte)'{');
        for (int j = 0; j < n; j++)
        {
            int i = order[j];
            if (j > 0)
            {
                w.Byte((byte)',');
            }

            Key(i, out var kb, out int ks, out int kl);
            w.Byte((byte)'"');
            if (escapedKeys?[i] is not null)
            {
                for (int k = ks; k < ks + kl; k++)
                {
                    if (kb[k] == '"' || kb[k] == '\\')
                    {
                        w.Byte((byte)'\\');
                    }

                    w.Byte(kb[k]);
                }
            }
            else
            {
                w.Bytes(kb, ks, kl);
            }

            w.Byte((byte)'"');
            w.Byte((byte)':');
            w.Byte((byte)'{');
            w.Byte((byte)'"');
            c.AlgorithmSlice(i, out int a, out int al);
            w.Bytes(src, a, al);
            w.Byte((byte)'"');
            w.Byte((byte)':');
            w.Byte((byte)'"');
            c.ValueSlice(i, out int v, out int vl);
            w.Bytes(src, v, vl);
            w.Byte((byte)'"');
            w.Byte((byte)'}');
        }

        w.Byte((byte)'}');
    }

    // Keys already in canonical order and free of escapes (checked while parsing): every entry is copied as
    // "key":{"alg":"value"} from its raw slices.
    [MethodImpl(Jit.AggressiveOptimization)]
    private static void WriteCompactInFileOrder(ArtifactMapSlices c, Writer w)
    {
        var src = c.Src;
        int n = c.Count;
        w.Byte((byte)'{');
        for (int i = 0; i < n; i++)
        {
            c.Entry(i, out int ks, out int kl, out int a, out int al, out int v, out int vl);
            var buf = w.Reserve(kl + al + vl + 12, out int at);
            if (i > 0)
            {
                buf[at++] = (byte)',';
            }

            buf[at++] = (byte)'"';
            Buffer.BlockCopy(src, ks, buf, at, kl);
            at += kl;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)':';
            buf[at++] = (byte)'{';
            buf[at++] = (byte)'"';
            for (int k = 0; k < al; k++)
            {
                buf[at + k] = src[a + k];
            }

            at += al;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)':';
            buf[at++] = (byte)'"';
            Buffer.BlockCopy(src, v, buf, at, vl);
            at += vl;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)'}';
            w.Commit(at);
        }

        w.Byte((byte)'}');
    }

    private sealed class Writer
    {
        private byte[] _buf;
        private int _len;

        public Writer(byte[] buffer)
        {
            _buf = buffer;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Byte(byte b)
        {
            if (_len == _buf.Length)
            {
                Grow(1);
            }

            _buf[_len++] = b;
        }

        public void Bytes(byte[] src, int start, int length)
        {
            if (_len + length > _buf.Length)
            {
                Grow(length);
            }

            Buffer.BlockCopy(src, start, _buf, _len, length);
            _len += length;
        }

        public void Ascii(string s)
        {
            foreach (char c in s)
            {
                Byte((byte)c);
            }
        }

        /// <summary>Room for <paramref name="count"/> more bytes at <paramref name="at"/>; <see cref="Commit"/> with the new end.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public byte[] Reserve(int count, out int at)
        {
            if (_len + count > _buf.Length)
            {
                Grow(count);
            }

            at = _len;
            return _buf;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Commit(int end) => _len = end;

        private void Grow(int extra) => Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + extra));

        public byte[] Detach(out int length)
        {
            length = _len;
            return _buf;
        }
    }

    // Where the writer is ("$.signed.materials" in messages), kept as a stack so that no path string is built unless
    // an error needs one.
    private sealed class PathStack
    {
        private readonly List<string?> _keys = new();
        private readonly List<int> _indexes = new();

        public void Push(string key)
        {
            _keys.Add(key);
            _indexes.Add(0);
        }

        public void Push(int index)
        {
            _keys.Add(null);
            _indexes.Add(index);
        }

        public void Pop()
        {
            _keys.RemoveAt(_keys.Count - 1);
            _indexes.RemoveAt(_indexes.Count - 1);
        }

        public override string ToString()
        {
            var sb = new StringBuilder("$");
            for (int i = 0; i < _keys.Count; i++)
            {
                if (_keys[i] is { } key)
                {
                    sb.Append('.').Append(key);
                }
                else
                {
                    sb.Append('[').Append(_indexes[i]).Append(']');
                }
            }

            return sb.ToString();
        }
    }
}
