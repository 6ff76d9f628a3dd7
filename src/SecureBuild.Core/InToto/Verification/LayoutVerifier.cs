using System.Globalization;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// Verifies a supply chain against a classic in-toto v0.9 layout with the semantics of Debian's in-toto-verify
/// 1.3.1 (<c>in_toto.verifylib.in_toto_verify</c>), in its order: layout signatures, expiry, link files, link
/// signatures and thresholds, sublayouts, command alignment (a warning), artifact agreement for thresholds &gt; 1,
/// step rules, inspections, inspection rules. Verification stops at the first failure. Links the reference drops
/// silently are reported in <see cref="VerificationResult.DroppedLinks"/> with the reason. Bad input never passes
/// and never throws: it becomes a <see cref="FailureKind.FormatError"/>.
/// </summary>
public sealed class LayoutVerifier
{
    private readonly LayoutVerifierOptions _options;

    public LayoutVerifier(LayoutVerifierOptions? options = null)
    {
        _options = options ?? new LayoutVerifierOptions();
    }

    /// <summary>Reads the layout file and verifies.</summary>
    public VerificationResult Verify(string layoutPath, IReadOnlyList<PublicKey> layoutKeys)
    {
        if (layoutPath is null)
        {
            throw new ArgumentNullException(nameof(layoutPath));
        }

        var session = new Session(_options);
        try
        {
            var bytes = session.ReadMetadataBytes(layoutPath) ?? throw VerificationAbort.Format($"Cannot read the layout file {layoutPath}.", layoutPath);
            return session.Run(bytes, layoutPath, layoutKeys);
        }
        catch (VerificationAbort abort)
        {
            return session.Finish(abort.Failure);
        }
    }

    /// <summary>Verifies a layout given as file bytes; <paramref name="layoutName"/> is used in messages.</summary>
    public VerificationResult Verify(byte[] layoutBytes, string layoutName, IReadOnlyList<PublicKey> layoutKeys)
    {
        if (layoutBytes is null)
        {
            throw new ArgumentNullException(nameof(layoutBytes));
        }

        return new Session(_options).Run(layoutBytes, layoutName ?? "layout", layoutKeys ?? Array.Empty<PublicKey>());
    }

    private sealed class Session
    {
        private readonly LayoutVerifierOptions _o;
        private readonly List<VerificationWarning> _warnings = new();
        private readonly List<DroppedLink> _dropped = new();
        private readonly Dictionary<string, IReadOnlyList<string>> _performedBy = new(StringComparer.Ordinal);
        private readonly List<string> _log = new();
        private readonly List<LinkPrefetch> _prefetches = new();
        private int _linkCount;
        private int _steps;
        private int _inspections;

        public Session(LayoutVerifierOptions options)
        {
            _o = options;
        }

        public VerificationResult Run(byte[] layoutBytes, string layoutName, IReadOnlyList<PublicKey> layoutKeys)
        {
            try
            {
                _log.Add($"Loading layout {layoutName}...");
                if (layoutBytes.LongLength > _o.MaxMetadataFileBytes)
                {
                    throw TooLarge(layoutName, layoutBytes.LongLength);
                }

                var layout = ReferenceMetadataReader.Read(layoutBytes, layoutName, _o.Clock);
                if (!layout.IsLayout)
                {
                    throw VerificationAbort.Format($"{layoutName} is a link, not a layout (signed._type is \"link\").", layoutName);
                }

                _steps = layout.Layout!.Steps.Count;
                _inspections = layout.Layout.Inspect.Count;

                // Like in-toto-verify: a dict keyed by keyid, so the same key given twice counts once.
                var keys = new List<InTotoVerificationKey>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var k in layoutKeys)
                {
                    if (k is not null && seen.Add(k.KeyId))
                    {
                        keys.Add(new InTotoVerificationKey(k));
                    }
                }

                VerifyLayout(layout, keys, _o.LinkDirectory, "", Array.Empty<string>());
                _log.Add("The software product passed all verification.");
                return Finish(null);
            }
            catch (VerificationAbort abort)
            {
                return Finish(abort.Failure);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Never crash on input: whatever slipped through is a failure, not a pass.
                return Finish(new VerificationFailure(FailureKind.FormatError,
                    $"Verification could not be completed: {e.GetType().Name}: {e.Message}"));
            }
            finally
            {
                // The result holds only strings; nothing read from a link file is used any more.
                foreach (var prefetch in _prefetches)
                {
                    prefetch.ReturnBuffers();
                }
            }
        }

        public VerificationResult Finish(VerificationFailure? failure)
        {
            var failures = failure is null ? Array.Empty<VerificationFailure>() : new[] { failure };
            return new VerificationResult(failures, _warnings, _dropped, _log, _steps, _inspections, _linkCount) { PerformedBy = _performedBy };
        }

        /// <summary>Returns null when the file cannot be opened (in-toto treats that like a missing file).</summary>
        public byte[]? ReadMetadataBytes(string path)
        {
            var bytes = TryReadFile(path, _o.MaxMetadataFileBytes, out string? warning);
            if (warning is not null)
            {
                _warnings.Add(new VerificationWarning(warning, file: path));
            }

            return bytes;
        }

        private VerificationAbort TooLarge(string path, long length) => LayoutVerifier.TooLarge(path, length, _o.MaxMetadataFileBytes);


        // in_toto_verify(layout, keys, link_dir, step_name): returns the summary link.
        private Link VerifyLayout(MetadataFile layoutFile, List<InTotoVerificationKey> keys, string linkDir, string stepName, IReadOnlyList<string> subPath)
        {
            using var cancel = new CancellationTokenSource();
            try
            {
                return VerifyLayoutCore(layoutFile, keys, linkDir, stepName, subPath, cancel.Token);
            }
            catch (VerificationAbort abort) when (subPath.Count > 0 && abort.Failure.SublayoutPath.Count == 0)
            {
                abort.Failure.SublayoutPath = subPath;
                throw;
            }
            finally
            {
                cancel.Cancel(); // link files that were not needed any more are not read or parsed
            }
        }

