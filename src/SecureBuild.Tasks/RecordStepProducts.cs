using Microsoft.Build.Framework;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// Hashes a step's products after it ran and writes the signed link
/// <c>&lt;step&gt;.&lt;keyid8&gt;.link</c> with the materials recorded before the step.
/// </summary>
public sealed class RecordStepProducts : SigningStepTask
{
    /// <summary>The files the step wrote.</summary>
    public ITaskItem[] Products { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Directories whose every file is a product (the publish folder).</summary>
    public string[] ProductDirectories { get; set; } = Array.Empty<string>();

    /// <summary>Used only when no materials were recorded before the step (e.g. a build with --no-restore).</summary>
    public ITaskItem[] FallbackMaterials { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The step's command, recorded in the link; "{project}" stands for the project file's artifact name.</summary>
    public string[] Command { get; set; } = Array.Empty<string>();

    /// <summary>The project file, named in the command.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Also write SLSA provenance for this step's outputs.</summary>
    public bool WriteProvenance { get; set; }

    /// <summary>The outputs provenance is about; empty: every product.</summary>
    public ITaskItem[] Subjects { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The project's project.assets.json (resolved packages, with content hashes).</summary>
    public string? ProjectAssetsFile { get; set; }

    /// <summary>Targeting, runtime and apphost packs (metadata NuGetPackageId, NuGetPackageVersion, Kind).</summary>
    public ITaskItem[] Packs { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Properties that change the build (metadata Value); those whose value came from an environment variable are recorded as such.</summary>
    public ITaskItem[] BuildProperties { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Names (of global properties and environment variables) provenance records with their value besides the built-in allow-list.</summary>
    public ITaskItem[] RecordProperties { get; set; } = Array.Empty<ITaskItem>();

    public string? SdkVersion { get; set; }

    public string? MSBuildVersion { get; set; }

    public string? RuntimeVersion { get; set; }

    /// <summary>Identifies this build when no CI system does.</summary>
    public string? InvocationId { get; set; }

    /// <summary>The process environment provenance describes (tests give their own).</summary>
    internal Func<IEnumerable<KeyValuePair<string, string>>> EnvironmentSource { get; set; } = BuildEnvironment.Current;

    /// <summary>The link written (or confirmed up to date).</summary>
    [Output]
    public string? LinkFile { get; set; }

    /// <summary>The links this build and node recorded or confirmed, by <see cref="CallKey"/> (see BuildState for the lifetime).</summary>
    internal const string RecordedThisBuildKey = "SecureBuild.RecordedLinks";

    protected override void ApplySettings(RecordingSettings settings)
    {
        base.ApplySettings(settings);
        ProjectFile = SettingsItem.Or(ProjectFile, settings.ProjectFile);
        SdkVersion = SettingsItem.Or(SdkVersion, settings.SdkVersion);
        MSBuildVersion = SettingsItem.Or(MSBuildVersion, settings.MSBuildVersion);
        RuntimeVersion = SettingsItem.Or(RuntimeVersion, settings.RuntimeVersion);
    }

    protected override bool ExecuteCore()
    {
        RequireLinkDirectory();
        // A multi-targeted project records its restore step in every target framework's build, with the same inputs:
        // within one build (one snapshot: restore has run to completion before), the first call's link stands for the others.
        var recorded = BuildState.GetOrCreate(BuildEngine, RecordedThisBuildKey, () => new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal));
        var callKey = CallKey();
        if (recorded.TryGetValue(callKey, out var known) && File.Exists(known))
        {
            LinkFile = known;
            Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} link is up to date: {known} (recorded earlier in this build)");
            return true;
        }
        if (WriteProvenance && !DefinitionsCommittedInCi())
        {
            return false;
        }

        bool done;
        try
        {
            CertificateSigning.For(SigningSettings, LogCodedWarning)?.Dispose(); // an unknown SecureBuildSigning fails every step (SB5050)
            done = TryConfirmUnchanged() || Record();
        }
        catch (Core.Identity.KeylessException e)
        {
            LogCodedError(e.Code, $"{StepName}: keyless signing failed: {e.Message}. {e.Fix}");
            return false;
        }
        catch (Core.Spiffe.SvidException e)
        {
            LogCodedError(e.Code, $"{StepName}: SPIFFE signing failed: {e.Reason} {e.Fix}");
            return false;
        }

        if (done)
        {
            if (!Log.HasLoggedErrors && LinkFile is not null)
            {
                recorded[callKey] = LinkFile;
            }
            return true;
        }
        return false;
    }

    /// <summary>
    /// SB5410: a CI build (CiContext sees a CI system) whose build or pipeline definition files have changes git has not
    /// committed: the provenance would name a commit that is not what was built, and the pipeline would have changed
    /// outside source control. Local builds record the state (committed: false) and go on.
    /// </summary>
    private bool DefinitionsCommittedInCi()
    {
        var ci = CiContext.Detect(Environment());
        var root = RepositoryRootDirectory;
        if (ci.System == "local" || !ProvenanceInputs.IsGitWorkTree(BuildEngine, root))
        {
            return true;
        }

        var uncommitted = ProvenanceInputs.DescribeDefinitions(BuildEngine, root).Where(f => f.Committed == false).ToList();
        if (uncommitted.Count == 0)
        {
            return true;
        }

        LogCodedError(Core.Pipelines.PipelineCodes.DefinitionUncommittedInCi,
            $"this {ci.System} build has changes git has not committed to {string.Join(", ", uncommitted.Select(f => f.Path))}: " +
            "build and pipeline definitions change only through source control, and provenance would name a commit that is not what was built. " +
            "Commit the change (through review), or make the CI job start from a clean checkout; a step must not edit these files.");
        return false;
    }

    private Dictionary<string, string> Environment() =>
        EnvironmentSource().GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);

    private string RepositoryRootDirectory => string.IsNullOrWhiteSpace(RootDirectory) ? RepositoryRoot.Find(ProjectDirectory) : RootDirectory!;

    /// <summary>Everything a call's link depends on besides the files themselves: the same key means the same link in one build.</summary>
    private string CallKey() => string.Join("\u0000", new[]
        {
            StepName, Path.GetFullPath(MaterialsFile), Path.GetFullPath(LinkDirectory), SigningKey ?? "", DevelopmentKeyFile ?? "", RequireSigningKey ? "1" : "0",
            WriteProvenance ? "1" : "0", ProjectFile ?? "", RootDirectory ?? "", ProjectDirectory, HashAlgorithms ?? "", HashCacheFile ?? "",
            CertificateSigning.Describe(SigningSettings),
        }
        .Concat(Command).Concat(new[] { "|products" }).Concat(FullPaths(Products).OrderBy(p => p, StringComparer.Ordinal))
        .Concat(new[] { "|directories" }).Concat(ProductDirectories).Concat(new[] { "|subjects" }).Concat(FullPaths(Subjects))
        .Concat(new[] { "|roots" }).Concat(RootsNaming())
        .Concat(new[] { "|excluded" }).Concat(ExcludeDirectories));

    /// <summary>
    /// The artifact roots that can name something of this call (a product, a fallback material, the project file): a
    /// framework's own output folders name nothing of the restore step, so they do not make its calls differ.
    /// </summary>
    private IEnumerable<string> RootsNaming()
    {
        var named = FullPaths(Products).Concat(FullPaths(FallbackMaterials)).Concat(ProductDirectories.Select(Path.GetFullPath))
            .Concat(string.IsNullOrEmpty(ProjectFile) ? Array.Empty<string>() : new[] { Path.GetFullPath(ProjectFile!) }).ToList();
        foreach (var root in ArtifactRoots)
        {
            var folder = root.GetMetadata("FullPath").Replace('\\', '/').TrimEnd('/') + "/";
            if (named.Any(n => n.Replace('\\', '/').StartsWith(folder, StringComparison.OrdinalIgnoreCase)))
            {
                yield return folder + "=" + root.GetMetadata("Prefix") + "/" + root.GetMetadata("OutputFolder");
            }
        }
    }

    private bool Record()
    {
        StepFingerprint.Delete(StepFingerprint.LinkFingerprintFile(MaterialsFile));
        using var certificates = CertificateSigning.For(SigningSettings, LogCodedWarning);

        // SecureBuildSigning=spiffe: the link is signed with the workload's X.509-SVID and carries its chain ("cert"),
        // so a layout naming SPIFFE IDs accepts it. The SVID changes every build, so no fingerprint lets a later build
        // confirm this link unchanged (keyFile stays null).
        var svid = certificates?.LinkSigner();
        string? keyFile = null, keyHash = null;
        Core.Crypto.SigningKey? key;
        if (svid is not null)
        {
            key = svid.Key;
        }
        else
        {
            // The key file is read before the key is loaded: a key changing in between then changes this hash too.
            keyFile = SigningKeyResolver.ExistingKeyFile(SigningKey, DevelopmentKeyFile, RequireSigningKey);
            keyHash = keyFile is null ? null : LinkConfirmation.TryHashFile(keyFile);
            key = SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log);
            if (key is null)
            {
                return false;
            }
        }
        var recorder = CreateRecorder(loadCache: true, out var cache, out var settings);
        var materialsStat = LinkConfirmation.MaterialsState(MaterialsFile, StepName);
        var materials = StepRecorder.ReadPendingMaterials(MaterialsFile, StepName);
        if (materials is null)
        {
            Log.LogMessage(MessageImportance.Low, $"SecureBuild: no materials were recorded before step '{StepName}'; hashing them now.");
            materials = recorder.Record(FullPaths(FallbackMaterials));
            materialsStat = null;
        }
        var productFiles = recorder.Resolve(FullPaths(Products), ProductDirectories);
        // Looked at before hashing, so a product changing in between changes the stat hash too.
        var productsStat = StepFingerprint.OfFiles(productFiles, recorder.Missing, DateTime.UtcNow, settings);
        var products = recorder.Record(productFiles);
        WarnAboutMachineLocalNames(productFiles);
        cache.Save();
        var link = new Link
        {
            Name = StepName,
            Command = ResolvedCommand(recorder.Namer),
            Materials = materials,
            Products = products,
            Byproducts = new JsonMap(),
            Environment = new JsonMap(),
        };
        var (path, written, linkBytes) = StepRecorder.WriteLinkIfChangedWithBytes(link, key, LinkDirectory, svid?.ChainPem);
        LinkFile = path;
        if (svid is not null)
        {
            foreach (var stale in Core.InToto.LinkFile.DeleteOtherCertificateLinks(LinkDirectory, StepName, path))
            {
                Log.LogMessage(MessageImportance.Low, $"SecureBuild: {StepName}: removed {stale}, signed with an earlier SVID");
            }
        }

        WriteStatements(link, key, recorder, path, written, products, certificates);
        if (keyFile is not null && keyHash is not null && materialsStat is not null && productsStat is not null)
        {
            var companions = Companions(key.KeyId).Where(File.Exists).ToList();
            var inputs = new LinkInputs
            {
                Code = CodeVersion, StepName = StepName, Command = link.Command, KeyFile = keyFile, KeyHash = keyHash, KeyId = key.KeyId, Settings = settings, Signing = CertificateSigning.Describe(SigningSettings),
                MaterialsFile = MaterialsFile, MaterialsState = materialsStat, ProductsStat = productsStat, LinkPath = path,
                LinkHash = Core.Crypto.Sha256Hex.Of(linkBytes), WritesProvenance = WriteProvenance, Companions = companions,
            };
            StepFingerprint.WriteLink(MaterialsFile, new LinkFingerprint(inputs.Hash(), Path.GetFullPath(path), key.KeyId, companions));
        }
        Log.LogMessage(MessageImportance.Normal,
            written
                ? $"SecureBuild: {StepName} -> {path} ({materials.Count} materials, {products.Count} products)"
                : $"SecureBuild: {StepName} link is up to date: {path}");
        return true;
    }

    /// <summary>
    /// A product outside the repository, its output folders and every named root gets an "@external/&lt;hash of the
    /// directory&gt;/" name, which differs between machines: links from another clone or a rebuilder will not match.
    /// </summary>
    private void WarnAboutMachineLocalNames(IReadOnlyCollection<RecordedFile> products)
    {
        var local = products.Where(p => ArtifactNamer.IsMachineSpecific(p.Name)).ToList();
        if (local.Count == 0)
        {
            return;
        }
        var directory = Path.GetDirectoryName(local[0].FullPath) ?? local[0].FullPath;
        LogCodedWarning("SB2470",
            $"{local.Count} product(s) of step '{StepName}' lie outside the repository and its output folders (e.g. {local[0].FullPath}, named {local[0].Name}): " +
            "the name is made from this machine's path, so links from another clone or a rebuilder will not match. " +
            $"Write the outputs below the repository or to the output folder, or name the folder: <SecureBuildArtifactRoot Include=\"{directory}\" Prefix=\"@my-output\" />.");
    }

    /// <summary>
    /// The no-op build's path (<see cref="LinkConfirmation"/>): the link stands when nothing it records changed since it
    /// was signed or confirmed; any doubt takes the slow path.
    /// </summary>
    private bool TryConfirmUnchanged()
    {
        var keyFile = SigningKeyResolver.ExistingKeyFile(SigningKey, DevelopmentKeyFile, RequireSigningKey);
        var fingerprint = LinkConfirmation.Confirm(MaterialsFile, StepName, keyFile, stored =>
        {
            var recorder = CreateRecorder(loadCache: false, out _, out var settings);
            var productsStat = StepFingerprint.OfFiles(recorder.Resolve(FullPaths(Products), ProductDirectories), recorder.Missing, DateTime.UtcNow, settings);
            return productsStat is null ? null : new LinkInputs
            {
                Code = CodeVersion, Command = ResolvedCommand(recorder.Namer), Settings = settings, Signing = CertificateSigning.Describe(SigningSettings), ProductsStat = productsStat, WritesProvenance = WriteProvenance,
            };
        });
        if (fingerprint is null)
        {
            return false;
        }
        if (string.IsNullOrWhiteSpace(SigningKey))
        {
            SigningKeyResolver.WarnDevelopmentKeyUsed(BuildEngine, Log, keyFile!, fingerprint.KeyId);
        }
        LinkFile = fingerprint.LinkPath;
        Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} link is up to date: {fingerprint.LinkPath} (nothing it records changed)");
        return true;
    }

