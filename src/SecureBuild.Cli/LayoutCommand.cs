using System.CommandLine;
using System.Globalization;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>`securebuild layout new|sign`: write and sign in-toto layouts for SDK-recorded builds.</summary>
internal static class LayoutCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var layout = new Command("layout", "Create and sign in-toto layouts (the policy links are verified against).");
        layout.Subcommands.Add(CreateNew(stdout, stderr));
        layout.Subcommands.Add(CreateSign(stdout, stderr));
        return layout;
    }

    private static Command CreateNew(TextWriter stdout, TextWriter stderr)
    {
        var linkDir = new Option<string[]>("--link-dir")
        {
            Description = "Directory holding the links of one project's build (e.g. bin/Release/attestations). Repeat it for several projects (a solution): one layout then chains them all, with step names relative to --link-root.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var linkRoot = new Option<string>("--link-root") { Description = "With several --link-dir: the directory the verifier will be given as its link directory (default: the current directory); each project's steps are named by their link directory relative to it." };
        var functionaries = new Option<string[]>("--functionary") { Description = "Public key file of a functionary allowed to perform every step (repeatable). Required unless --roles is given.", AllowMultipleArgumentsPerToken = true };
        var roles = new Option<string>("--roles") { Description = "A roles file (securebuild-roles/v1): each step's functionaries and threshold by role, and the layout owners who must sign it. Replaces --functionary, --functionary-spiffe and --threshold." };
        var functionarySpiffe = new Option<string[]>("--functionary-spiffe")
        {
            Description = "A SPIFFE ID allowed to perform every step (exact, or spiffe://td/path/* for every ID below the path; repeatable): links signed with its X.509-SVID (SecureBuildSigning=spiffe) count. Needs --spiffe-bundle.",
            AllowMultipleArgumentsPerToken = true,
        };
        var spiffeBundle = new Option<string>("--spiffe-bundle") { Description = "The trust bundle (PEM, DER or SPIFFE JWKS) of the SPIFFE ID functionaries' trust domain: its CAs become the layout's root CAs." };
        var threshold = new Option<int>("--threshold") { Description = "How many distinct functionaries must agree on each step.", DefaultValueFactory = _ => 1 };
        var expires = new Option<string>("--expires") { Description = "When the layout expires: a UTC time (2027-01-31T00:00:00Z) or a number of days from now (365d).", DefaultValueFactory = _ => "365d" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the layout.", Required = true };
        var sign = new Option<string[]>("--sign") { Description = "Owner private key(s) to sign the layout with.", AllowMultipleArgumentsPerToken = true };
        var permissive = new Option<bool>("--permissive")
        {
            Description = "Only chain the steps (MATCH what earlier steps produced) and ALLOW every other material and product, as the first layouts did. Default: strict (every step ends with DISALLOW *).",
        };
        var command = new Command("new", "Create a strict layout that chains the steps found in one project's link directory, or in several (restore -> compile -> pack/publish, across projects).")
        {
            linkDir, linkRoot, functionaries, threshold, expires, output, sign, permissive, roles, functionarySpiffe, spiffeBundle,
        };
        command.SetAction(parse =>
        {
            try
            {
                var dirs = parse.GetValue(linkDir)!;
                var given = parse.GetValue(functionaries) ?? Array.Empty<string>();
                var givenSpiffe = parse.GetValue(functionarySpiffe) ?? Array.Empty<string>();
                if ((given.Length + givenSpiffe.Length == 0) == (parse.GetValue(roles) is null))
                {
                    stderr.WriteLine("securebuild layout new: SB3905: give the functionaries either as --functionary keys and --functionary-spiffe IDs or as a --roles file (one of the two).");
                    return CliApplication.Usage;
                }

                var roleFile = parse.GetValue(roles) is { } rolesPath ? LayoutRoles.Load(rolesPath) : null;
                var keys = roleFile?.AllFunctionaries().ToList() ?? given.Select(PublicKey.Load).ToList();
                var spiffe = SpiffeFunctionariesFrom(roleFile?.AllSpiffeIds() ?? givenSpiffe.Select(ParseSpiffeId).ToList(), parse.GetValue(spiffeBundle));
                var projects = new List<ProjectLinks>();
                var root = Path.GetFullPath(parse.GetValue(linkRoot) ?? ".");
                foreach (var dir in dirs)
                {
                    if (!Directory.Exists(dir))
                    {
                        stderr.WriteLine($"securebuild layout new: SB3010: link directory '{dir}' does not exist. Build the project with SecureBuild.Sdk first.");
                        return CliApplication.Usage;
                    }
                    var links = new List<Link>();
                    foreach (var file in LinkFile.FindIn(dir))
                    {
                        Metablock block;
                        Link link;
                        try
                        {
                            (_, block, link) = LinkFile.Read(file);
                        }
                        catch (InTotoFormatException e)
                        {
                            stderr.WriteLine($"securebuild layout new: SB3014: {file} is not an in-toto link: {e.Message.Replace(file + ": ", "")}");
                            return CliApplication.Usage;
                        }
                        // Rebuilders' and approvers' links check the build's packages; they are not steps of the build.
                        if (roleFile?.ReleaseRoleOf(link.Name) is not null)
                        {
                            continue;
                        }
                        // A policy made from a link that was changed after signing would describe the change as normal.
                        foreach (var signature in block.Signatures)
                        {
                            var signer = keys.FirstOrDefault(k => k.KeyId == signature.KeyId) ?? (spiffe is null ? null : CertificateKey(signature));
                            if (signer is not null && !block.VerifySignature(signer))
                            {
                                stderr.WriteLine($"securebuild layout new: SB3015: {file}: the signature by functionary key {signature.KeyId} does not verify: the link was changed after it was signed. Rebuild to record it again.");
                                return CliApplication.Usage;
                            }
                        }
                        if (!block.Signatures.Any(sig => keys.Any(k => k.KeyId == sig.KeyId) || (spiffe is not null && sig.Cert is not null)))
                        {
                            stderr.WriteLine($"securebuild layout new: warning SB3016: {file} is not signed by any --functionary key (signed by {string.Join(", ", block.Signatures.Select(sig => sig.KeyId.Substring(0, Math.Min(8, sig.KeyId.Length))).DefaultIfEmpty("nobody"))}): the layout will only accept links that one of the functionaries signs.");
                        }
                        // "@external/<hash>/..." names come from this machine's paths: the layout would pin them, and
                        // links from another clone, CI or a rebuilder name those files differently.
                        var local = link.Materials.Keys.Concat(link.Products.Keys).Where(Core.Recording.ArtifactNamer.IsMachineSpecific).ToList();
                        if (local.Count > 0)
                        {
                            stderr.WriteLine($"securebuild layout new: warning SB3472: {file}: {local.Count} artifact name(s) are made from this machine's directories (e.g. {local[0]}): " +
                                "links recorded in another clone, in CI or by a rebuilder name those files differently and will not match this layout. " +
                                "Keep inputs and outputs below the repository or its output folders, or name the folder with <SecureBuildArtifactRoot Include=\"DIR\" Prefix=\"@name\" /> and build again.");
                        }
                        links.Add(link);
                    }
                    if (links.Count == 0)
                    {
                        stderr.WriteLine($"securebuild layout new: SB3011: no *.link files in '{dir}'.");
                        return CliApplication.Usage;
                    }
                    string prefix = "";
                    if (dirs.Length > 1)
                    {
                        var relative = Path.GetRelativePath(root, Path.GetFullPath(dir)).Replace('\\', '/');
                        if (relative == "." || relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
                        {
                            stderr.WriteLine($"securebuild layout new: SB3012: link directory '{dir}' is not below the link root '{root}'. Run from the solution directory or pass --link-root <directory containing every --link-dir>.");
                            return CliApplication.Usage;
                        }
                        prefix = relative.TrimEnd('/') + "/";
                    }
                    projects.Add(new ProjectLinks(prefix, links));
                }
                if (projects.Select(p => p.Prefix).Distinct(StringComparer.Ordinal).Count() != projects.Count)
                {
                    stderr.WriteLine("securebuild layout new: SB3013: the same link directory is given twice.");
                    return CliApplication.Usage;
                }
                string source = projects.Count == 1
                    ? "the links in " + Path.GetFileName(Path.GetFullPath(dirs[0]).TrimEnd('/', '\\'))
                    : $"the links of {projects.Count} projects ({string.Join(", ", projects.Select(p => p.Prefix.TrimEnd('/')))})";
                var created = LayoutGenerator.Create(projects, keys, roleFile is null ? parse.GetValue(threshold) : 1, ParseExpiry(parse.GetValue(expires)!),
                    $"Generated by `securebuild layout new{(parse.GetValue(permissive) ? " --permissive" : "")}` from {source}.",
                    parse.GetValue(permissive) ? LayoutPolicy.Permissive : LayoutPolicy.Strict, spiffe);
                var signers = (parse.GetValue(sign) ?? Array.Empty<string>()).Select(SigningKey.Load).ToList();
                roleFile?.AddReleaseSteps(created, projects);
                roleFile?.Apply(created);
                roleFile?.CheckSigners(signers);
                var metablock = new Metablock(created.ToJson());
                foreach (var ownerKey in signers)
                {
                    metablock.Sign(ownerKey);
                }
                metablock.Save(parse.GetValue(output)!);
                stdout.WriteLine($"layout with {created.Steps.Count} steps ({string.Join(", ", created.Steps.Select(s => s.Name))}), {metablock.Signatures.Count} signature(s): {parse.GetValue(output)}");
                if (roleFile is not null)
                {
                    foreach (var step in created.Steps)
                    {
                        var role = roleFile.RoleOf(step.Name)!;
                        stdout.WriteLine($"  {step.Name}: role {role}");
                    }
                }
                if (projects.Count > 1)
                {
                    stdout.WriteLine($"verify with the link directory {root} (e.g. securebuild verify -l {parse.GetValue(output)} -k <owner key> -d {root})");
                }
                return CliApplication.Success;
            }
            catch (RolesException e)
            {
                stderr.WriteLine($"securebuild layout new: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }
            catch (Core.Spiffe.SvidException e)
            {
                stderr.WriteLine($"securebuild layout new: SB5240: the SPIFFE trust bundle cannot be used: {e.Code}: {e.Reason} Give --spiffe-bundle the bundle file `securebuild svid fetch` writes (bundle.pem), or the trust domain's SPIFFE bundle (JWKS).");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is KeyFormatException || e is InTotoFormatException || e is JsonFormatException || e is ArgumentException || e is FormatException || e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"securebuild layout new: {(e is KeyFormatException ? Describe(e) : e.Message.StartsWith("SB524", StringComparison.Ordinal) || e.Message.StartsWith("SB5238", StringComparison.Ordinal) ? e.Message : "SB3905: " + e.Message)}");
                return CliApplication.Usage;
            }
        });
        return command;
    }

    private static Command CreateSign(TextWriter stdout, TextWriter stderr)
    {
        var layoutFile = new Option<string>("--layout") { Description = "The layout to sign.", Required = true };
        var keys = new Option<string[]>("--key") { Description = "Owner private key(s).", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the signed layout (default: in place)." };
        var command = new Command("sign", "Add (or replace) owner signatures on a layout.") { layoutFile, keys, output };
        command.SetAction(parse =>
        {
            try
            {
                var path = parse.GetValue(layoutFile)!;
                var metablock = Metablock.Load(path, InputKind.Layout);
                Layout.FromJson(metablock.Signed); // refuse to sign anything that is not a well-formed layout
                foreach (var key in parse.GetValue(keys)!)
                {
                    metablock.Sign(SigningKey.Load(key));
                }
                var target = parse.GetValue(output) ?? path;
                metablock.Save(target);
                stdout.WriteLine($"{target}: {metablock.Signatures.Count} signature(s)");
                return CliApplication.Success;
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"securebuild layout sign: {Describe(e)}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is InTotoFormatException || e is JsonFormatException || e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"securebuild layout sign: SB3901: {e.Message} Give --layout an in-toto layout file (one written by `securebuild layout new`).");
                return CliApplication.Usage;
            }
        });
        return command;
    }

    private static string Describe(Exception e) => e is KeyFormatException k ? $"{k.Code}: {k.Message} {k.Fix}" : e.Message;

    /// <exception cref="FormatException">SB5241: not a SPIFFE ID or pattern.</exception>
    private static Core.Spiffe.SpiffePattern ParseSpiffeId(string text)
    {
        try
        {
            return Core.Spiffe.SpiffePattern.Parse(text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"SB5241: --functionary-spiffe {e.Message} Give a SPIFFE ID (spiffe://ci.example/builder/linux) or every ID below a path (spiffe://ci.example/builder/*).", e);
        }
    }

    /// <summary>The SPIFFE ID functionaries with their trust bundle, or null when there are none.</summary>
    /// <exception cref="ArgumentException">SB5238: SPIFFE IDs without --spiffe-bundle, or a bundle of another trust domain.</exception>
    private static SpiffeFunctionaries? SpiffeFunctionariesFrom(IReadOnlyList<Core.Spiffe.SpiffePattern> ids, string? bundleFile)
    {
        if (ids.Count == 0)
        {
            return bundleFile is null ? null
                : throw new ArgumentException("SB5238: --spiffe-bundle is given, and no functionary is a SPIFFE ID. Add --functionary-spiffe (or SPIFFE IDs in the roles file), or leave the bundle out.");
        }

        if (bundleFile is null)
        {
            throw new ArgumentException($"SB5238: the SPIFFE ID functionaries ({string.Join(", ", ids)}) need the trust bundle that anchors their SVIDs. Give --spiffe-bundle bundle.pem (what `securebuild svid fetch` writes).");
        }

        var bundle = Core.Spiffe.SvidCertificates.ReadBundle(InputFile.ReadAllBytes(bundleFile, InputKind.Metadata), bundleFile);
        try
        {
            return new SpiffeFunctionaries(ids, bundle);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"SB5238: {bundleFile}: {e.Message.Split(" (Parameter")[0]}.", e);
        }
    }

    /// <summary>The key of the certificate a signature carries, or null (none, or unreadable: the verifier decides then).</summary>
    private static PublicKey? CertificateKey(Signature signature)
    {
        if (signature.Cert is null)
        {
            return null;
        }

        try
        {
            var leaf = Core.Spiffe.SvidCertificates.ReadCertificates(System.Text.Encoding.UTF8.GetBytes(signature.Cert), "cert")[0];
            var key = LayoutCertificate.PublicKeyOf(leaf, "the signature's certificate");
            return key.KeyId == signature.KeyId ? key : null;
        }
        catch (Exception e) when (e is Core.Spiffe.SvidException || e is KeyFormatException)
        {
            return null;
        }
    }

    internal static DateTimeOffset ParseExpiry(string text)
    {
        text = text.Trim();
        if (text.EndsWith("d", StringComparison.Ordinal) && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days > 0)
        {
            var now = DateTimeOffset.UtcNow;
            return new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero).AddDays(days);
        }
        return Layout.ParseExpires(text);
    }
}
