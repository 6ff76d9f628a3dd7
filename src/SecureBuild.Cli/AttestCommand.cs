using System.CommandLine;
using SecureBuild.Core.Identity;
using SecureBuild.Core.IO;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild attest push` / `pull`: a build's Sigstore bundles stored in, and fetched from, an OCI registry next to
/// the artifact they describe (Core's <see cref="OciAttestationStore"/>). Exit 0 done, 1 refused by the registry or an
/// answer that does not hold up (wrong digest, too large, malformed), 2 usage, unreadable input or unreachable registry.
/// </summary>
internal static class AttestCommand
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var attest = new Command("attest", "Attestations (Sigstore bundles) in an OCI registry.");
        attest.Subcommands.Add(CreatePush(stdout, stderr));
        attest.Subcommands.Add(CreatePull(stdout, stderr));
        return attest;
    }

    private static Option<string> RegistryOption() => new("--registry") { Description = "HOST[:PORT]/REPOSITORY (https; plain http only for a registry on 127.0.0.1/localhost). Credentials: docker's config.json.", Required = true };

    private static Option<string> SubjectOption() => new("--subject") { Description = "The artifact: a FILE (e.g. a .nupkg, stored in the repository too) or IMAGE@sha256:HEX (an image in that repository).", Required = true };

    private static Command CreatePush(TextWriter stdout, TextWriter stderr)
    {
        var registry = RegistryOption();
        var subject = SubjectOption();
        var dir = new Option<string>("--dir") { Description = "The folder of *.sigstore.json bundles to store (default: the attestations folder beside FILE); FILE.sigstore.json beside FILE is stored too." };
        var command = new Command("push", "Store a build's Sigstore bundles as OCI 1.1 referrers of the artifact (with the referrers tag and cosign's sha256-HEX.att tag where the registry has no referrers API). Exit 0 stored, 1 refused, 2 usage or unreachable.")
        {
            registry, subject, dir,
        };
        command.SetAction(parse => Run("securebuild attest push", stderr, () =>
        {
            var repository = OciRepository.Parse(parse.GetValue(registry)!);
            var (file, image) = ParseSubject(parse.GetValue(subject)!, repository);
            var bundles = LoadBundles(parse.GetValue(dir), file);
            using var http = new BoundedHttp(Deadline, SigstoreBundle.MaxBundleBytes);
            var client = Client(repository, http);
            OciDescriptor target;
            if (file is not null)
            {
                target = OciAttestationStore.PushFile(client, file);
                stdout.WriteLine($"stored {Path.GetFileName(file)} as {repository}@{target.Digest}");
            }
            else
            {
                target = client.ResolveManifest(image!) ?? throw new OciException(OciException.Refused, $"{repository} has no manifest {image}", "Push the image first, or name its digest in this repository.");
            }

            var result = OciAttestationStore.PushBundles(client, target, bundles);
            foreach (var (name, digest) in result.Bundles)
            {
                stdout.WriteLine($"  {name} -> {repository}@{digest}");
            }

            string how = result.ReferrersApi
                ? "the registry serves the referrers API"
                : $"the registry has no referrers API: referrers tag {result.FallbackTag}" + (result.CosignTag is null ? string.Empty : $", cosign tag {result.CosignTag}");
            stdout.WriteLine($"OK: {result.Bundles.Count} bundle(s) stored for {repository}@{target.Digest} ({how}; {client.RoundTrips} requests)");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreatePull(TextWriter stdout, TextWriter stderr)
    {
        var registry = RegistryOption();
        var subject = SubjectOption();
        var output = new Option<string>("--output", "-o") { Description = "The folder to write the bundles (and DSSE envelopes found only under cosign's tag) into.", Required = true };
        var command = new Command("pull", "Fetch the Sigstore bundles stored for an artifact (referrers API, referrers tag, cosign's .att tag), every digest checked. Verify them with `securebuild bundle verify`. Exit 0 fetched, 1 none or refused, 2 usage or unreachable.")
        {
            registry, subject, output,
        };
        command.SetAction(parse => Run("securebuild attest pull", stderr, () =>
        {
            var repository = OciRepository.Parse(parse.GetValue(registry)!);
            var (file, image) = ParseSubject(parse.GetValue(subject)!, repository);
            string digest = file is not null ? OciAttestationStore.FileSubject(file).Digest : image!;
            using var http = new BoundedHttp(Deadline, SigstoreBundle.MaxBundleBytes);
            var client = Client(repository, http);
            var (bundles, envelopes) = OciAttestationStore.Pull(client, digest);
            if (bundles.Count + envelopes.Count == 0)
            {
                throw new OciException(OciException.NothingFound, $"{repository} holds no attestations for {digest}", "Push them first (securebuild attest push), or check --registry and --subject.");
            }

            string outDir = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(outDir);
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, bytes) in bundles.Concat(envelopes))
            {
                string unique = name;
                for (int i = 2; !used.Add(unique); i++)
                {
                    unique = Path.GetFileNameWithoutExtension(name) + "-" + i + Path.GetExtension(name);
                }

                AtomicFile.WriteAllBytes(Path.Combine(outDir, unique), bytes);
                stdout.WriteLine($"  {unique}");
            }

            stdout.WriteLine($"OK: {bundles.Count} bundle(s){(envelopes.Count > 0 ? $" and {envelopes.Count} DSSE envelope(s) from the cosign tag" : string.Empty)} for {repository}@{digest} -> {outDir}");
            return CliApplication.Success;
        }));
        return command;
    }

    private static OciRegistryClient Client(OciRepository repository, BoundedHttp http)
    {
        string? config = DockerCredentials.ConfigPath(Environment.GetEnvironmentVariable);
        return new OciRegistryClient(repository, http, host => DockerCredentials.Find(config, host));
    }

    /// <summary>FILE, or IMAGE@sha256:HEX where IMAGE is the repository (with or without its host).</summary>
    private static (string? File, string? Digest) ParseSubject(string text, OciRepository repository)
    {
        int at = text.LastIndexOf("@sha256:", StringComparison.Ordinal);
        if (at > 0 && !File.Exists(text))
        {
            string name = text.Substring(0, at);
            string digest = text.Substring(at + 1);
            if (digest.Length != 71 || !Core.Crypto.Hex.IsLowerHex(digest.Substring(7)))
            {
                throw new OciException(OciException.BadReference, $"'{digest}' is not sha256: followed by 64 lower-case hex digits", "Name the image as IMAGE@sha256:HEX.");
            }

            if (name != repository.Repository && name != repository.ToString())
            {
                throw new OciException(OciException.BadReference, $"the image '{name}' is not in {repository}", "Give --registry as the image's HOST/REPOSITORY.");
            }

            return (null, digest);
        }

        if (!File.Exists(text))
        {
            throw new OciException(OciException.BadReference, $"'{text}' is neither a file nor IMAGE@sha256:HEX", "Name the packed file or the image digest.");
        }

        return (Path.GetFullPath(text), null);
    }

    private static List<(string Name, byte[] Bytes, SigstoreBundle Bundle)> LoadBundles(string? dir, string? file)
    {
        var paths = new List<string>();
        string? folder = dir ?? (file is null ? null : Path.Combine(Path.GetDirectoryName(file)!, "attestations"));
        if (dir is not null && !Directory.Exists(dir))
        {
            throw new OciException(OciException.BadInput, $"--dir '{dir}' is not a folder", "Name the folder the build wrote its attestations to (bin/<Configuration>/attestations).");
        }

        if (folder is not null && Directory.Exists(folder))
        {
            paths.AddRange(Directory.GetFiles(folder, "*" + SigstoreBundleWriter.FileSuffix).OrderBy(p => p, StringComparer.Ordinal));
        }

        if (file is not null && File.Exists(file + SigstoreBundleWriter.FileSuffix))
        {
            paths.Add(file + SigstoreBundleWriter.FileSuffix);
        }

        if (paths.Count == 0)
        {
            throw new OciException(OciException.BadInput, $"no *{SigstoreBundleWriter.FileSuffix} bundles to push{(folder is null ? string.Empty : " in " + folder)}", "Name the attestations folder with --dir (the build writes bundles with SecureBuildProvenance, the default).");
        }

        var result = new List<(string, byte[], SigstoreBundle)>();
        foreach (string path in paths)
        {
            byte[] bytes;
            try
            {
                bytes = InputFile.ReadAllBytes(path, InputKind.Bundle);
            }
            catch (IOException e)
            {
                throw new OciException(OciException.BadInput, $"{path} cannot be read: {e.Message}", "Check the file.", e);
            }

            try
            {
                result.Add((Path.GetFileName(path), bytes, SigstoreBundle.Parse(bytes)));
            }
            catch (SigstoreFormatException e)
            {
                throw new OciException(OciException.BadInput, $"{path} is not a Sigstore bundle: {e.Message}", "Remove it from the folder, or rebuild.", e);
            }
        }

        return result;
    }

    private static int Run(string verb, TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OciException e)
        {
            stderr.WriteLine($"{verb}: {e.Code}: {e.Message}. {e.Fix}");
            return e.IsUsage ? CliApplication.Usage : CliApplication.Failure;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"{verb}: SB3906: {e.Message}");
            return CliApplication.Usage;
        }
    }
}
