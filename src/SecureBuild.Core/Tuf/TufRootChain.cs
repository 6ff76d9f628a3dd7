namespace SecureBuild.Core.Tuf;

/// <summary>
/// The root rotation rule (TUF 5.3.4 to 5.3.6), the one home both the client and `securebuild trust verify-root` use:
/// root N+1 is accepted only when a threshold of root N's root keys and a threshold of its own root keys signed it,
/// and its version is exactly N+1.
/// </summary>
public static class TufRootChain
{
    /// <exception cref="TufException">SB5200 malformed, SB5201 threshold, SB5202 version.</exception>
    public static TufRootMetadata Next(TufRootMetadata trusted, byte[] bytes, string source)
    {
        var next = (TufRootMetadata)TufMetadata.Parse(bytes, "root", source);
        next.VerifyThreshold(trusted.Roles["root"], trusted.Keys, "root", $"trusted root version {trusted.Version}");
        if (next.Version != trusted.Version + 1)
        {
            throw new TufException(TufException.RootVersionNotConsecutive,
                $"{source} holds root version {next.Version}; after trusted root version {trusted.Version} only version {trusted.Version + 1} is accepted.",
                "Root versions must follow each other one by one (a rollback or a skipped rotation); the repository must serve the missing root.");
        }

        next.VerifyThreshold(next.Roles["root"], next.Keys, "root", $"root version {next.Version} itself");
        return next;
    }

    /// <summary>Checks a whole chain offline from a trusted root; the last root must not be expired at <paramref name="now"/>.</summary>
    public static TufRootMetadata Verify(byte[] trustedRoot, IEnumerable<(string Source, byte[] Bytes)> chain, DateTimeOffset now)
    {
        var current = (TufRootMetadata)TufMetadata.Parse(trustedRoot, "root", "trusted root");
        foreach (var (source, bytes) in chain)
        {
            current = Next(current, bytes, source);
        }

        if (current.IsExpired(now))
        {
            throw new TufException(TufException.Expired, $"the last root (version {current.Version}) expired at {TufRepository.Time(current.Expires)} (verification time {TufRepository.Time(now)}).",
                "A chain must end in a root that is valid now; to audit an old chain give the time it was valid at (--reference-time).");
        }

        return current;
    }
}