        // in-toto-golang's InTotoVerify, step by step: each step below is one function with its contract, called in
        // the reference's order. Every step either returns normally or throws a VerificationAbort; none of them
        // passes a chain that a later step would have to re-check.
        private Link VerifyLayoutCore(MetadataFile layoutFile, List<InTotoVerificationKey> keys, string linkDir, string stepName, IReadOnlyList<string> subPath, CancellationToken cancel)
        {
            var layout = layoutFile.Layout!;
            string where = subPath.Count == 0 ? "" : $" (sublayout of step '{string.Join("' > '", subPath)}')";

            // Link files are read, parsed, canonicalized and signature-checked in the background from here on (while
            // the layout's own signatures are checked); their outcomes, errors included, are taken in step 3 in the
            // reference's order, and none of them is looked at if verification stops before.
            var prefetch = new LinkPrefetch(layout, layoutFile.File, linkDir, _o.MaxMetadataFileBytes, _o.Clock, cancel);
            _prefetches.Add(prefetch);

            VerifyLayoutSignatures(layoutFile, keys, where);                    // 1
            VerifyLayoutExpiration(layoutFile, where);                          // 2
            var chain = LoadLinksForLayout(layout, prefetch, linkDir, where);   // 3
            VerifyLinkSignaturesAndThresholds(layout, chain, where);            // 4
            VerifySublayouts(chain, linkDir, subPath);                          // 5
            VerifyCommandAlignment(chain, where);                               // 6
            VerifyThresholdConstraints(chain, where);                           // 7
            var reduced = ReduceChainToOneLinkPerStep(chain, where);
            VerifyStepRules(layout, reduced, where);                            // 8
            var combined = RunInspections(layout, reduced, where);              // 9
            VerifyInspectionRules(layout, combined, where);                     // 10
            return SummaryLink(layout, reduced, stepName);
        }

