using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Recording;

/// <summary>A recorder for one step and what its digests depend on besides file content.</summary>
/// <param name="Recorder">Names and hashes the step's files.</param>
/// <param name="Cache">The digest cache the recorder hashes through (saved after recording).</param>
/// <param name="Settings">The algorithms and the path mapping (see <see cref="StepFingerprint.OfFiles"/>).</param>
public sealed record StepRecorderSetup(StepRecorder Recorder, FileHashCache Cache, string Settings);

/// <summary>
/// What a step's "after" half is given: the step's outputs and command, where its materials and link are, and the
/// pieces only the build can supply (the recorder for the project's settings, the key, provenance, certificate signing).
/// The RecordStepProducts task fills it from its items and properties.
/// </summary>
public sealed class StepLinkRequest
{
    public StepLinkRequest(string stepName, string materialsFile, string linkDirectory)
    {
        StepName = stepName ?? throw new ArgumentNullException(nameof(stepName));
        MaterialsFile = materialsFile ?? throw new ArgumentNullException(nameof(materialsFile));
        LinkDirectory = linkDirectory ?? throw new ArgumentNullException(nameof(linkDirectory));
    }

    public string StepName { get; }

    /// <summary>Where the step's materials were kept by its "before" half (and its fingerprints beside it).</summary>
    public string MaterialsFile { get; }

    /// <summary>The attestation directory.</summary>
    public string LinkDirectory { get; }

    /// <summary>Full paths of the files the step wrote.</summary>
    public IReadOnlyList<string> Products { get; set; } = Array.Empty<string>();

    /// <summary>Directories whose every file is a product (the publish folder).</summary>
    public IReadOnlyList<string> ProductDirectories { get; set; } = Array.Empty<string>();

    /// <summary>Full paths hashed as materials when none were recorded before the step.</summary>
    public IReadOnlyList<string> FallbackMaterials { get; set; } = Array.Empty<string>();

    /// <summary>Full paths of the outputs provenance is about; empty: every product.</summary>
    public IReadOnlyList<string> Subjects { get; set; } = Array.Empty<string>();

    /// <summary>The step's command; "{project}" stands for the project file's artifact name.</summary>
    public IReadOnlyList<string> Command { get; set; } = Array.Empty<string>();

    /// <summary>The project file named in the command.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Names recorded with their value besides the built-in allow-list (the command is redacted with them too).</summary>
    public IReadOnlyList<string> RecordProperties { get; set; } = Array.Empty<string>();

    /// <summary>Also write SLSA provenance for the step's outputs.</summary>
    public bool WriteProvenance { get; set; }

    /// <summary>The private key file configured (SecureBuildSigningKey); empty: the development key.</summary>
    public string? SigningKey { get; set; }

    public string? DevelopmentKeyFile { get; set; }

    public bool RequireSigningKey { get; set; }

    /// <summary>How the step signs (key, or keyless with its services), for fingerprints: a switch re-signs the step.</summary>
    public string Signing { get; set; } = "";

    /// <summary>The recording code's identity: a rebuilt task or Core assembly records links anew.</summary>
    public string CodeVersion { get; set; } = "";

    /// <summary>The recorder for the project's settings; the argument says whether the digest cache is loaded (not for a recorder that only resolves names).</summary>
    public Func<bool, StepRecorderSetup> CreateRecorder { get; set; } = _ => throw new InvalidOperationException("no recorder");

    /// <summary>The key that signs; null when there is none (the caller reported why).</summary>
    public Func<SigningKey?> LoadKey { get; set; } = () => null;

    /// <summary>The step's provenance statement without subjects and byproducts, for the namer and the step's start time.</summary>
    public Func<ArtifactNamer, DateTimeOffset?, ProvenanceStatement> Provenance { get; set; } = (_, _) => throw new InvalidOperationException("no provenance");

    /// <summary>Keyless or SPIFFE signing for the provenance bundle and the packages (null: key signing); disposed after use when disposable.</summary>
    public Func<ICertificateSigner?> CertificateSigner { get; set; } = () => null;

    /// <summary>The clock (tests pin it).</summary>
    public Func<DateTime> UtcNow { get; set; } = () => DateTime.UtcNow;
}

