using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// A compiled artifact-rule pattern with Python <c>fnmatch.fnmatchcase</c> semantics (what in-toto 1.3.1 uses via
/// <c>fnmatch.filter</c> on POSIX): the whole name must match; <c>*</c> matches any run of characters including
/// <c>/</c>, newlines and leading dots; <c>?</c> matches exactly one character; <c>[seq]</c> / <c>[!seq]</c> are
/// character classes with ranges (<c>a-z</c>), where a <c>]</c> right after <c>[</c> or <c>[!</c> is literal, a
/// <c>-</c> first or last is literal, a reversed range (<c>z-a</c>) matches nothing, and an unclosed <c>[</c> is a
/// literal bracket. There is no escape character. Matching is case-sensitive and works on Unicode code points
/// (an astral character is one character for <c>?</c>, as in Python).
/// </summary>
public sealed class GlobPattern
{
    private readonly Token[] _tokens;
    private readonly Shape _shape;
    private readonly string _head = "";
    private readonly string _tail = "";

    private GlobPattern(string pattern, Token[] tokens)
    {
        Pattern = pattern;
        _tokens = tokens;
        _shape = Classify(tokens, out _head, out _tail);
    }

    private enum Shape
    {
        General,
        MatchAll,   // *
        Exact,      // abc
        Prefix,     // abc*
        Suffix,     // *abc
        PrefixSuffix, // abc*def
    }

    private enum TokenKind
    {
        Literal,
        AnyChar,
        Class,
        Star,
    }

    /// <summary>The pattern text as written in the rule.</summary>
    public string Pattern { get; }

    /// <summary>True when the pattern has no wildcard at all: it matches exactly one name, <see cref="Literal"/>.</summary>
    public bool IsLiteral => _shape == Shape.Exact;

    /// <summary>The only name the pattern matches when <see cref="IsLiteral"/>; otherwise null.</summary>
    public string? Literal => _shape == Shape.Exact ? _head : null;

    /// <summary>True for patterns that match every name (<c>*</c>, <c>**</c>, ...).</summary>
    public bool MatchesEverything => _shape == Shape.MatchAll;

    /// <summary>Compiles <paramref name="pattern"/>. Never fails: every string is a valid fnmatch pattern.</summary>
    public static GlobPattern Compile(string pattern)
    {
        if (pattern is null)
        {
            throw new ArgumentNullException(nameof(pattern));
        }

        return new GlobPattern(pattern, Parse(pattern));
    }

    /// <summary>Python <c>fnmatch.fnmatchcase(name, pattern)</c>.</summary>
    public static bool IsMatch(string name, string pattern) => Compile(pattern).IsMatch(name);

    /// <summary>True when the whole of <paramref name="name"/> matches.</summary>
    public bool IsMatch(string name) => IsMatch(name ?? throw new ArgumentNullException(nameof(name)), 0);

    /// <summary>True when <c>name.Substring(start)</c> matches (without allocating the substring).</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public bool IsMatch(string name, int start)
    {
        int length = name.Length - start;
        switch (_shape)
        {
            case Shape.MatchAll:
                return true;
            case Shape.Exact:
                return length == _head.Length && string.CompareOrdinal(name, start, _head, 0, _head.Length) == 0;
            case Shape.Prefix:
                return length >= _head.Length && string.CompareOrdinal(name, start, _head, 0, _head.Length) == 0;
            case Shape.Suffix:
                return length >= _tail.Length && string.CompareOrdinal(name, name.Length - _tail.Length, _tail, 0, _tail.Length) == 0;
            case Shape.PrefixSuffix:
                return length >= _head.Length + _tail.Length
                    && string.CompareOrdinal(name, start, _head, 0, _head.Length) == 0
                    && string.CompareOrdinal(name, name.Length - _tail.Length, _tail, 0, _tail.Length) == 0;
            default:
                return MatchGeneral(name, start);
        }
    }

    public override string ToString() => Pattern;

    // Classic wildcard matching with one backtrack point (the last '*'). Every token other than '*' matches exactly
    // one code point or a fixed literal, so retrying only the last star is complete (the same reason Python's
    // translation can use atomic groups for the middle segments).
    [MethodImpl(Jit.AggressiveOptimization)]
    private bool MatchGeneral(string name, int start)
    {
        int ti = 0;
        int ni = start;
        int starTi = -1;
        int starNi = 0;
        var tokens = _tokens;
        while (true)
        {
            if (ti < tokens.Length)
            {
                var t = tokens[ti];
                if (t.Kind == TokenKind.Star)
                {
                    starTi = ti;
                    starNi = ni;
                    ti++;
                    continue;
                }

                int next = MatchToken(t, name, ni);
                if (next >= 0)
                {
                    ti++;
                    ni = next;
                    continue;
                }
            }
            else if (ni == name.Length)
            {
                return true;
            }

            if (starTi < 0 || starNi >= name.Length)
            {
                return false;
            }

            starNi += CodePointLength(name, starNi);
            ni = starNi;
            ti = starTi + 1;
        }
    }

