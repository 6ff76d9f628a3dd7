using System.Text.RegularExpressions;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Decides what may never reach an attestation: variables whose name says they hold a credential,
/// and values that look like one whatever their name (tokens, keys, connection strings, JWTs, PEM).
/// </summary>
public static class SecretFilter
{
    private static readonly Regex SecretName = new(
        "(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PWD|APIKEY|API_KEY|ACCESS_?KEY|PRIVATE_?KEY|SIGNING_?KEY|CLIENT_?KEY|CREDENTIAL|CONNECTION_?STRING|CONNSTR|AUTH|COOKIE|SESSION|SAS|CERT|KEY$|_KEY_|^KEY_|SIGNINGKEY)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly Regex SecretValue = new(
        "(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|" +
        "AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.|-----BEGIN [A-Z ]*PRIVATE KEY-----|" +
        "(AccountKey|SharedAccessKey|Password|Pwd|User ?Id|sig)=(?!" + UrlRedaction.Placeholder + "([;&\\s#]|$))[^;&\\s]+|://[^/\\s:@]+:[^/\\s@]+@|oy2[a-z0-9]{40,})",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>True when a variable or property with this name may hold a credential.</summary>
    public static bool IsSecretName(string name) => SecretName.IsMatch(name);

    /// <summary>True when the value looks like a credential, whatever it is called.</summary>
    public static bool LooksLikeSecret(string value) => SecretValue.IsMatch(value);

    /// <summary>True when the pair may be written into an attestation.</summary>
    public static bool MayRecord(string name, string value) => !IsSecretName(name) && !LooksLikeSecret(value);
}
