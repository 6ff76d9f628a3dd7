using System.CommandLine;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Cli;

/// <summary>
/// `--trust-repo URL [--trust-root ROOT.json] [--trust-cache DIR]` for verbs that read policy files: with it, the
/// policy arguments (a layout, layout keys) name targets of the organisation's TUF repository, fetched and verified
/// through it instead of read from an unauthenticated location. `SECUREBUILD_TRUST_REPOSITORY` is the default URL.
/// </summary>
internal sealed class TrustRepositoryOptions
{
    private static readonly TufFetcher SharedFetcher = new();

    private TrustRepositoryOptions()
    {
    }

    public Option<string> Url { get; } = new("--trust-repo")
    {
        Description = "The organisation's TUF repository (metadata URL, file:// or directory; default $SECUREBUILD_TRUST_REPOSITORY): policy arguments then name its targets, fetched and verified through TUF.",
    };

    public Option<string> Root { get; } = new("--trust-root") { Description = "With --trust-repo, first use only: the repository's root.json, obtained out of band." };

    public Option<string> Cache { get; } = new("--trust-cache") { Description = "With --trust-repo: the trusted-metadata cache (default: one folder per repository under ~/.cache/securebuild/tuf)." };

    public static TrustRepositoryOptions Create() => new();

    /// <summary>A TUF refusal fails the verb (1); a missing root or unusable cache is an input problem (2).</summary>
    public static int ExitCode(TufException e) => e.Code is TufException.LocalState ? CliApplication.Usage : CliApplication.Failure;

    /// <summary>The refreshed repository, or null when no --trust-repo (nor the variable) is given.</summary>
    /// <exception cref="TufException">The repository could not be trusted or reached.</exception>
    public Source? Open(ParseResult parse)
    {
        string? url = parse.GetValue(Url);
        if (string.IsNullOrEmpty(url))
        {
            url = Environment.GetEnvironmentVariable("SECUREBUILD_TRUST_REPOSITORY");
        }

        return string.IsNullOrEmpty(url)
            ? null
            : new Source(TrustRepositoryTarget.Open(url!, null, parse.GetValue(Root), parse.GetValue(Cache), () => DateTimeOffset.UtcNow, SharedFetcher));
    }

    /// <summary>
    /// The organisation policy named by <paramref name="argument"/>: a target of the trust repository when one is given
    /// (--trust-repo or $SECUREBUILD_TRUST_REPOSITORY), else a file.
    /// </summary>
    /// <exception cref="TufException">The repository could not be trusted or reached, or refused the target.</exception>
    /// <exception cref="SecureBuild.Core.Pipelines.PipelineException">SB5452: the policy is unusable.</exception>
    public SecureBuild.Core.Pipelines.OrgPolicy LoadOrgPolicy(ParseResult parse, string argument) =>
        Open(parse) is { } source
            ? SecureBuild.Core.Pipelines.OrgPolicy.Parse(source.Fetch(argument), $"{argument} (from the trust repository)")
            : SecureBuild.Core.Pipelines.OrgPolicy.Load(argument);

    /// <summary>A refreshed client of the trust repository.</summary>
    internal sealed class Source
    {
        private readonly TufClient _client;

        public Source(TufClient client) => _client = client;

        public byte[] Fetch(string target) => TrustRepositoryTarget.Fetch(_client, target);
    }
}
