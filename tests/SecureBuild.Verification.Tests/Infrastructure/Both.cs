using SecureBuild.Core.InToto.Verification;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>Verifies one case directory with our verifier and with in-toto-verify, each on its own copy.</summary>
internal static class Both
{
    public sealed record Outcome(Verdict Ours, VerificationResult Result, Verdict Reference)
    {
        public bool Agree => Ours.ExitCode == Reference.ExitCode && Ours.Kind == Reference.NormalizedKind();

        public override string ToString() =>
            $"ours: {Ours}\n{Ours.Output}\nreference: {Reference}\n{Reference.Output}";
    }

    /// <summary>
    /// <paramref name="keys"/>: layout public key files relative to <paramref name="caseDir"/> with their type.
    /// <paramref name="linkDir"/> and <paramref name="layout"/> are relative to the case dir too; both tools run in
    /// <c>caseDir/cwd</c>. in-toto-verify runs forked from <paramref name="reference"/>
    /// (by default the assembly's <see cref="ReferenceServer.Shared"/>) rather than started afresh.
    /// </summary>
    public static Outcome Run(string caseDir, IReadOnlyList<(string Path, string Type)> keys, string layout = "root.layout",
        string linkDir = "links", string cwd = "final", Action<LayoutVerifierOptions>? configure = null,
        ReferenceServer.Pool? reference = null)
    {
        string oursDir = caseDir + ".ours";
        string refDir = caseDir + ".ref";
        TestData.CopyDirectory(caseDir, oursDir);
        TestData.CopyDirectory(caseDir, refDir);
        try
        {
            string oursCwd = Path.Combine(oursDir, cwd);
            Directory.CreateDirectory(oursCwd);
            string rel = Path.GetRelativePath(Path.Combine(caseDir, cwd), caseDir);
            var result = Ours.Verify(oursCwd, Path.Combine(rel, layout), keys.Select(k => Path.Combine(rel, k.Path)).ToList(),
                Path.Combine(rel, linkDir), configure: configure);
            string refCwd = Path.Combine(refDir, cwd);
            Directory.CreateDirectory(refCwd);
            var refKeys = keys.Select(k => (Path.Combine(rel, k.Path), k.Type)).ToList();
            var verdict = (reference ?? ReferenceServer.Shared).Verify(refCwd, Path.Combine(rel, layout), refKeys, Path.Combine(rel, linkDir));
            return new Outcome(Ours.ToVerdict(result), result, verdict);
        }
        finally
        {
            TestData.DeleteDirectory(oursDir);
            TestData.DeleteDirectory(refDir);
        }
    }

    public static string NormalizedKind(this Verdict v) => Infrastructure.Reference.NormalizeKind(v.Kind);
}
