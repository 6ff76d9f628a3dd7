using System.Text.RegularExpressions;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// An MSBuild global property as a user types it after <c>-p</c> (<c>Name=Value</c>), passed on to a dotnet command
/// that <c>securebuild</c> runs (lock, rebuild). MSBuild splits a <c>-p:</c> switch at every ';' and ',' unless the
/// value is in double quotes, so <c>-p:TargetFrameworks=net8.0;net10.0</c> fails with MSB1006: the value is quoted
/// here, as MSBuild's own documentation asks users to do by hand.
/// </summary>
public static class PropertyArgument
{
    private static readonly Regex Name = new("^[A-Za-z_][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Splits <c>Name=Value</c> (a leading <c>-p:</c>, <c>/p:</c> or <c>-property:</c> is accepted too). Throws
    /// <see cref="ArgumentException"/> with a message for the user when there is no '=' or the name is not a
    /// property name.
    /// </summary>
    public static KeyValuePair<string, string> Parse(string text)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }

        var body = text;
        foreach (var prefix in new[] { "-property:", "--property:", "/property:", "-p:", "/p:" })
        {
            if (body.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                body = body.Substring(prefix.Length);
                break;
            }
        }

        int equals = body.IndexOf('=');
        var name = equals > 0 ? body.Substring(0, equals).Trim() : string.Empty;
        if (equals <= 0 || !Name.IsMatch(name))
        {
            throw new ArgumentException($"-p {text}: expected Name=Value with an MSBuild property name (letters, digits, '_', '-', '.'), e.g. -p Configuration=Release or -p \"TargetFrameworks=net8.0;net10.0\".");
        }

        return new KeyValuePair<string, string>(name, body.Substring(equals + 1));
    }

    /// <summary>
    /// <c>-p:Name=Value</c> for a dotnet command's argument list (one argument, no shell involved): a value holding a
    /// ';', ',' or white space is put in double quotes so MSBuild keeps it whole; a double quote inside it becomes
    /// MSBuild's escape %22. A value the user already put in double quotes is passed as it is.
    /// </summary>
    public static string ToSwitch(KeyValuePair<string, string> property)
    {
        var value = property.Value;
        bool quoted = value.Length >= 2 && value[0] == '"' && value[value.Length - 1] == '"' && value.IndexOf('"', 1) == value.Length - 1;
        if (!quoted)
        {
            value = value.Replace("\"", "%22");
            if (value.IndexOfAny(new[] { ';', ',', ' ', '\t' }) >= 0)
            {
                value = "\"" + value + "\"";
            }
        }

        return $"-p:{property.Key}={value}";
    }

    /// <summary>Each of <paramref name="texts"/> parsed and turned into a switch (see <see cref="Parse"/>).</summary>
    public static IReadOnlyList<string> ToSwitches(IEnumerable<string> texts) => texts.Select(t => ToSwitch(Parse(t))).ToList();
}
