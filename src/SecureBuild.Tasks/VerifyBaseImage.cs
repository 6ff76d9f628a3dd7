using Microsoft.Build.Framework;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Tasks;

/// <summary>
/// SecureBuildBaseImagePolicy: before a container publish (after the SDK computed ContainerBaseImage), the base image
/// is checked against the image policy with Core's <see cref="ImagePolicyVerifier"/>, as `securebuild verify-image`
/// does; a refusal fails the publish with the verdict's SB code (SB5161..SB5165) before anything is built on it.
/// </summary>
public sealed class VerifyBaseImage : CodedTask
{
    /// <summary>SB5166: SecureBuildBaseImagePolicy is set, but the container targets named no base image.</summary>
    public const string NoBaseImage = "SB5166";

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>The policy file (SecureBuildBaseImagePolicy), relative to <see cref="ProjectDirectory"/>.</summary>
    [Required]
    public string Policy { get; set; } = "";

    /// <summary>ContainerBaseImage as the SDK computed it.</summary>
    public string? BaseImage { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = "";

    /// <summary>SecureBuildTrustedRoot: the trusted root for keyless signers when the policy names none.</summary>
    public string? TrustedRoot { get; set; }

    protected override bool ExecuteTask()
    {
        if (string.IsNullOrWhiteSpace(BaseImage))
        {
            LogCodedError(NoBaseImage, "SecureBuildBaseImagePolicy is set, but the container targets named no base image (ContainerBaseImage is empty). Set ContainerBaseImage to the image pinned by digest (HOST/REPOSITORY@sha256:HEX), or use a .NET SDK that computes it.");
            return false;
        }

        string image = BaseImage!.Trim();
        try
        {
            var policy = ImagePolicy.Load(Path.Combine(ProjectDirectory, Policy.Trim()));
            var root = ImagePolicyVerifier.TrustedRoot(policy, policy.TrustedRootPath is null && !string.IsNullOrWhiteSpace(TrustedRoot) ? Path.Combine(ProjectDirectory, TrustedRoot!.Trim()) : null);
            var reference = ImageReference.Parse(image);
            using var http = new BoundedHttp(Deadline, SigstoreBundle.MaxBundleBytes);
            string? config = DockerCredentials.ConfigPath(Environment.GetEnvironmentVariable);
            var verdict = ImagePolicyVerifier.Verify(policy, reference, root, repository => new OciRegistryClient(repository, http, host => DockerCredentials.Find(config, host)));
            foreach (string line in verdict.Report)
            {
                Log.LogMessage(MessageImportance.Low, "SecureBuildBaseImagePolicy: " + line);
            }

            if (!verdict.Allowed)
            {
                LogCodedError(verdict.Code!, $"SecureBuildBaseImagePolicy: the base image {image} is refused: {verdict.Message}. "
                    + (verdict.Code == OciException.NotPinned ? "Pin ContainerBaseImage by digest (NAME:TAG@sha256:HEX)." : "Use a base image the policy allows, or change the policy."));
                return false;
            }

            Log.LogMessage(MessageImportance.Normal, "SecureBuildBaseImagePolicy: " + verdict.Message);
            return true;
        }
        catch (OciException e)
        {
            LogCodedError(e.Code, $"SecureBuildBaseImagePolicy: the base image {image} cannot be checked: {e.Message}. {e.Fix}");
            return false;
        }
    }
}