    // Returns the position after the token, or -1.
    private static int MatchToken(Token t, string name, int ni)
    {
        switch (t.Kind)
        {
            case TokenKind.Literal:
                string lit = t.Text!;
                if (ni + lit.Length > name.Length || string.CompareOrdinal(name, ni, lit, 0, lit.Length) != 0)
                {
                    return -1;
                }

                return ni + lit.Length;
            case TokenKind.AnyChar:
                return ni < name.Length ? ni + CodePointLength(name, ni) : -1;
            default:
                if (ni >= name.Length)
                {
                    return -1;
                }

                int len = CodePointLength(name, ni);
                int cp = len == 2 ? char.ConvertToUtf32(name[ni], name[ni + 1]) : name[ni];
                return t.ClassContains(cp) ? ni + len : -1;
        }
    }

    private static int CodePointLength(string s, int i) =>
        char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    private static Shape Classify(Token[] tokens, out string head, out string tail)
    {
        head = "";
        tail = "";
        foreach (var t in tokens)
        {
            if (t.Kind == TokenKind.AnyChar || t.Kind == TokenKind.Class)
            {
                return Shape.General;
            }
        }

        switch (tokens.Length)
        {
            case 0:
                return Shape.Exact; // the empty pattern matches only the empty name
            case 1:
                if (tokens[0].Kind == TokenKind.Star)
                {
                    return Shape.MatchAll;
                }

                head = tokens[0].Text!;
                return Shape.Exact;
            case 2:
                if (tokens[0].Kind == TokenKind.Literal)
                {
                    head = tokens[0].Text!;
                    return Shape.Prefix;
                }

                tail = tokens[1].Text!;
                return Shape.Suffix;
            case 3:
                if (tokens[0].Kind == TokenKind.Literal && tokens[1].Kind == TokenKind.Star && tokens[2].Kind == TokenKind.Literal)
                {
                    head = tokens[0].Text!;
                    tail = tokens[2].Text!;
                    return Shape.PrefixSuffix;
                }

                return Shape.General;
            default:
                return Shape.General;
        }
    }

    private static Token[] Parse(string pattern)
    {
        int[] p = ToCodePoints(pattern);
        var tokens = new List<Token>();
        var literal = new System.Text.StringBuilder();
        int n = p.Length;
        int i = 0;

        void FlushLiteral()
        {
            if (literal.Length > 0)
            {
                tokens.Add(new Token(TokenKind.Literal, literal.ToString()));
                literal.Clear();
            }
        }

        while (i < n)
        {
            int c = p[i++];
            if (c == '*')
            {
                FlushLiteral();
                if (tokens.Count == 0 || tokens[tokens.Count - 1].Kind != TokenKind.Star)
                {
                    tokens.Add(new Token(TokenKind.Star, null));
                }
            }
            else if (c == '?')
            {
                FlushLiteral();
                tokens.Add(new Token(TokenKind.AnyChar, null));
            }
            else if (c == '[')
            {
                // Find the closing ']': skip an optional '!', then a ']' right there is part of the set.
                int j = i;
                if (j < n && p[j] == '!')
                {
                    j++;
                }

                if (j < n && p[j] == ']')
                {
                    j++;
                }

                while (j < n && p[j] != ']')
                {
                    j++;
                }

                if (j >= n)
                {
                    literal.Append('['); // no closing bracket: a literal '['
                    continue;
                }

                bool negated = p[i] == '!';
                int start = negated ? i + 1 : i;
                var ranges = new List<int>();
                int k = start;
                while (k < j)
                {
                    // 'x-y' is a range when the '-' is not the first or the last member of the set; the character
                    // after a range is never a range operator ('a-b-c' is a..b, '-', 'c').
                    if (k + 2 < j && p[k + 1] == '-')
                    {
                        if (p[k] <= p[k + 2])
                        {
                            ranges.Add(p[k]);
                            ranges.Add(p[k + 2]);
                        }

                        k += 3;
                    }
                    else
                    {
                        ranges.Add(p[k]);
                        ranges.Add(p[k]);
                        k++;
                    }
                }

                FlushLiteral();
                tokens.Add(new Token(negated, ranges.ToArray()));
                i = j + 1;
            }
            else
            {
                AppendCodePoint(literal, c);
            }
        }

        FlushLiteral();
        return tokens.ToArray();
    }

    private static int[] ToCodePoints(string s)
    {
        var result = new List<int>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Add(char.ConvertToUtf32(s[i], s[i + 1]));
                i++;
            }
            else
            {
                result.Add(s[i]);
            }
        }

        return result.ToArray();
    }

    private static void AppendCodePoint(System.Text.StringBuilder sb, int cp)
    {
        if (cp >= 0x10000)
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }
        else
        {
            sb.Append((char)cp);
        }
    }

    private sealed class Token
    {
        private readonly bool _negated;
        private readonly int[]? _ranges;

        public Token(TokenKind kind, string? text)
        {
            Kind = kind;
            Text = text;
        }

        public Token(bool negated, int[] ranges)
        {
            Kind = TokenKind.Class;
            _negated = negated;
            _ranges = ranges;
        }

        public TokenKind Kind { get; }

        public string? Text { get; }

        public bool ClassContains(int cp)
        {
            var r = _ranges!;
            for (int i = 0; i < r.Length; i += 2)
            {
                if (cp >= r[i] && cp <= r[i + 1])
                {
                    return !_negated;
                }
            }

            return _negated;
        }
    }
}