/// <summary>What recording the step's link did.</summary>
/// <param name="LinkFile">The link written or confirmed; null when there was no key to sign with (the caller reported why).</param>
/// <param name="ConfirmedKeyId">The key id when the existing link was confirmed unchanged without loading the key; else null.</param>
/// <param name="Diagnostics">Warnings and log lines, in order.</param>
public sealed record StepLinkResult(string? LinkFile, string? ConfirmedKeyId, IReadOnlyList<CodedDiagnostic> Diagnostics);

/// <summary>
/// The "after" half of recording a step as one call: when nothing the link records changed since it was signed
/// (<see cref="LinkConfirmation"/>), the link stands; otherwise the products are hashed, the link is signed with the
/// materials recorded before the step and written when it changed, with its DSSE statement and, when asked, SLSA
/// provenance for the outputs (and, signing keyless, a Sigstore bundle per package). The fingerprint of what the link
/// depends on is written for the next no-op build.
/// </summary>
public static class StepLinkRecording
{
    /// <summary>SB2470: a product is named from this machine's path.</summary>
    public const string MachineLocalProductName = "SB2470";

    /// <exception cref="IOException">A file cannot be read or written.</exception>
    public static StepLinkResult Record(StepLinkRequest request)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }

        var found = new List<CodedDiagnostic>();
        var confirmed = TryConfirmUnchanged(request);
        if (confirmed is not null)
        {
            found.Add(CodedDiagnostic.Message($"SecureBuild: {request.StepName} link is up to date: {confirmed.LinkPath} (nothing it records changed)"));
            return new StepLinkResult(confirmed.LinkPath, confirmed.KeyId, found);
        }

        return new StepLinkResult(RecordLink(request, found), null, found);
    }

    /// <summary>The file names and command the link records, as the link names them.</summary>
    public static List<string> ResolvedCommand(StepLinkRequest request, ArtifactNamer namer) =>
        ParameterAllowList.ForProperties(request.RecordProperties, namer.NamePathsIn)
            .RedactCommand(request.Command.Select(a => a == "{project}" && !string.IsNullOrEmpty(request.ProjectFile) ? namer.Name(request.ProjectFile!) : a)).ToList();

    /// <summary>
    /// The no-op build's path (<see cref="LinkConfirmation"/>): the link stands when nothing it records changed since it
    /// was signed or confirmed; any doubt takes the slow path.
    /// </summary>
    private static LinkFingerprint? TryConfirmUnchanged(StepLinkRequest request)
    {
        var keyFile = SigningKeyResolver.ExistingKeyFile(request.SigningKey, request.DevelopmentKeyFile, request.RequireSigningKey);
        return LinkConfirmation.Confirm(request.MaterialsFile, request.StepName, keyFile, stored =>
        {
            var setup = request.CreateRecorder(false);
            var recorder = setup.Recorder;
            var productsStat = StepFingerprint.OfFiles(recorder.Resolve(request.Products, request.ProductDirectories), recorder.Missing, request.UtcNow(), setup.Settings);
            return productsStat is null ? null : new LinkInputs
            {
                Code = request.CodeVersion, Command = ResolvedCommand(request, recorder.Namer), Settings = setup.Settings, Signing = request.Signing,
                ProductsStat = productsStat, WritesProvenance = request.WriteProvenance,
            };
        });
    }

    private static string? RecordLink(StepLinkRequest request, List<CodedDiagnostic> found)
    {
        StepFingerprint.Delete(StepFingerprint.LinkFingerprintFile(request.MaterialsFile));
        var certificate = request.CertificateSigner();
        try
        {
            return RecordLink(request, certificate, found);
        }
        finally
        {
            (certificate as IDisposable)?.Dispose();
        }
    }

    private static string? RecordLink(StepLinkRequest request, ICertificateSigner? certificate, List<CodedDiagnostic> found)
    {
        var step = request.StepName;
        var materialsFile = request.MaterialsFile;
        // SecureBuildSigning=spiffe: the link is signed with the workload's X.509-SVID and carries its chain ("cert"),
        // so a layout naming SPIFFE IDs accepts it. The SVID changes every build, so no fingerprint lets a later build
        // confirm this link unchanged (keyFile stays null).
        var svid = certificate?.LinkSigner();
        string? keyFile = null, keyHash = null;
        SigningKey? key;
        if (svid is not null)
        {
            key = svid.Key;
        }
        else
        {
            // The key file is read before the key is loaded: a key changing in between then changes this hash too.
            keyFile = SigningKeyResolver.ExistingKeyFile(request.SigningKey, request.DevelopmentKeyFile, request.RequireSigningKey);
            keyHash = keyFile is null ? null : LinkConfirmation.TryHashFile(keyFile);
            key = request.LoadKey();
            if (key is null)
            {
                return null;
            }
        }
        var (recorder, cache, settings) = request.CreateRecorder(true);
        var materialsStat = LinkConfirmation.MaterialsState(materialsFile, step);
        var materials = StepRecorder.ReadPendingMaterials(materialsFile, step);
        if (materials is null)
        {
            found.Add(CodedDiagnostic.Detail($"SecureBuild: no materials were recorded before step '{step}'; hashing them now."));
            materials = recorder.Record(request.FallbackMaterials);
            materialsStat = null;
        }
        var productFiles = recorder.Resolve(request.Products, request.ProductDirectories);
        // Looked at before hashing, so a product changing in between changes the stat hash too.
        var productsStat = StepFingerprint.OfFiles(productFiles, recorder.Missing, request.UtcNow(), settings);
        var products = recorder.Record(productFiles);
        found.AddRange(MachineLocalNames(step, productFiles));
        cache.Save();
        var link = new Link
        {
            Name = step,
            Command = ResolvedCommand(request, recorder.Namer),
            Materials = materials,
            Products = products,
            Byproducts = new JsonMap(),
            Environment = new JsonMap(),
        };
        var (path, written, linkBytes) = StepRecorder.WriteLinkIfChangedWithBytes(link, key, request.LinkDirectory, svid?.ChainPem);
        if (svid is not null)
        {
            foreach (var stale in LinkFile.DeleteOtherCertificateLinks(request.LinkDirectory, step, path))
            {
                found.Add(CodedDiagnostic.Detail($"SecureBuild: {step}: removed {stale}, signed with an earlier SVID"));
            }
        }

        WriteStatements(request, link, key, recorder, path, written, products, certificate, found);
        if (keyFile is not null && keyHash is not null && materialsStat is not null && productsStat is not null)
        {
            var companions = Companions(request, key.KeyId).Where(File.Exists).ToList();
            var inputs = new LinkInputs
            {
                Code = request.CodeVersion, StepName = step, Command = link.Command, KeyFile = keyFile, KeyHash = keyHash, KeyId = key.KeyId, Settings = settings,
                Signing = request.Signing, MaterialsFile = materialsFile, MaterialsState = materialsStat, ProductsStat = productsStat, LinkPath = path,
                LinkHash = Sha256Hex.Of(linkBytes), WritesProvenance = request.WriteProvenance, Companions = companions,
            };
            StepFingerprint.WriteLink(materialsFile, new LinkFingerprint(inputs.Hash(), Path.GetFullPath(path), key.KeyId, companions));
        }
        found.Add(CodedDiagnostic.Message(written
            ? $"SecureBuild: {step} -> {path} ({materials.Count} materials, {products.Count} products)"
            : $"SecureBuild: {step} link is up to date: {path}"));
        return path;
    }

    /// <summary>
    /// SB2470: a product outside the repository, its output folders and every named root gets an "@external/&lt;hash of
    /// the directory&gt;/" name, which differs between machines: links from another clone or a rebuilder will not match.
    /// </summary>
    private static IEnumerable<CodedDiagnostic> MachineLocalNames(string step, IReadOnlyCollection<RecordedFile> products)
    {
        var local = products.Where(p => ArtifactNamer.IsMachineSpecific(p.Name)).ToList();
        if (local.Count == 0)
        {
            yield break;
        }
        var directory = Path.GetDirectoryName(local[0].FullPath) ?? local[0].FullPath;
        yield return CodedDiagnostic.Warning(MachineLocalProductName,
            $"{local.Count} product(s) of step '{step}' lie outside the repository and its output folders (e.g. {local[0].FullPath}, named {local[0].Name}): " +
            "the name is made from this machine's path, so links from another clone or a rebuilder will not match. " +
            $"Write the outputs below the repository or to the output folder, or name the folder: <SecureBuildArtifactRoot Include=\"{directory}\" Prefix=\"@my-output\" />.");
    }

    /// <summary>The files written with the link that a no-op build would otherwise recreate when missing.</summary>
    private static IEnumerable<string> Companions(StepLinkRequest request, string keyId)
    {
        yield return Path.GetFullPath(Path.Combine(request.LinkDirectory, StepAttestations.LinkStatementFileName(request.StepName, keyId)));
        if (request.WriteProvenance)
        {
            yield return Path.GetFullPath(Path.Combine(request.LinkDirectory, StepAttestations.ProvenanceFileName(request.StepName)));
            yield return Path.GetFullPath(Path.Combine(request.LinkDirectory, StepAttestations.ProvenanceBundleFileName(request.StepName)));
        }
    }

    /// <summary>
    /// The link as a DSSE statement, and provenance for the outputs. Both are rewritten only when the
    /// link was (a no-op build produced nothing new, so the provenance of the existing outputs stands).
    /// </summary>
    private static void WriteStatements(StepLinkRequest request, Link link, SigningKey key, StepRecorder recorder, string linkPath, bool linkWritten,
        SortedDictionary<string, IReadOnlyDictionary<string, string>> products, ICertificateSigner? certificate, List<CodedDiagnostic> found)
    {
        var step = request.StepName;
        var linkStatementPath = Path.Combine(request.LinkDirectory, StepAttestations.LinkStatementFileName(step, key.KeyId));
        if (linkWritten || !File.Exists(linkStatementPath))
        {
            var statement = StepAttestations.LinkStatement(link);
            if (statement is not null)
            {
                StepAttestations.WriteEnvelope(statement, key, linkStatementPath);
            }
        }
        if (!request.WriteProvenance)
        {
            return;
        }
        var provenancePath = Path.Combine(request.LinkDirectory, StepAttestations.ProvenanceFileName(step));
        var bundlePath = Path.Combine(request.LinkDirectory, StepAttestations.ProvenanceBundleFileName(step));
        if (!linkWritten && File.Exists(provenancePath) && File.Exists(bundlePath))
        {
            return;
        }
        var provenance = request.Provenance(recorder.Namer,
            StepFingerprint.ReadStat(request.MaterialsFile, step)?.StartedOn ?? StepRecorder.ReadPendingStartedOn(request.MaterialsFile));
        foreach (var subject in StepProvenance.Subjects(products, request.Subjects, request.Products, recorder.Namer))
        {
            provenance.Subjects.Add(subject);
        }
        if (provenance.Subjects.Count == 0)
        {
            found.Add(CodedDiagnostic.Detail($"SecureBuild: step '{step}' has no outputs to write provenance for."));
            return;
        }
        provenance.Byproducts.Add(ProvenanceStatement.Resource(name: Path.GetFileName(linkPath), digest: StepAttestations.Sha256Of(linkPath), annotations: null));
        ((JsonMap)provenance.Byproducts[0])["mediaType"] = "application/vnd.in-toto.link+json";
        StepAttestations.WriteEnvelope(provenance.ToJson(), key, provenancePath, bundlePath, certificate);
        found.Add(CodedDiagnostic.Message($"SecureBuild: {step} provenance -> {provenancePath} ({provenance.Subjects.Count} subjects)"));
        if (certificate is not null)
        {
            foreach (var package in request.Subjects.Concat(request.Products).Distinct(StringComparer.Ordinal)
                .Where(p => (p.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".snupkg", StringComparison.OrdinalIgnoreCase)) && File.Exists(p)))
            {
                found.Add(CodedDiagnostic.Message($"SecureBuild: {step} package signature -> {certificate.SignFile(package)}"));
            }

            found.Add(CodedDiagnostic.Message($"SecureBuild: {step} {certificate.Summary}"));
        }
    }
}
