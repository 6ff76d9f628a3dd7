namespace SecureBuild.Core.InToto.Verification;

/// <summary>The artifact rule types of in-toto v0.9.</summary>
public enum RuleType
{
    Match,
    Create,
    Delete,
    Modify,
    Allow,
    Disallow,
    Require,
}

/// <summary>
/// A parsed artifact rule (in-toto 1.3.1 <c>rulelib.unpack_rule</c>):
/// <c>MATCH pattern [IN srcprefix] WITH (MATERIALS|PRODUCTS) [IN dstprefix] FROM step</c>,
/// <c>CREATE|DELETE|MODIFY|ALLOW|DISALLOW pattern</c>, <c>REQUIRE file</c>. Keywords are case-insensitive;
/// patterns, prefixes and step names are not.
/// </summary>
public sealed class ArtifactRule
{
    private ArtifactRule(IReadOnlyList<string> raw, RuleType type, string pattern)
    {
        Raw = raw;
        Type = type;
        PatternText = pattern;
        Pattern = GlobPattern.Compile(pattern);
    }

    /// <summary>The rule as written.</summary>
    public IReadOnlyList<string> Raw { get; }

    public RuleType Type { get; }

    /// <summary>The pattern (for REQUIRE: the literal file name).</summary>
    public string PatternText { get; }

    public GlobPattern Pattern { get; }

    /// <summary>MATCH only: "" when absent (an empty prefix counts as absent, as in Python).</summary>
    public string SourcePrefix { get; private set; } = "";

    /// <summary>MATCH only: "" when absent.</summary>
    public string DestinationPrefix { get; private set; } = "";

    /// <summary>MATCH only: "materials" or "products".</summary>
    public string DestinationType { get; private set; } = "";

    /// <summary>MATCH only: the step or inspection whose artifacts are matched.</summary>
    public string DestinationName { get; private set; } = "";

    public string Text => string.Join(" ", Raw);

    public override string ToString() => Text;

    /// <summary>Parses a rule; the message of the exception says what is wrong.</summary>
    /// <exception cref="FormatException">Not a valid rule.</exception>
    public static ArtifactRule Parse(IReadOnlyList<string> rule)
    {
        if (rule is null)
        {
            throw new ArgumentNullException(nameof(rule));
        }

        var lower = rule.Select(ToLowerPython).ToArray();
        string shown = "[" + string.Join(", ", rule.Select(r => "'" + r + "'")) + "]";
        if (rule.Count < 2)
        {
            throw new FormatException($"rule {shown} has no pattern: a rule is a keyword (MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW, REQUIRE) followed by a pattern.");
        }

        RuleType type;
        switch (lower[0])
        {
            case "match": type = RuleType.Match; break;
            case "create": type = RuleType.Create; break;
            case "delete": type = RuleType.Delete; break;
            case "modify": type = RuleType.Modify; break;
            case "allow": type = RuleType.Allow; break;
            case "disallow": type = RuleType.Disallow; break;
            case "require": type = RuleType.Require; break;
            default:
                throw new FormatException($"rule {shown} starts with '{rule[0]}'; a rule must start with MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW or REQUIRE.");
        }

        if (type != RuleType.Match)
        {
            if (rule.Count != 2)
            {
                throw new FormatException($"rule {shown} has {rule.Count} elements; {rule[0].ToUpperInvariant()} takes exactly one pattern.");
            }

            return new ArtifactRule(rule.ToArray(), type, rule[1]);
        }

        string src, dstType, dst, name;
        int n = rule.Count;
        if (n == 10 && lower[2] == "in" && lower[4] == "with" && lower[6] == "in" && lower[8] == "from")
        {
            src = rule[3];
            dstType = lower[5];
            dst = rule[7];
            name = rule[9];
        }
        else if (n == 8 && lower[2] == "in" && lower[4] == "with" && lower[6] == "from")
        {
            src = rule[3];
            dstType = lower[5];
            dst = "";
            name = rule[7];
        }
        else if (n == 8 && lower[2] == "with" && lower[4] == "in" && lower[6] == "from")
        {
            src = "";
            dstType = lower[3];
            dst = rule[5];
            name = rule[7];
        }
        else if (n == 6 && lower[2] == "with" && lower[4] == "from")
        {
            src = "";
            dstType = lower[3];
            dst = "";
            name = rule[5];
        }
        else
        {
            throw new FormatException($"rule {shown} is not of the form MATCH <pattern> [IN <source-prefix>] WITH (MATERIALS|PRODUCTS) [IN <destination-prefix>] FROM <step>.");
        }

        if (dstType != "materials" && dstType != "products")
        {
            throw new FormatException($"rule {shown} must match against MATERIALS or PRODUCTS, not '{dstType}'.");
        }

        return new ArtifactRule(rule.ToArray(), RuleType.Match, rule[1])
        {
            SourcePrefix = src,
            DestinationPrefix = dst,
            DestinationType = dstType,
            DestinationName = name,
        };
    }

    // Python str.lower() as far as it matters for the ASCII keywords: only A-Z can lower to a keyword letter
    // (the one other character that lowers to ASCII, U+212A KELVIN SIGN, gives 'k', which no keyword contains;
    // .NET's ToLowerInvariant would also turn U+0130 into 'i', which Python does not).
    private static string ToLowerPython(string s)
    {
        char[]? chars = null;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c >= 'A' && c <= 'Z')
            {
                chars ??= s.ToCharArray();
                chars[i] = (char)(c + 32);
            }
        }

        return chars is null ? s : new string(chars);
    }
}