    /// <summary>The recording code's identity: a rebuilt task or Core assembly records links anew.</summary>
    private static readonly string CodeVersion = typeof(RecordStepProducts).Assembly.ManifestModule.ModuleVersionId.ToString("N") + "/" +
        typeof(StepRecorder).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    private List<string> ResolvedCommand(ArtifactNamer namer) =>
        ParameterAllowList.ForProperties(RecordProperties.Select(i => i.ItemSpec), namer.NamePathsIn)
            .RedactCommand(Command.Select(a => a == "{project}" && !string.IsNullOrEmpty(ProjectFile) ? namer.Name(ProjectFile!) : a)).ToList();

    /// <summary>The files written with the link that a no-op build would otherwise recreate when missing.</summary>
    private IEnumerable<string> Companions(string keyId)
    {
        yield return Path.GetFullPath(Path.Combine(LinkDirectory, StepAttestations.LinkStatementFileName(StepName, keyId)));
        if (WriteProvenance)
        {
            yield return Path.GetFullPath(Path.Combine(LinkDirectory, StepAttestations.ProvenanceFileName(StepName)));
        }
    }

    /// <summary>
    /// The link as a DSSE statement, and provenance for the outputs. Both are rewritten only when the
    /// link was (a no-op build produced nothing new, so the provenance of the existing outputs stands).
    /// </summary>
    private void WriteStatements(Link link, Core.Crypto.SigningKey key, StepRecorder recorder, string linkPath, bool linkWritten,
        SortedDictionary<string, IReadOnlyDictionary<string, string>> products, CertificateSigning? keyless)
    {
        var linkStatementPath = Path.Combine(LinkDirectory, StepAttestations.LinkStatementFileName(StepName, key.KeyId));
        if (linkWritten || !File.Exists(linkStatementPath))
        {
            var statement = StepAttestations.LinkStatement(link);
            if (statement is not null)
            {
                StepAttestations.WriteEnvelope(statement, key, linkStatementPath);
            }
        }
        if (!WriteProvenance)
        {
            return;
        }
        var provenancePath = Path.Combine(LinkDirectory, StepAttestations.ProvenanceFileName(StepName));
        if (!linkWritten && File.Exists(provenancePath))
        {
            return;
        }
        var environment = Environment();
        var root = RepositoryRootDirectory;
        var provenance = ProvenanceInputs.Create(this, recorder.Namer, environment, root,
            StepFingerprint.ReadStat(MaterialsFile, StepName)?.StartedOn ?? StepRecorder.ReadPendingStartedOn(MaterialsFile), DateTimeOffset.UtcNow);
        foreach (var subject in StepProvenance.Subjects(products, FullPaths(Subjects).ToList(), FullPaths(Products), recorder.Namer))
        {
            provenance.Subjects.Add(subject);
        }
        if (provenance.Subjects.Count == 0)
        {
            Log.LogMessage(MessageImportance.Low, $"SecureBuild: step '{StepName}' has no outputs to write provenance for.");
            return;
        }
        provenance.Byproducts.Add(ProvenanceStatement.Resource(name: Path.GetFileName(linkPath), digest: StepAttestations.Sha256Of(linkPath),
            annotations: null));
        ((JsonMap)provenance.Byproducts[0])["mediaType"] = "application/vnd.in-toto.link+json";
        StepAttestations.WriteEnvelope(provenance.ToJson(), key, provenancePath,
            Path.Combine(LinkDirectory, StepAttestations.ProvenanceBundleFileName(StepName)), keyless);
        Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} provenance -> {provenancePath} ({provenance.Subjects.Count} subjects)");
        if (keyless is not null)
        {
            foreach (var package in FullPaths(Subjects).Concat(FullPaths(Products)).Distinct(StringComparer.Ordinal)
                .Where(p => (p.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".snupkg", StringComparison.OrdinalIgnoreCase)) && File.Exists(p)))
            {
                Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} package signature -> {keyless.SignFile(package)}");
            }

            Log.LogMessage(MessageImportance.Normal, $"SecureBuild: {StepName} {keyless.Summary}");
        }
    }
}
