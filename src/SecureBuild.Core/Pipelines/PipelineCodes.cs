namespace SecureBuild.Core.Pipelines;

/// <summary>
/// The SB codes of `securebuild init` (SB540x), `securebuild compare`'s verification summary (SB545x) and
/// `securebuild pipeline check` (SB550x GitHub Actions, SB552x Tekton). Causes and fixes: README.md, "Pipelines as code".
/// </summary>
public static class PipelineCodes
{
    /// <summary>A file init would write exists with other content; kept (no --force).</summary>
    public const string FileKept = "SB5400";

    /// <summary>global.json cannot be edited (not strict JSON, not an object, msbuild-sdks not an object).</summary>
    public const string GlobalJsonUnusable = "SB5401";

    /// <summary>global.json pins SecureBuild.Sdk to another version; kept (no --force).</summary>
    public const string SdkVersionDiffers = "SB5402";

    /// <summary>Directory.Build.props cannot be edited (not well-formed XML, no Project root).</summary>
    public const string PropsUnusable = "SB5403";

    /// <summary>No engine given and none or several detected; or an unknown --ci value.</summary>
    public const string UnknownEngine = "SB5404";

    /// <summary>The lock could not be written (its build failed).</summary>
    public const string LockFailed = "SB5405";

    /// <summary>Bad pipeline settings: a builder name or label, a threshold outside 1..builders.</summary>
    public const string BadSettings = "SB5406";

    /// <summary>init --check: a generated file differs from what init would write now (edited by hand, or from another version).</summary>
    public const string Drift = "SB5407";

    /// <summary>A file init would write or edit cannot be read or written.</summary>
    public const string FileUnwritable = "SB5408";

    /// <summary>init --check: a pipeline or build-definition file has changes git has not committed.</summary>
    public const string Uncommitted = "SB5409";

    /// <summary>A CI build whose build or pipeline definition files have changes git has not committed (raised by the SDK where provenance is written).</summary>
    public const string DefinitionUncommittedInCi = "SB5410";

    /// <summary>compare --policy: the policy cannot be read or contradicts --threshold / the keys given.</summary>
    public const string PolicyUnusable = "SB5450";

    /// <summary>compare --vsa: the verification summary cannot be written.</summary>
    public const string VsaUnwritable = "SB5451";

    /// <summary>The organisation policy (--org-policy) cannot be read, is not securebuild-org-policy/v1, or has an unknown or ill-typed member.</summary>
    public const string OrgPolicyUnusable = "SB5452";

    /// <summary>The pipeline's builders, threshold or engine fall short of the organisation policy.</summary>
    public const string OrgPolicyViolated = "SB5453";

    /// <summary>An action or reusable workflow not pinned by a full commit SHA.</summary>
    public const string UnpinnedAction = "SB5500";

    /// <summary>No permissions block (the token gets the repository default), or write-all / read-all, or a write scope at workflow level.</summary>
    public const string BroadPermissions = "SB5501";

    /// <summary>pull_request_target (or workflow_run) together with a checkout of the untrusted head.</summary>
    public const string UntrustedCheckout = "SB5502";

    /// <summary>A job that builds (dotnet build/pack/publish/test, msbuild) sees a secret or may request an OIDC token.</summary>
    public const string SecretsInBuild = "SB5503";

    /// <summary>A job without timeout-minutes (the default is 360 minutes).</summary>
    public const string MissingTimeout = "SB5504";

    /// <summary>No concurrency group: two runs of the same ref race on outputs and attestations.</summary>
    public const string MissingConcurrency = "SB5505";

    /// <summary>actions/checkout leaves the token in .git/config (persist-credentials not false).</summary>
    public const string PersistedCredentials = "SB5506";

    /// <summary>An attacker-controlled expression (an issue or PR title, a branch name) expanded inside a run script.</summary>
    public const string ScriptInjection = "SB5507";

    /// <summary>The file is not a readable GitHub Actions workflow.</summary>
    public const string UnreadableWorkflow = "SB5508";

    /// <summary>A keyless signing step (actions/attest*, cosign sign/attest without --key) in a job without id-token: write.</summary>
    public const string SigningWithoutOidc = "SB5509";

    /// <summary>securebuild compare --threshold K in a job that needs fewer than K builders (or K below 1).</summary>
    public const string ImpossibleThreshold = "SB5510";

    /// <summary>A Tekton result named like a Chains type hint that Chains cannot read: wrong case or type, an object without uri/digest, half a pair.</summary>
    public const string TektonHintShape = "SB5520";

    /// <summary>A Tekton Task or Pipeline that builds but has no Chains output hint among its results: its provenance names no artifact.</summary>
    public const string TektonNoSubject = "SB5521";

    /// <summary>A Tekton step, sidecar or stepTemplate image not pinned by digest.</summary>
    public const string TektonUnpinnedImage = "SB5522";

    /// <summary>A Tekton step that may run as root (no runAsNonRoot: true and no non-zero runAsUser, or runAsUser: 0).</summary>
    public const string TektonRunsAsRoot = "SB5523";

    /// <summary>A Tekton step whose root file system is writable (readOnlyRootFilesystem not true).</summary>
    public const string TektonWritableRoot = "SB5524";

    /// <summary>A Tekton step that is privileged or may escalate privileges (allowPrivilegeEscalation not false).</summary>
    public const string TektonPrivileged = "SB5525";

    /// <summary>A Tekton compare task whose threshold param is below 1 or above the number of builders it lists.</summary>
    public const string TektonImpossibleThreshold = "SB5526";
}
