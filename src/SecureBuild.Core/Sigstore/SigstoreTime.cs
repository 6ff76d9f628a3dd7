using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureBuild.Core.Sigstore;

/// <summary>RFC 3339 timestamps as the proto3 JSON mapping writes google.protobuf.Timestamp.</summary>
internal static class SigstoreTime
{
    private static readonly Regex Rfc3339 = new(
        @"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
        RegexOptions.CultureInvariant);

    public static bool TryParse(string text, out DateTimeOffset value)
    {
        value = default;
        var m = Rfc3339.Match(text ?? string.Empty);
        if (!m.Success)
        {
            return false;
        }

        try
        {
            int Int(int g) => int.Parse(m.Groups[g].Value, NumberStyles.None, CultureInfo.InvariantCulture);
            TimeSpan offset = TimeSpan.Zero;
            string zone = m.Groups[8].Value;
            if (zone != "Z" && zone != "z")
            {
                int hours = int.Parse(zone.Substring(1, 2), NumberStyles.None, CultureInfo.InvariantCulture);
                int minutes = int.Parse(zone.Substring(4, 2), NumberStyles.None, CultureInfo.InvariantCulture);
                offset = new TimeSpan(hours, minutes, 0);
                if (zone[0] == '-')
                {
                    offset = -offset;
                }
            }

            var dt = new DateTimeOffset(Int(1), Int(2), Int(3), Int(4), Int(5), Int(6), offset);
            if (m.Groups[7].Success)
            {
                string frac = m.Groups[7].Value.Substring(1).PadRight(7, '0').Substring(0, 7);
                dt = dt.AddTicks(long.Parse(frac, NumberStyles.None, CultureInfo.InvariantCulture));
            }

            value = dt.ToUniversalTime();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static DateTimeOffset FromUnixSeconds(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);

    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
