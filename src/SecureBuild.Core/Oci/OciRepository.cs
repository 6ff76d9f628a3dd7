using System.Text.RegularExpressions;

namespace SecureBuild.Core.Oci;

/// <summary>
/// A repository in an OCI registry, from <c>HOST[:PORT]/REPOSITORY</c>: https, or plain http for a registry on the
/// loopback interface only (a local test registry); credentials never travel in clear text over a network.
/// </summary>
public sealed class OciRepository
{
    // distribution-spec: path components of lower-case alphanumerics separated by '.', '_', '__' or dashes.
    private static readonly Regex Name = new(@"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant);
    private static readonly Regex Host = new(@"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$", RegexOptions.CultureInvariant);

    private OciRepository(string registry, string repository, Uri baseUrl)
    {
        Registry = registry;
        Repository = repository;
        BaseUrl = baseUrl;
    }

    /// <summary>HOST[:PORT] as given (the key of docker's config.json "auths").</summary>
    public string Registry { get; }

    /// <summary>The repository path inside the registry.</summary>
    public string Repository { get; }

    /// <summary>https://HOST[:PORT]/ (http for loopback).</summary>
    public Uri BaseUrl { get; }

    /// <summary>Parses <c>HOST[:PORT]/REPOSITORY</c>.</summary>
    /// <exception cref="OciException">SB5155.</exception>
    public static OciRepository Parse(string text)
    {
        const string fix = "Give --registry as HOST[:PORT]/REPOSITORY, e.g. ghcr.io/acme/app or 127.0.0.1:5000/attestations (lower-case repository).";
        text = (text ?? string.Empty).Trim();
        if (text.Contains("://"))
        {
            throw new OciException(OciException.BadReference, $"'{text}' has a scheme; the registry is named without one", fix);
        }

        int slash = text.IndexOf('/');
        if (slash <= 0 || slash == text.Length - 1)
        {
            throw new OciException(OciException.BadReference, $"'{text}' is not HOST[:PORT]/REPOSITORY", fix);
        }

        string host = text.Substring(0, slash);
        string repository = text.Substring(slash + 1);
        if (!Host.IsMatch(host))
        {
            throw new OciException(OciException.BadReference, $"'{host}' is not a registry host name", fix);
        }

        if (!Name.IsMatch(repository) || repository.Length > 255)
        {
            throw new OciException(OciException.BadReference, $"'{repository}' is not a repository name (lower-case letters, digits, '.', '_', '-', '/')", fix);
        }

        if (!Uri.TryCreate("http://" + host + "/", UriKind.Absolute, out var probe))
        {
            throw new OciException(OciException.BadReference, $"'{host}' is not a registry host name", fix);
        }

        var baseUrl = new Uri((probe.IsLoopback ? "http://" : "https://") + host + "/");
        return new OciRepository(host, repository, baseUrl);
    }

    /// <summary>The URL of <c>/v2/&lt;repository&gt;/&lt;rest&gt;</c>.</summary>
    public Uri Url(string rest) => new(BaseUrl, "v2/" + Repository + "/" + rest);

    public override string ToString() => Registry + "/" + Repository;
}
