namespace SecureBuild.Core.Pipelines;

/// <summary>
/// Every third-party reference a generated pipeline uses, pinned: GitHub actions by full commit SHA (with the release
/// the SHA was tagged as, for reviewers and update bots), container images by manifest digest. A tag can be moved to
/// other code; a commit or digest cannot. To update: change the SHA and its tag together, in one reviewed commit.
/// </summary>
public static class PinnedReferences
{
    public const string Checkout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";

    public const string SetupDotnet = "actions/setup-dotnet@67a3573c9a986a3f9c594539f4ab511d57bb3ce9 # v4.3.1";

    public const string UploadArtifact = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2";

    public const string DownloadArtifact = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0";

    /// <summary>Keyless (Sigstore, GitHub OIDC) SLSA build provenance for the agreed outputs.</summary>
    public const string AttestBuildProvenance = "actions/attest-build-provenance@e8998f949152b193b063cb0ec769d69d929409be # v2.4.0";

    /// <summary>Keyless signing of a custom predicate (the verification summary).</summary>
    public const string Attest = "actions/attest@1e69f48acb82d1966a394da916b4c1698aa569d6 # v4.2.2";

    /// <summary>The .NET 10 SDK image (Ubuntu 24.04 based; has git and bash; user "app", uid 1654).</summary>
    public const string DotnetSdkImage = "mcr.microsoft.com/dotnet/sdk:10.0@sha256:e1ffd2a92ae84c1291bc1b6887501f8af98e6331e7af6d4c8d37168c5e87a64c";

    /// <summary>The non-root user of the Microsoft .NET images.</summary>
    public const int DotnetImageUid = 1654;
}
