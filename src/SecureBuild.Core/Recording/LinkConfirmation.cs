namespace SecureBuild.Core.Recording;

/// <summary>
/// Everything a step's signed link (and whether its companion statements are rewritten) depends on, as one hash: the
/// code that records it, the step, the command, the key file's content and key id, the digest settings, the materials
/// (their stat hash and the pending-materials file), the products' stat hash, the link file itself and the companions.
/// Any change of one of them changes <see cref="Hash"/>, so a no-op build takes the slow path.
/// </summary>
public sealed class LinkInputs
{
    /// <summary>Identifies the recording code (e.g. the module version ids of the task and Core assemblies).</summary>
    public string Code { get; set; } = "";
    public string StepName { get; set; } = "";
    public IEnumerable<string> Command { get; set; } = Array.Empty<string>();
    public string KeyFile { get; set; } = "";
    public string KeyHash { get; set; } = "";
    public string KeyId { get; set; } = "";

    /// <summary>What digests depend on besides content (algorithms, path mapping).</summary>
    public string Settings { get; set; } = "";
    public string MaterialsFile { get; set; } = "";

    /// <summary><see cref="LinkConfirmation.MaterialsState"/>.</summary>
    public string MaterialsState { get; set; } = "";

    /// <summary><see cref="StepFingerprint.OfFiles"/> of the products.</summary>
    public string ProductsStat { get; set; } = "";
    public string LinkPath { get; set; } = "";
    public string LinkHash { get; set; } = "";
    public bool WritesProvenance { get; set; }
    /// <summary>How the step signs (key, or keyless with its services): a switch re-signs the step.</summary>
    public string Signing { get; set; } = "";
    public IEnumerable<string> Companions { get; set; } = Array.Empty<string>();

    public string Hash()
    {
        var lines = new List<string>
        {
            "code\t" + Code,
            "step\t" + StepName,
            "command\t" + string.Join("\u0000", Command),
            "key\t" + KeyFile + "\t" + KeyHash + "\t" + KeyId,
            "settings\t" + Settings,
            "materials\t" + MaterialsFile + "\t" + MaterialsState,
            "products\t" + ProductsStat,
            "link\t" + Path.GetFullPath(LinkPath) + "\t" + LinkHash,
            "provenance\t" + (WritesProvenance ? "yes" : "no"),
            "signing\t" + Signing,
        };
        lines.AddRange(Companions.Select(c => "companion\t" + c));
        return Crypto.Sha256Hex.Of(string.Join("\n", lines));
    }
}

/// <summary>
/// The no-op build's path for a step's link: when the fingerprint the last signed (or confirmed) link left shows that
/// nothing it records changed since (<see cref="LinkInputs"/>), the link stands as it is, without loading the key,
/// parsing the materials, hashing, canonicalizing or verifying. Any doubt (no fingerprint, a file written too recently
/// to trust its time, a missing or unreadable file) is a "no": the caller records the link the slow way.
/// </summary>
public static class LinkConfirmation
{
    /// <summary>
    /// The materials as the link fingerprint knows them: their stat hash and the hash of the pending-materials file
    /// (read before the materials are parsed); null when no stat was recorded with them.
    /// </summary>
    public static string? MaterialsState(string materialsFile, string stepName)
    {
        var stat = StepFingerprint.ReadStat(materialsFile, stepName);
        var pending = stat is null || !File.Exists(materialsFile) ? null : TryHashFile(materialsFile);
        return stat is null || pending is null ? null : stat.Hash + ":" + pending;
    }

    /// <summary>SHA-256 of a file, or null when it cannot be read.</summary>
    public static string? TryHashFile(string path)
    {
        try
        {
            return Crypto.Sha256Hex.OfFile(path);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The stored fingerprint when the link next to <paramref name="materialsFile"/> still stands, else null.
    /// <paramref name="inputs"/> fills in what only the caller knows (code, command, settings, products' stat) for the
    /// stored fingerprint's link and key id; this method fills in the key, the materials, the link's hash and the
    /// companions, and compares. <paramref name="inputs"/> returning null (e.g. a product too recent to trust) is a "no".
    /// </summary>
    public static LinkFingerprint? Confirm(string materialsFile, string stepName, string? keyFile, Func<LinkFingerprint, LinkInputs?> inputs)
    {
        try
        {
            var fingerprint = StepFingerprint.ReadLink(materialsFile);
            var materialsState = MaterialsState(materialsFile, stepName);
            if (fingerprint is null || keyFile is null || materialsState is null ||
                !File.Exists(fingerprint.LinkPath) || !fingerprint.Companions.All(File.Exists))
            {
                return null;
            }
            var known = inputs(fingerprint);
            var keyHash = TryHashFile(keyFile);
            var linkHash = TryHashFile(fingerprint.LinkPath);
            if (known is null || keyHash is null || linkHash is null)
            {
                return null;
            }
            known.StepName = stepName;
            known.MaterialsFile = materialsFile;
            known.MaterialsState = materialsState;
            known.KeyFile = keyFile;
            known.KeyHash = keyHash;
            known.KeyId = fingerprint.KeyId;
            known.LinkPath = fingerprint.LinkPath;
            known.LinkHash = linkHash;
            known.Companions = fingerprint.Companions;
            return string.Equals(known.Hash(), fingerprint.Inputs, StringComparison.Ordinal) ? fingerprint : null;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }
}