        /// <summary>
        /// Step 1. Every key given for the layout must have a valid signature on it (no key at all is an error).
        /// Throws SignatureVerificationError naming the first key without one; returns only when all keys signed.
        /// </summary>
        private void VerifyLayoutSignatures(MetadataFile layoutFile, List<InTotoVerificationKey> keys, string where)
        {
            _log.Add($"Verifying layout signatures{where}...");
            if (keys.Count == 0)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.SignatureVerificationError,
                    "Layout signature verification requires at least one key.") { File = layoutFile.File });
            }

            foreach (var key in keys)
            {
                var problem = key.Check(layoutFile);
                if (problem is { } p)
                {
                    string message = p.Reason == DropReason.NotSignedByNamedKey
                        ? $"No signature found for key '{key.KeyId}' on {layoutFile.File}{where}: {p.Why}."
                        : $"Invalid signature for keyid '{key.KeyId}' on {layoutFile.File}{where}: {p.Why}.";
                    throw new VerificationAbort(new VerificationFailure(FailureKind.SignatureVerificationError, message)
                    {
                        KeyId = key.KeyId,
                        File = layoutFile.File,
                    });
                }
            }
        }

        /// <summary>
        /// Step 2. A layout with an expiry date before the options' clock is rejected (LayoutExpiredError). A layout
        /// without one was given "now + 1 month" by the reader, as in-toto does, and passes.
        /// </summary>
        private void VerifyLayoutExpiration(MetadataFile layoutFile, string where)
        {
            _log.Add($"Verifying layout expiration{where}...");
            var now = _o.Clock();
            if (layoutFile.Layout!.ExpiresText is not null && layoutFile.Layout.Expires < now)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.LayoutExpiredError,
                    $"Layout expired: {layoutFile.File}{where} expired on {layoutFile.Layout.ExpiresText}; it is now {Layout.FormatExpires(now)}.")
                {
                    File = layoutFile.File,
                });
            }
        }

        /// <summary>
        /// Step 3. Takes the prefetched link files of every step in layout and pubkeys order (one per authorized keyid,
        /// "&lt;step&gt;.&lt;keyid8&gt;.link"), adding read warnings as they come. A file that cannot be parsed aborts
        /// (FormatError). A step with certificate functionaries (<c>cert_constraints</c>) also takes every other
        /// "&lt;step&gt;.&lt;8 hex&gt;.link" whose signature carries a certificate (one that cannot be read is dropped, not
        /// fatal: anyone may leave a file there). A step with fewer files than its threshold aborts (LinkNotFoundError)
        /// before any link signature is looked at. Returns the loaded links of each step, nothing verified yet.
        /// </summary>
        private List<StepLinks> LoadLinksForLayout(Layout layout, LinkPrefetch prefetch, string linkDir, string where)
        {
            _log.Add($"Reading link metadata files from {linkDir}{where}...");
            var chain = new List<StepLinks>();
            foreach (var step in layout.Steps)
            {
                var links = new StepLinks(step);
                var tried = new List<string>();
                foreach (string keyId in step.PubKeys)
                {
                    if (links.Loaded.Any(l => l.KeyId == keyId))
                    {
                        continue;
                    }

                    string fileName = LinkFileName(step.Name, keyId);
                    tried.Add(fileName);
                    var load = prefetch.Get(step.Name, keyId);
                    if (load.ReadWarning is not null)
                    {
                        _warnings.Add(new VerificationWarning(load.ReadWarning, step.Name, load.Path));
                    }

                    if (load.LoadError is not null)
                    {
                        throw load.LoadError;
                    }

                    if (load.File is null)
                    {
                        continue;
                    }

                    links.Loaded.Add(new LoadedLink(keyId, load));
                    if (load.NamesWarning is not null)
                    {
                        _warnings.Add(new VerificationWarning(load.NamesWarning, step.Name, load.Path));
                    }
                }

                foreach (var (prefix8, load) in prefetch.CertificateLinks(step.Name))
                {
                    string fileName = LinkFileName(step.Name, prefix8);
                    tried.Add(fileName);
                    if (load.ReadWarning is not null)
                    {
                        _warnings.Add(new VerificationWarning(load.ReadWarning, step.Name, load.Path));
                    }

                    if (load.LoadError is not null)
                    {
                        _dropped.Add(new DroppedLink(step.Name, prefix8, load.Path, DropReason.CertificateNotAccepted, $"{fileName}: {load.LoadError.Message}"));
                        continue;
                    }

                    if (load.File is not null)
                    {
                        links.Loaded.Add(new LoadedLink(load.CertificateKeyId ?? prefix8, load));
                    }
                }

                if (links.Loaded.Count < step.Threshold)
                {
                    var present = new HashSet<string>(links.Loaded.Select(l => LinkFileName(step.Name, l.KeyId)), StringComparer.Ordinal);
                    throw new VerificationAbort(new VerificationFailure(FailureKind.LinkNotFoundError,
                        $"Step '{step.Name}'{where} requires '{step.Threshold}' link metadata file(s), found '{links.Loaded.Count}'.")
                    {
                        Step = step.Name,
                        Details = tried.Count == 0
                            ? new[] { step.CertConstraints.Count == 0 ? "the step authorizes no functionary key (its pubkeys list is empty)" : "no link file of the step's keys, and none signed with a certificate" }
                            : tried.Select(t => $"{PathJoin.Join(linkDir, t)}: {(present.Contains(t) ? "found" : "missing")}").ToList(),
                    });
                }

                chain.Add(links);
            }

            return chain;
        }

        /// <summary>
        /// Step 4. Moves each loaded link whose signature by its authorized key is valid into the step's verified
        /// links; the others are dropped (recorded with the reason, as the reference drops them silently). A step with
        /// fewer valid links from distinct functionaries than its threshold aborts (ThresholdVerificationError). A link
        /// signed with a certificate counts when the certificate makes its signer a functionary of the step
        /// (<see cref="CertificateFunctionaries.Authorize"/>); such functionaries are counted by SPIFFE ID.
        /// </summary>
        private void VerifyLinkSignaturesAndThresholds(Layout layout, List<StepLinks> chain, string where)
        {
            _log.Add($"Verifying link metadata signatures{where}...");
            foreach (var links in chain)
            {
                var step = links.Step;
                var usedMainKeyIds = new List<string>();
                var droppedHere = new List<DroppedLink>();
                foreach (var loaded in links.Loaded)
                {
                    var drop = loaded.Load.IsCertificateCandidate ? CheckCertificateLink(layout, step, loaded, usedMainKeyIds) : CheckLink(step, loaded, usedMainKeyIds);
                    if (drop is not null)
                    {
                        droppedHere.Add(drop);
                        _dropped.Add(drop);
                        _log.Add("Skipping link. " + drop.Message);
                        continue;
                    }

                    links.Verified.Add(loaded);
                }

                long valid = links.Verified.Count - (usedMainKeyIds.Count - usedMainKeyIds.Distinct(StringComparer.Ordinal).Count());
                if (valid < step.Threshold)
                {
                    var details = droppedHere.Select(d => d.Message).ToList();
                    if (details.Count == 0)
                    {
                        details.Add(links.Verified.Any(l => l.Identity is not null) ? "two valid links were signed by the same functionary (key or SPIFFE ID)" : "two valid links were signed with the same key");
                    }

                    throw new VerificationAbort(new VerificationFailure(FailureKind.ThresholdVerificationError,
                        $"Step '{step.Name}'{where} requires at least '{step.Threshold}' links validly signed by different authorized functionaries. Only found '{valid}'.")
                    {
                        Step = step.Name,
                        KeyId = droppedHere.Count == 1 ? droppedHere[0].KeyId : null,
                        File = droppedHere.Count == 1 ? droppedHere[0].File : null,
                        Details = details,
                    });
                }

                _linkCount += links.Verified.Count;
                if (where.Length == 0)
                {
                    _performedBy[step.Name] = links.Verified.Select(l => l.Identity ?? l.KeyId).Distinct(StringComparer.Ordinal).ToList();
                }
            }
        }

        /// <summary>
        /// Step 5. Every verified "link" that is a layout is verified recursively (keys: the functionary key that
        /// signed it; links: "&lt;step&gt;.&lt;keyid8&gt;/" under this layout's link directory) and stands, from here on,
        /// for its summary link. A failure inside aborts with the sublayout path attached.
        /// </summary>
        private void VerifySublayouts(List<StepLinks> chain, string linkDir, IReadOnlyList<string> subPath)
        {
            foreach (var links in chain)
            {
                foreach (var loaded in links.Verified)
                {
                    if (!loaded.File.IsLayout)
                    {
                        continue;
                    }

                    _log.Add($"Verifying sublayout {links.Step.Name} ({loaded.File.File})...");
                    var subKeys = new List<InTotoVerificationKey> { loaded.Load.Key! };
                    string subDir = PathJoin.Join(linkDir, $"{links.Step.Name}.{Prefix8(loaded.KeyId)}");
                    var path = new List<string>(subPath) { links.Step.Name };
                    loaded.Summary = VerifyLayout(loaded.File, subKeys, subDir, links.Step.Name, path);
                }
            }
        }

        /// <summary>
        /// Step 6. A link whose command differs from the step's expected command, or whose name is not the step's,
        /// gets a warning; as in in-toto, neither fails verification.
        /// </summary>
        private void VerifyCommandAlignment(List<StepLinks> chain, string where)
        {
            foreach (var links in chain)
            {
                foreach (var loaded in links.Verified)
                {
                    var command = loaded.Model.CommandAsWritten;
                    if (!PythonValues.Equal(command, links.Step.ExpectedCommandAsWritten))
                    {
                        _warnings.Add(new VerificationWarning(
                            $"Run command '{PyRepr(command)}' differs from expected command '{PyRepr(links.Step.ExpectedCommandAsWritten)}' ({LinkFileName(links.Step.Name, loaded.KeyId)}, step '{links.Step.Name}'{where}; in-toto only warns).",
                            links.Step.Name, loaded.File.File));
                    }

                    if (loaded.File.Link is { } l && l.NameText != links.Step.Name && !IsPrefixedStepName(links.Step.Name, l.NameText))
                    {
                        _warnings.Add(new VerificationWarning(
                            $"{loaded.File.File} is used for step '{links.Step.Name}' but its name is {(l.NameText is null ? JsonItem.Describe(l.NameAsWritten) : "'" + l.NameText + "'")} (in-toto-verify does not check link names).",
                            links.Step.Name, loaded.File.File));
                    }
                }
            }
        }

        /// <summary>
        /// Step 7. The verified links of a step with threshold &gt; 1 must all report the same materials and products;
        /// the first difference aborts (ThresholdVerificationError) with up to ten differing artifacts as details.
        /// </summary>
        private static void VerifyThresholdConstraints(List<StepLinks> chain, string where)
        {
            foreach (var links in chain)
            {
                var step = links.Step;
                if (step.Threshold <= 1)
                {
                    continue;
                }

                if (links.Verified.Count < step.Threshold)
                {
                    throw new VerificationAbort(new VerificationFailure(FailureKind.ThresholdVerificationError,
                        $"Step '{step.Name}'{where} not performed by enough functionaries!") { Step = step.Name });
                }

                var reference = links.Verified[0];
                foreach (var other in links.Verified)
                {
                    var a = reference.Model;
                    var b = other.Model;
                    if (!a.Materials.SameAs(b.Materials) || !a.Products.SameAs(b.Products))
                    {
                        string fa = LinkFileName(step.Name, reference.KeyId);
                        string fb = LinkFileName(step.Name, other.KeyId);
                        throw new VerificationAbort(new VerificationFailure(FailureKind.ThresholdVerificationError,
                            $"Links '{fa}' and '{fb}' have different artifacts! Step '{step.Name}'{where} has threshold {step.Threshold}, so every functionary must report the same materials and products.")
                        {
                            Step = step.Name,
                            KeyId = other.KeyId,
                            File = other.File.File,
                            Details = DescribeDifferences("materials", a.Materials, b.Materials, fa, fb)
                                .Concat(DescribeDifferences("products", a.Products, b.Products, fa, fb)).ToList(),
                        });
                    }
                }
            }
        }

        /// <summary>
        /// Between steps 7 and 8 (in-toto's reduce_chain_links): one link per step, the first verified one in pubkeys
        /// order. A step left without any (threshold 0 or less) aborts with a FormatError where in-toto-verify crashes.
        /// </summary>
        private static Dictionary<string, Link> ReduceChainToOneLinkPerStep(List<StepLinks> chain, string where)
        {
            var reduced = new Dictionary<string, Link>(StringComparer.Ordinal);
            foreach (var links in chain)
            {
                if (links.Verified.Count == 0)
                {
                    throw new VerificationAbort(new VerificationFailure(FailureKind.FormatError,
                        $"Step '{links.Step.Name}'{where} has threshold {links.Step.Threshold} and no valid link, so there is nothing to apply its rules to (in-toto-verify crashes with IndexError here).")
                    {
                        Step = links.Step.Name,
                    });
                }

                reduced[links.Step.Name] = links.Verified[0].Model;
            }

            return reduced;
        }

        /// <summary>
        /// Step 8. Applies every step's expected_materials, then its expected_products, in layout order, to the reduced
        /// links; the first artifact a rule set leaves disallowed or unmatched aborts (RuleVerificationError).
        /// </summary>
        private void VerifyStepRules(Layout layout, Dictionary<string, Link> reduced, string where)
        {
            _log.Add($"Verifying step rules{where}...");
            foreach (var step in layout.Steps)
            {
                RuleEngine.VerifyItem(step.Name, "step", "materials", step.MaterialRules, reduced);
                RuleEngine.VerifyItem(step.Name, "step", "products", step.ProductRules, reduced);
            }
        }

        /// <summary>
        /// Step 9. Runs every inspection in layout order (all of them before any inspection rule, since a rule may name
        /// a later inspection) and returns the step links together with one link per inspection. A command that cannot
        /// start, times out or exits non-zero aborts.
        /// </summary>
        private Dictionary<string, Link> RunInspections(Layout layout, Dictionary<string, Link> reduced, string where)
        {
            var combined = new Dictionary<string, Link>(reduced, StringComparer.Ordinal);
            foreach (var inspection in layout.Inspect)
            {
                _log.Add($"Executing command for inspection '{inspection.Name}'...");
                combined[inspection.Name] = RunInspection(inspection, where);
            }

            return combined;
        }

        /// <summary>
        /// Step 10. Applies every inspection's expected_materials, then expected_products, to the step and inspection
        /// links, like step 8.
        /// </summary>
        private void VerifyInspectionRules(Layout layout, Dictionary<string, Link> combined, string where)
        {
            _log.Add($"Verifying inspection rules{where}...");
            foreach (var inspection in layout.Inspect)
            {
                RuleEngine.VerifyItem(inspection.Name, "inspection", "materials", inspection.MaterialRules, combined);
                RuleEngine.VerifyItem(inspection.Name, "inspection", "products", inspection.ProductRules, combined);
            }
        }

        /// <summary>
        /// After step 10 (in-toto's get_summary_link): what a superlayout sees in place of this layout, named
        /// <paramref name="stepName"/>: the first step's materials and the last step's products, byproducts and
        /// command. A layout without steps gives an empty link named null.
        /// </summary>
        private static Link SummaryLink(Layout layout, Dictionary<string, Link> reduced, string stepName)
        {
            var summary = new Link(stepName);
            if (layout.Steps.Count > 0)
            {
                var first = reduced[layout.Steps[0].Name];
                var last = reduced[layout.Steps[layout.Steps.Count - 1].Name];
                summary.Materials = first.Materials;
                summary.Products = last.Products;
                summary.Byproducts = last.Byproducts;
                summary.CommandAsWritten = last.CommandAsWritten;
            }
            else
            {
                summary.NameAsWritten = JsonNull.Instance;
            }

            return summary;
        }

        private DroppedLink? CheckLink(Step step, LoadedLink loaded, List<string> usedMainKeyIds)
        {
            string fileName = LinkFileName(step.Name, loaded.KeyId);
            var load = loaded.Load;
            if (load.KeyMissing)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, DropReason.UnknownKey,
                    $"{fileName}: keyid '{loaded.KeyId}' is authorized for step '{step.Name}' but the layout's keys do not contain it, so nothing can verify the link.");
            }

            if (load.CheckError is not null)
            {
                throw load.CheckError;
            }

            if (load.Problem is { } p)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, p.Reason, $"{fileName} ({loaded.File.TypeName}): {p.Why}.");
            }

            if (_o.RequireLinkNameMatch && loaded.File.Link is { } link && link.NameText != step.Name)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, DropReason.NameMismatch,
                    $"{fileName}: its name is {(link.NameText is null ? JsonItem.Describe(link.NameAsWritten) : "'" + link.NameText + "'")}, not '{step.Name}'.");
            }

            usedMainKeyIds.Add(load.Key!.KeyId);
            return null;
        }

        /// <summary>A link of a step's certificate functionaries: its signature by the certificate's key, then who that is.</summary>
        private DroppedLink? CheckCertificateLink(Layout layout, Step step, LoadedLink loaded, List<string> usedIdentities)
        {
            string fileName = LinkFileName(step.Name, loaded.KeyId);
            var load = loaded.Load;
            if (load.Problem is { } p)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, p.Reason, $"{fileName} ({loaded.File.TypeName}): {p.Why}.");
            }

            if (loaded.File.IsLayout)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, DropReason.CertificateNotAccepted,
                    $"{fileName} is a layout signed with a certificate; a sublayout must be signed by a functionary key of the step.");
            }

            var (id, refusal) = CertificateFunctionaries.Authorize(step, load.CertificateChain!, layout, _o.CertificateTime ?? _o.Clock(), _o.SvidMaxTtl);
            if (id is null)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, DropReason.CertificateNotAccepted, $"{fileName}: {refusal}.");
            }

            if (_o.RequireLinkNameMatch && loaded.File.Link is { } link && link.NameText != step.Name)
            {
                return new DroppedLink(step.Name, loaded.KeyId, loaded.File.File, DropReason.NameMismatch,
                    $"{fileName}: its name is {(link.NameText is null ? JsonItem.Describe(link.NameAsWritten) : "'" + link.NameText + "'")}, not '{step.Name}'.");
            }

            loaded.Identity = id.ToString();
            usedIdentities.Add(loaded.Identity);
            return null;
        }

        private Link RunInspection(Inspection inspection, string where)
        {
            var command = new List<string>();
            foreach (var part in inspection.RunAsWritten)
            {
                command.Add(part is JsonString s && s.Value.IndexOf('\0') < 0
                    ? s.Value
                    : throw new VerificationAbort(new VerificationFailure(FailureKind.FormatError,
                        $"Inspection '{inspection.Name}'{where}: every element of \"run\" must be a string without NUL characters.") { Step = inspection.Name }));
            }

            var outcome = _o.InspectionRunner.Run(new InspectionRequest(inspection.Name, command, _o.WorkingDirectory, _o.InspectionTimeout))
                ?? throw new InvalidOperationException("The inspection runner returned nothing.");
            string shown = PyRepr(inspection.RunAsWritten);
            if (outcome.StartError is not null)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.OSError,
                    $"Inspection '{inspection.Name}'{where}: cannot run {shown}: {outcome.StartError}") { Step = inspection.Name });
            }

            if (outcome.TimedOut)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.TimeoutExpired,
                    $"SB1800: Inspection '{inspection.Name}'{where}: command {shown} timed out after {_o.InspectionTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} seconds and was killed together with every process it started. " +
                    "Make the command finish (it must not wait for input or leave a server running), or allow it more time (securebuild verify --inspection-timeout, SecureBuildInspectionTimeout).")
                {
                    Step = inspection.Name,
                });
            }

            foreach (var skipped in outcome.Skipped)
            {
                if (skipped.Refused)
                {
                    throw new VerificationAbort(new VerificationFailure(FailureKind.OSError,
                        $"SB1802: Inspection '{inspection.Name}'{where}: '{skipped.Path}' in {_o.WorkingDirectory} is not recorded: {skipped.Reason}. " +
                        "in-toto would record what it points to, so verification cannot go on without it. Replace the link with a copy, or point it inside the working directory.")
                    {
                        Step = inspection.Name,
                    });
                }

                _warnings.Add(new VerificationWarning(
                    $"SB2802: Inspection '{inspection.Name}'{where}: '{skipped.Path}' is not recorded: {skipped.Reason} (in-toto-run skips it too; reading it could block or never end).",
                    inspection.Name));
            }

            var link = new Link
            {
                Name = inspection.Name,
                Materials = ToMap(outcome.Materials),
                Products = ToMap(outcome.Products),
                CommandAsWritten = inspection.RunAsWritten,
                Byproducts = command.Count == 0
                    ? JsonMap.Build()
                    : JsonMap.Build(("return-value", new JsonNumber((outcome.ReturnValue ?? -1).ToString(CultureInfo.InvariantCulture), true)), ("stderr", new JsonString("")), ("stdout", new JsonString(""))),
            };

            if (command.Count == 0 || outcome.ReturnValue is null)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.BadReturnValueError,
                    $"Got non-int return value 'None' from command '{shown}': inspection '{inspection.Name}'{where} has an empty \"run\", so nothing ran.")
                {
                    Step = inspection.Name,
                });
            }

            if (outcome.ReturnValue != 0)
            {
                throw new VerificationAbort(new VerificationFailure(FailureKind.BadReturnValueError,
                    $"Got non-zero return value '{outcome.ReturnValue}' from command '{shown}' (inspection '{inspection.Name}'{where}).")
                {
                    Step = inspection.Name,
                });
            }

            if (_o.PersistInspectionLinks)
            {
                string path = PathJoin.Join(_o.WorkingDirectory, inspection.Name + ".link");
                try
                {
                    var signed = new JsonMap
                    {
                        { "_type", "link" },
                        { "byproducts", link.Byproducts },
                        { "command", link.CommandAsWritten },
                        { "environment", new JsonMap() },
                        { "materials", link.Materials.ToJson() },
                        { "name", inspection.Name },
                        { "products", link.Products.ToJson() },
                    };
                    File.WriteAllBytes(path, new Metablock(signed).ToFileBytes());
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonFormatException)
                {
                    throw new VerificationAbort(new VerificationFailure(FailureKind.OSError,
                        $"Inspection '{inspection.Name}'{where}: cannot write its link {path}: {e.Message}") { Step = inspection.Name, File = path });
                }
            }

            return link;
        }

        private static ArtifactMap ToMap(IReadOnlyDictionary<string, string> recorded)
        {
            var map = new ArtifactMap(recorded.Count);
            foreach (var kv in recorded)
            {
                map.TryAdd(kv.Key, HashDict.Sha256(kv.Value));
            }

            return map;
        }

        internal static string? ArtifactNamesWarning(MetadataFile file)
        {
            string? example = null;
            int count = 0;
            foreach (var map in new[] { file.Link!.Materials, file.Link.Products })
            {
                count += map.UnusualNames(out string? first);
                example ??= first;
            }

            return count == 0 ? null
                : $"{file.File} records {count} artifact name(s) that are not normalized relative paths, e.g. '{example}'; rules compare names as plain strings, so such names match only patterns written for them.";
        }

        private static IEnumerable<string> DescribeDifferences(string side, ArtifactMap a, ArtifactMap b, string fa, string fb)
        {
            const int max = 10;
            int shown = 0;
            foreach (var kv in a.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                if (!b.TryGetValue(kv.Key, out var other))
                {
                    if (shown++ < max)
                    {
                        yield return $"{side} '{kv.Key}': only in {fa}";
                    }
                }
                else if (!other.Equals(kv.Value))
                {
                    if (shown++ < max)
                    {
                        yield return $"{side} '{kv.Key}': {kv.Value} in {fa}, {other} in {fb}";
                    }
                }
            }

            foreach (var kv in b.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                if (!a.ContainsKey(kv.Key) && shown++ < max)
                {
                    yield return $"{side} '{kv.Key}': only in {fb}";
                }
            }

            if (shown > max)
            {
                yield return $"... {shown - max} more {side} differences";
            }
        }
    }

    /// <summary>
    /// A layout for several projects names a step by the link's directory and name ("src/App/bin/Release/attestations/compile"),
    /// so the link, which says "compile", is found where the SDK wrote it. That is not a mismatch.
    /// </summary>
    internal static bool IsPrefixedStepName(string stepName, string? linkName) =>
        !string.IsNullOrEmpty(linkName) && stepName.Length > linkName!.Length && stepName.EndsWith("/" + linkName, StringComparison.Ordinal);

    internal static string LinkFileName(string step, string keyId) => $"{step}.{Prefix8(keyId)}.link";

    internal static string Prefix8(string keyId) => keyId.Length > 8 ? keyId.Substring(0, 8) : keyId;

    /// <summary>Python repr of a parsed JSON value, for messages that read like the reference's.</summary>
    internal static string PyRepr(JsonItem node)
    {
        var sb = new StringBuilder();
        Write(node);
        return sb.ToString();

        void Write(JsonItem n)
        {
            switch (n)
            {
                case JsonList a:
                    sb.Append('[');
                    for (int i = 0; i < a.Count; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(", ");
                        }

                        Write(a[i]);
                    }

                    sb.Append(']');
                    break;
                case JsonString s:
                    sb.Append('\'').Append(s.Value.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n")).Append('\'');
                    break;
                case JsonNull:
                    sb.Append("None");
                    break;
                case JsonBool b:
                    sb.Append(b.Value ? "True" : "False");
                    break;
                case JsonNumber num:
                    sb.Append(num.RawText);
                    break;
                default:
                    sb.Append(n.ToString());
                    break;
            }
        }
    }

    private sealed record StepLinks(Step Step)
    {
        public List<LoadedLink> Loaded { get; } = new();

        public List<LoadedLink> Verified { get; } = new();
    }

    private sealed class LoadedLink
    {
        public LoadedLink(string keyId, LinkLoad load)
        {
            KeyId = keyId;
            Load = load;
        }

        public string KeyId { get; }

        public LinkLoad Load { get; }

        /// <summary>For a link signed with a certificate: the SPIFFE ID that signed it, once authorized.</summary>
        public string? Identity { get; set; }

        public MetadataFile File => Load.File!;

        /// <summary>For a sublayout: its summary link, once verified.</summary>
        public Link? Summary { get; set; }

        public Link Model => Summary ?? File.Link ?? new Link();
    }

    /// <summary>
    /// Loads every link file a layout can ask for (read, parse, canonicalize, check the signature by the key the file
    /// name names): pure work without side effects, so the caller can take the outcomes in the reference's order.
    /// Loads are claimed one by one by up to (processors - 1) pool workers and by the verifying thread itself, which
    /// runs whatever is not claimed yet instead of waiting, and waits only for a load that another thread is running.
    /// </summary>
    private sealed class LinkPrefetch
    {
        private readonly Item[] _items;
        private readonly Dictionary<(string Step, string KeyId), Item> _byKey = new();
        private readonly Dictionary<string, List<(string Prefix8, Item Item)>> _byCertificate = new(StringComparer.Ordinal);
        private readonly VerificationAbort? _candidatesError;
        private int _next;

        public LinkPrefetch(Layout layout, string layoutFile, string linkDir, long max, Func<DateTimeOffset> clock, CancellationToken cancel)
        {
            var items = new List<Item>();
            foreach (var step in layout.Steps)
            {
                if (step.CertConstraints.Count > 0 && !_byCertificate.ContainsKey(step.Name) && _candidatesError is null)
                {
                    var list = new List<(string, Item)>();
                    try
                    {
                        foreach (var (prefix8, path) in CertificateFunctionaries.Candidates(linkDir, step))
                        {
                            var item = new Item(() => LinkLoad.RunCertificate(path, prefix8, max, clock, cancel));
                            items.Add(item);
                            list.Add((prefix8, item));
                        }
                    }
                    catch (VerificationAbort e)
                    {
                        _candidatesError = e; // reported in step 3, after the layout's own checks
                    }

                    _byCertificate[step.Name] = list;
                }

                foreach (string keyId in step.PubKeys)
                {
                    if (_byKey.ContainsKey((step.Name, keyId)))
                    {
                        continue;
                    }

                    string path = PathJoin.Join(linkDir, LinkFileName(step.Name, keyId));
                    var keyObject = layout.KeyObjects.Get(keyId) as JsonMap;
                    var item = new Item(() => LinkLoad.Run(path, keyId, keyObject, layoutFile, max, clock, cancel));
                    items.Add(item);
                    _byKey[(step.Name, keyId)] = item;
                }
            }

            _items = items.ToArray();
            int workers = Math.Min(Environment.ProcessorCount - 1, _items.Length);
            for (int w = 0; w < workers; w++)
            {
                Task.Run(() =>
                {
                    while (TryClaim() is { } item)
                    {
                        item.Run();
                    }
                });
            }
        }

        /// <summary>The outcome for one (step, keyid) of the layout.</summary>
        public LinkLoad Get(string step, string keyId) => Take(_byKey[(step, keyId)]);

        /// <summary>The outcomes for the link files of a step's certificate functionaries, by file name order.</summary>
        /// <exception cref="VerificationAbort">Too many candidate files.</exception>
        public IEnumerable<(string Prefix8, LinkLoad Load)> CertificateLinks(string step)
        {
            if (_candidatesError is not null)
            {
                throw _candidatesError;
            }

            return _byCertificate.TryGetValue(step, out var list) ? list.Select(e => (e.Prefix8, Take(e.Item))).ToList() : Enumerable.Empty<(string, LinkLoad)>();
        }

        private LinkLoad Take(Item wanted)
        {
            if (wanted.TryClaim())
            {
                wanted.Run();
            }

            while (!wanted.IsDone && TryClaim() is { } other)
            {
                other.Run(); // something that has to be done anyway, instead of waiting
            }

            return wanted.Wait();
        }

        /// <summary>
        /// Gives the file buffers of the finished loads back to <see cref="BufferPool"/> (loads still running after a
        /// stop keep theirs). Only once verification is over: the models of the links read those bytes.
        /// </summary>
        public void ReturnBuffers()
        {
            foreach (var item in _items)
            {
                if (item.IsDone && item.Result is { FileBytes: { } bytes })
                {
                    BufferPool.Return(bytes);
                }
            }
        }

        private Item? TryClaim()
        {
            while (true)
            {
                int i = Volatile.Read(ref _next);
                if (i >= _items.Length)
                {
                    return null;
                }

                if (Interlocked.CompareExchange(ref _next, i + 1, i) == i && _items[i].TryClaim())
                {
                    return _items[i];
                }
            }
        }

        private sealed class Item
        {
            private readonly Func<LinkLoad> _work;
            private int _claimed;
            private LinkLoad? _result;
            private Exception? _error;
            private volatile bool _done;

            public Item(Func<LinkLoad> work)
            {
                _work = work;
            }

            public bool IsDone => _done;

            /// <summary>The outcome once <see cref="IsDone"/> (null if the load failed with an exception).</summary>
            public LinkLoad? Result => _done ? _result : null;

            public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

            public void Run()
            {
                try
                {
                    _result = _work();
                }
                catch (Exception e)
                {
                    _error = e; // LinkLoad.Run turns everything but OutOfMemoryException into an outcome
                }

                lock (this)
                {
                    _done = true;
                    Monitor.PulseAll(this);
                }
            }

            public LinkLoad Wait()
            {
                if (!_done)
                {
                    lock (this)
                    {
                        while (!_done)
                        {
                            Monitor.Wait(this);
                        }
                    }
                }

                if (_error is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_error).Throw();
                }

                return _result!;
            }
        }
    }

    /// <summary>Everything about one link file that can be worked out without knowing the rest of the chain.</summary>
    private sealed class LinkLoad
    {
        public string Path { get; private set; } = "";

        public MetadataFile? File { get; private set; }

        public string? ReadWarning { get; private set; }

        public string? NamesWarning { get; private set; }

        public VerificationAbort? LoadError { get; private set; }

        public bool KeyMissing { get; private set; }

        public InTotoVerificationKey? Key { get; private set; }

        public VerificationAbort? CheckError { get; private set; }

        public (DropReason Reason, string Why)? Problem { get; private set; }

        /// <summary>The file's bytes (from <see cref="BufferPool"/>; the parsed model refers to them).</summary>
        public byte[]? FileBytes { get; private set; }

        /// <summary>A file looked at for a step's certificate functionaries (no key of the layout names it).</summary>
        public bool IsCertificateCandidate { get; private set; }

        /// <summary>For a certificate candidate: the certificates its signature carries (leaf first), when the signature verifies with the leaf's key.</summary>
        public IReadOnlyList<Org.BouncyCastle.X509.X509Certificate>? CertificateChain { get; private set; }

        /// <summary>For a certificate candidate: the keyid of its signature with a certificate.</summary>
        public string? CertificateKeyId { get; private set; }

        /// <summary>
        /// Loads a link file of a step's certificate functionaries: read and parse as <see cref="Run"/>, then check its
        /// signature with a certificate by the key of that certificate. A signature that cannot be checked is a
        /// <see cref="Problem"/> (the link is dropped), never fatal.
        /// </summary>
        public static LinkLoad RunCertificate(string path, string prefix8, long max, Func<DateTimeOffset> clock, CancellationToken cancel)
        {
            var load = new LinkLoad { Path = path, IsCertificateCandidate = true };
            if (!load.ReadAndParse(max, clock, cancel))
            {
                return load;
            }

            try
            {
                var (chain, keyId, problem) = CertificateFunctionaries.CheckSignature(load.File!, prefix8);
                load.CertificateChain = chain;
                load.CertificateKeyId = keyId;
                load.Problem = problem;
            }
            catch (VerificationAbort e)
            {
                load.Problem = (DropReason.BadSignature, e.Failure.Message.TrimEnd('.'));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                load.Problem = (DropReason.BadSignature, $"the signature cannot be checked: {e.GetType().Name}: {e.Message}");
            }

            load.File?.ReleaseSignableBytes();
            return load;
        }

        /// <summary>Reads and parses the file; false when there is nothing more to do (missing, load error, cancelled).</summary>
        private bool ReadAndParse(long max, Func<DateTimeOffset> clock, CancellationToken cancel)
        {
            if (cancel.IsCancellationRequested)
            {
                return false; // verification already stopped; nobody looks at this any more
            }

            try
            {
                var bytes = TryReadFile(Path, max, out string? warning, pooled: true);
                FileBytes = bytes;
                ReadWarning = warning;
                if (bytes is null)
                {
                    return false;
                }

                File = ReferenceMetadataReader.Read(bytes, Path, clock);
                if (File.Link is not null)
                {
                    NamesWarning = Session.ArtifactNamesWarning(File);
                }
            }
            catch (VerificationAbort e)
            {
                LoadError = e;
                return false;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LoadError = VerificationAbort.Format($"{Path}: cannot be read: {e.GetType().Name}: {e.Message}", Path);
                return false;
            }

            return true;
        }

        public static LinkLoad Run(string path, string keyId, JsonMap? keyObject, string layoutFile, long max, Func<DateTimeOffset> clock, CancellationToken cancel)
        {
            var load = new LinkLoad { Path = path };
            if (!load.ReadAndParse(max, clock, cancel))
            {
                return load;
            }

            if (keyObject is null)
            {
                load.KeyMissing = true;
                return load;
            }

            if (cancel.IsCancellationRequested)
            {
                return load;
            }

            try
            {
                load.Key = InTotoVerificationKey.FromLayoutKey(keyId, keyObject, layoutFile);
                load.Problem = load.Key.Check(load.File!);
                if (!load.File!.IsLayout)
                {
                    load.File.ReleaseSignableBytes(); // a link's signature is checked here only
                }
            }
            catch (VerificationAbort e)
            {
                load.CheckError = e;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                load.CheckError = VerificationAbort.Format($"{path}: the signature cannot be checked: {e.GetType().Name}: {e.Message}", path);
            }

            return load;
        }
    }

    /// <summary>Reads a metadata file; null (with a warning when it exists) if it cannot be opened.</summary>
    private static byte[]? TryReadFile(string path, long max, out string? warning, bool pooled = false)
    {
        warning = null;
        if (path.IndexOf('\0') >= 0)
        {
            throw VerificationAbort.Format($"The path '{path.Replace("\0", "\\0")}' contains a NUL character.", path);
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            if (info.Length > max)
            {
                throw TooLarge(path, info.Length, max);
            }

            using var stream = IO.InputFile.OpenRead(path, IO.InputKind.Link, null, max);
            long length = stream.Length;
            if (length > max)
            {
                throw TooLarge(path, length, max);
            }

            var buffer = pooled ? BufferPool.RentExact((int)length) : new byte[length];
            int read = 0;
            while (read < buffer.Length)
            {
                int n = stream.Read(buffer, read, buffer.Length - read);
                if (n == 0)
                {
                    Array.Resize(ref buffer, read);
                    break;
                }

                read += n;
            }

            if (stream.ReadByte() >= 0)
            {
                throw VerificationAbort.Format($"{path} grew while it was being read.", path);
            }

            return buffer;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException)
        {
            if (File.Exists(path))
            {
                warning = $"Cannot read {path} ({e.Message}); it is treated as missing, as in-toto-verify does.";
            }

            return null;
        }
    }

    private static VerificationAbort TooLarge(string path, long length, long max) => VerificationAbort.Format(
        $"{path} is {length.ToString("N0", CultureInfo.InvariantCulture)} bytes, more than the limit of {max.ToString("N0", CultureInfo.InvariantCulture)} bytes for a link or layout file.", path);
}
