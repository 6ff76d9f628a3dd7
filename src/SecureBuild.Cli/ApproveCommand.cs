using System.CommandLine;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Recording;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild approve PACKAGE|DIR... --key FILE`: a release approver signs a link whose materials are the packages
/// approved (named as the build's pack link names them: relative to the repository root), for the approval step a
/// roles file's "approvers" compile into (see <see cref="ReleaseSteps"/>). Exit 0 written, 2 usage or unreadable.
/// </summary>
internal static class ApproveCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var packages = new Argument<string[]>("PACKAGE|DIR")
        {
            Description = "The package(s) to approve (.nupkg, .snupkg), or directories: every package below them.",
            Arity = ArgumentArity.OneOrMore,
        };
        var key = new Option<string>("--key") { Description = "The approver's private key: it signs the approval link.", Required = true };
        var step = new Option<string>("--step") { Description = "The approval step's name (the roles file's approvers \"step\").", DefaultValueFactory = _ => LayoutRoles.DefaultApprovalStep };
        var linkDir = new Option<string>("--link-dir", "-d") { Description = "Where to write <step>.<keyid8>.link: the link directory the verifier is given.", DefaultValueFactory = _ => "." };
        var root = new Option<string>("--root") { Description = "The directory package names are relative to, as in the pack link (default: the repository root of the current directory)." };
        var command = new Command("approve", "Approve packages for release: write a signed link for the roles file's approval step whose materials are the packages.")
        {
            packages, key, step, linkDir, root,
        };
        command.SetAction(parse =>
        {
            const string me = "securebuild approve";
            try
            {
                var namer = new ArtifactNamer(parse.GetValue(root) ?? RepositoryRoot.Find(Directory.GetCurrentDirectory()));
                var approved = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var path in Expand(parse.GetValue(packages)!))
                {
                    string name = namer.Name(path);
                    if (name.StartsWith("@", StringComparison.Ordinal))
                    {
                        throw new RolesException(RolesException.PackageOutsideRoot,
                            $"{path} lies outside {(parse.GetValue(root) is { } r ? "--root " + r : "the repository")}: the pack link names its packages relative to the repository root, so an approval of it would name another artifact.",
                            "Approve the package where the build wrote it (inside the repository), or give --root the directory the pack link's names are relative to.");
                    }

                    approved[name] = Sha256Hex.OfFile(path);
                }

                var signer = SigningKey.Load(parse.GetValue(key)!);
                var link = ReleaseSteps.ApprovalLink(parse.GetValue(step)!, approved);
                string written = LinkFile.WriteSigned(link, signer, parse.GetValue(linkDir)!);
                foreach (var package in approved)
                {
                    stdout.WriteLine($"approved {package.Key} (sha256:{package.Value})");
                }

                stdout.WriteLine($"{written}: signed by {signer.KeyId}");
                return CliApplication.Success;
            }
            catch (Core.Diagnostics.CodedException e) when (e is RolesException || e is KeyFormatException)
            {
                stderr.WriteLine($"{me}: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException)
            {
                stderr.WriteLine($"{me}: {RolesException.NoPackages}: {e.Message} Give readable package files or directories, and a --step name usable in a file name.");
                return CliApplication.Usage;
            }
        });
        return command;
    }

    /// <summary>The package files given, and every package below the directories given, in ordinal order.</summary>
    private static IEnumerable<string> Expand(IEnumerable<string> paths)
    {
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (string file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(ReleaseSteps.IsPackage).OrderBy(f => f, StringComparer.Ordinal))
                {
                    yield return file;
                }
            }
            else if (!ReleaseSteps.IsPackage(path))
            {
                throw new RolesException(RolesException.NoPackages, $"{path} is not a package (.nupkg, .snupkg) or a directory.", "Give the package file(s) the pack step produced, or a directory holding them.");
            }
            else if (!File.Exists(path))
            {
                throw new RolesException(RolesException.NoPackages, $"{path} does not exist.", "Give the package file(s) the pack step produced, or a directory holding them.");
            }
            else
            {
                yield return path;
            }
        }
    }
}
