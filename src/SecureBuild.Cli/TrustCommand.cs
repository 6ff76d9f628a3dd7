using System.CommandLine;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Tuf;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild trust ...`: roots of trust through TUF. `update` fetches Sigstore's trusted root; `init`, `add`, `sign`,
/// `rotate`, `publish` keep an organisation's own TUF repository; `get` fetches a policy file through one;
/// `verify-root` checks a root rotation chain offline. Exit codes: 0 done, 1 refused (an SB52xx reason), 2 usage or
/// unreadable input.
/// </summary>
internal static class TrustCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var trust = new Command("trust", "Roots of trust through TUF: Sigstore's trusted root, and an organisation's own TUF repository for its policy files.");
        trust.Subcommands.Add(CreateUpdate(stdout, stderr));
        trust.Subcommands.Add(CreateInit(stdout, stderr));
        trust.Subcommands.Add(CreateAdd(stdout, stderr));
        trust.Subcommands.Add(CreateSign(stdout, stderr));
        trust.Subcommands.Add(CreateRotate(stdout, stderr));
        trust.Subcommands.Add(CreatePublish(stdout, stderr));
        trust.Subcommands.Add(CreateGet(stdout, stderr));
        trust.Subcommands.Add(CreateVerifyRoot(stdout, stderr));
        return trust;
    }

    internal static Option<string> ReferenceTimeOption() => new("--reference-time")
    {
        Description = "Evaluate expiry at this time (RFC 3339 or Unix seconds) instead of now, to audit old metadata.",
    };

    /// <summary>Runs a verb body: a TUF refusal is exit 1 with its code; unreadable keys or files exit 2.</summary>
    internal static int Guard(string name, TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (TufException e)
        {
            stderr.WriteLine($"{name}: {e.Message}");
            return e.Code is TufException.LocalState or TufException.Repository or TufException.WrongKey ? CliApplication.Usage : CliApplication.Failure;
        }
        catch (KeyFormatException k)
        {
            stderr.WriteLine($"{name}: {k.Code}: {k.Message} {k.Fix}");
            return CliApplication.Usage;
        }
        catch (InputFileException e)
        {
            stderr.WriteLine($"{name}: {e.Message}");
            return CliApplication.Usage;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"{name}: SB5211: {e.Message} Check the path and its permissions.");
            return CliApplication.Usage;
        }
    }

    internal static bool TryClock(string name, string? text, TextWriter stderr, out Func<DateTimeOffset> clock)
    {
        clock = () => DateTimeOffset.UtcNow;
        if (text is null)
        {
            return true;
        }

        if (!BundleCommand.TryParseTime(text, out var at))
        {
            stderr.WriteLine($"{name}: --reference-time '{text}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
            return false;
        }

        clock = () => at;
        return true;
    }

    private static Command CreateUpdate(TextWriter stdout, TextWriter stderr)
    {
        var url = new Option<string>("--metadata-url") { Description = $"The Sigstore TUF repository (http(s), file:// or a directory). Default: {SigstoreTrustedRootSource.PublicGoodMetadataUrl}." };
        var targetsUrl = new Option<string>("--targets-url") { Description = "Where its targets are. Default: METADATA-URL/targets." };
        var cache = new Option<string>("--cache-dir") { Description = "The local cache (trusted metadata and targets). Default: $SECUREBUILD_TUF_CACHE, $XDG_CACHE_HOME/securebuild/tuf or ~/.cache/securebuild/tuf, one folder per repository." };
        var root = new Option<string>("--root") { Description = "Initial trusted root.json for a repository other than the public-good instance (used only while the cache has none)." };
        var referenceTime = ReferenceTimeOption();
        var command = new Command("update", "Fetch Sigstore's trusted_root.json and signing config through TUF into the local cache. Exit 0 updated, 1 refused, 2 usage.")
        {
            url, targetsUrl, cache, root, referenceTime,
        };
        command.SetAction(parse =>
        {
            const string name = "securebuild trust update";
            if (!TryClock(name, parse.GetValue(referenceTime), stderr, out var clock))
            {
                return CliApplication.Usage;
            }

            string metadataUrl = parse.GetValue(url) ?? SigstoreTrustedRootSource.PublicGoodMetadataUrl;
            string cacheDir = parse.GetValue(cache) ?? SigstoreTrustedRootSource.DefaultCacheDirectory(metadataUrl);
            return Guard(name, stderr, () =>
            {
                string? rootPath = parse.GetValue(root);
                bool cached = File.Exists(Path.Combine(cacheDir, "metadata", "root.json"));
                if (rootPath is null && metadataUrl != SigstoreTrustedRootSource.PublicGoodMetadataUrl && !cached)
                {
                    stderr.WriteLine($"{name}: SB5211: the embedded root is the public-good instance's; {metadataUrl} needs its own initial root. Give --root ROOT.json (obtained out of band).");
                    return CliApplication.Usage;
                }

                byte[]? initial = cached ? null : rootPath is null ? SigstoreTrustedRootSource.EmbeddedPublicGoodRoot() : InputFile.ReadAllBytes(rootPath, InputKind.Metadata);
                using var fetcher = new TufFetcher();
                var result = SigstoreTrustedRootSource.Update(metadataUrl, parse.GetValue(targetsUrl), cacheDir, initial, clock, fetcher);
                stdout.WriteLine($"OK: {metadataUrl}: root version {result.RootVersion}, timestamp version {result.TimestampVersion} (valid until {TufRepositoryTime(result.TimestampExpires)})");
                stdout.WriteLine($"  trusted root:   {result.TrustedRootPath}");
                if (result.SigningConfigPath is not null)
                {
                    stdout.WriteLine($"  signing config: {result.SigningConfigPath}");
                }

                return CliApplication.Success;
            });
        });
        return command;
    }

    private static Command CreateInit(TextWriter stdout, TextWriter stderr)
    {
        var repo = RepoOption();
        var rootKeys = KeysOption("--root-key", "A root key (public, or private to sign root version 1 with it); repeat. Keep them offline.", required: true);
        var rootThreshold = new Option<int>("--root-threshold") { Description = "Root signatures required (default 1).", DefaultValueFactory = _ => 1 };
        var targetsKeys = KeysOption("--targets-key", "A targets key (public, or private to sign the first targets); repeat.", required: true);
        var targetsThreshold = new Option<int>("--targets-threshold") { Description = "Targets signatures required (default 1).", DefaultValueFactory = _ => 1 };
        var snapshotKeys = KeysOption("--snapshot-key", "The online snapshot key (public or private); repeat for more.", required: true);
        var timestampKeys = KeysOption("--timestamp-key", "The online timestamp key (public or private); repeat for more.", required: true);
        var command = new Command("init", "Create an organisation's TUF repository: root version 1 and an empty targets, signed by the private keys given. Exit 0 created, 2 usage.")
        {
            repo, rootKeys, rootThreshold, targetsKeys, targetsThreshold, snapshotKeys, timestampKeys,
        };
        command.SetAction(parse => Guard("securebuild trust init", stderr, () =>
        {
            var signers = new List<SigningKey>();
            var roles = new Dictionary<string, (IReadOnlyList<PublicKey>, int)>
            {
                ["root"] = (LoadKeys(parse.GetValue(rootKeys)!, signers), parse.GetValue(rootThreshold)),
                ["targets"] = (LoadKeys(parse.GetValue(targetsKeys)!, signers), parse.GetValue(targetsThreshold)),
                ["snapshot"] = (LoadKeys(parse.GetValue(snapshotKeys)!, null), 1),
                ["timestamp"] = (LoadKeys(parse.GetValue(timestampKeys)!, null), 1),
            };
            var repository = new TufRepository(parse.GetValue(repo)!);
            repository.Init(roles, signers);
            var root = repository.LoadStagedRoot();
            stdout.WriteLine($"OK: TUF repository created in {repository.Location} (root version 1, root threshold {root.Roles["root"].Threshold} of {root.Roles["root"].KeyIds.Count}, {root.Signatures.Count} signature(s) so far)");
            stdout.WriteLine("  next: `securebuild trust add` policy files, `trust sign` with the other root keys, then `trust publish`.");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreateAdd(TextWriter stdout, TextWriter stderr)
    {
        var repo = RepoOption();
        var file = new Argument<string>("file") { Description = "The policy file to publish (a layout, keys, a trace or image policy, allowed signer identities)." };
        var targetName = new Option<string>("--name") { Description = "Its target name (a relative path, '/' separated); default: the file name." };
        var keys = KeysOption("--key", "A private targets key to sign the new targets metadata; repeat up to the threshold (or sign later with `trust sign`).", required: true);
        var command = new Command("add", "Add (or replace) a target in the staged targets metadata and sign it. Exit 0 added, 2 usage.") { repo, file, targetName, keys };
        command.SetAction(parse => Guard("securebuild trust add", stderr, () =>
        {
            var signers = LoadSigners(parse.GetValue(keys)!);
            string path = parse.GetValue(file)!;
            string name = parse.GetValue(targetName) ?? Path.GetFileName(path);
            byte[] content = InputFile.ReadAllBytes(path, InputKind.Metadata);
            var target = new TufRepository(parse.GetValue(repo)!).AddTarget(name, content, signers);
            stdout.WriteLine($"OK: staged target '{target.Path}' ({target.Length} bytes, sha256 {target.Hashes["sha256"]}); run `securebuild trust publish` to publish it.");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreateSign(TextWriter stdout, TextWriter stderr)
    {
        var repo = RepoOption();
        var role = new Option<string>("--role") { Description = "root or targets.", Required = true };
        role.AcceptOnlyFromAmong("root", "targets");
        var keys = KeysOption("--key", "A private key of the role (for root also of the previous root); repeat.", required: true);
        var command = new Command("sign", "Add signatures to the staged root or targets metadata (threshold signing with offline keys). Exit 0 signed, 2 usage.") { repo, role, keys };
        command.SetAction(parse => Guard("securebuild trust sign", stderr, () =>
        {
            var repository = new TufRepository(parse.GetValue(repo)!);
            repository.Sign(parse.GetValue(role)!, LoadSigners(parse.GetValue(keys)!));
            stdout.WriteLine($"OK: signed the staged {parse.GetValue(role)} metadata.");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreateRotate(TextWriter stdout, TextWriter stderr)
    {
        var repo = RepoOption();
        var role = new Option<string>("--role") { Description = "The role whose keys change: root, targets, snapshot or timestamp.", Required = true };
        role.AcceptOnlyFromAmong("root", "targets", "snapshot", "timestamp");
        var add = KeysOption("--add-key", "A key to add to the role (public or private); repeat.", required: false);
        var remove = new Option<string[]>("--remove-key") { Description = "The keyid (or its first 8+ hex digits) of a key to revoke; repeat.", AllowMultipleArgumentsPerToken = false };
        var threshold = new Option<int?>("--threshold") { Description = "The role's new threshold (default: unchanged)." };
        var keys = KeysOption("--key", "A private root key to sign the new root (old and new root keys may both be needed); repeat.", required: true);
        var command = new Command("rotate", "Write a new root version with a role's keys changed (rotation, revocation) and sign it. Exit 0 staged, 2 usage.")
        {
            repo, role, add, remove, threshold, keys,
        };
        command.SetAction(parse => Guard("securebuild trust rotate", stderr, () =>
        {
            var repository = new TufRepository(parse.GetValue(repo)!);
            var signers = LoadSigners(parse.GetValue(keys)!);
            var added = LoadKeys(parse.GetValue(add) ?? Array.Empty<string>(), signers);
            var root = repository.Rotate(parse.GetValue(role)!, added, parse.GetValue(remove) ?? Array.Empty<string>(), parse.GetValue(threshold), signers);
            stdout.WriteLine($"OK: staged root version {root.Version}: {parse.GetValue(role)} keys {string.Join(", ", root.Roles[parse.GetValue(role)!].KeyIds.Select(k => k.Substring(0, 8)))}, threshold {root.Roles[parse.GetValue(role)!].Threshold}; {root.Signatures.Count} signature(s) so far.");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreatePublish(TextWriter stdout, TextWriter stderr)
    {
        var repo = RepoOption();
        var snapshotKeys = KeysOption("--snapshot-key", "A private snapshot key; repeat up to the threshold.", required: true);
        var timestampKeys = KeysOption("--timestamp-key", "A private timestamp key; repeat up to the threshold.", required: true);
        var command = new Command("publish", "Check the staged metadata as a client would, sign a new snapshot and timestamp and write metadata/ and targets/ for a static web server. Exit 0 published, 1 refused, 2 usage.")
        {
            repo, snapshotKeys, timestampKeys,
        };
        command.SetAction(parse => Guard("securebuild trust publish", stderr, () =>
        {
            var repository = new TufRepository(parse.GetValue(repo)!);
            repository.Publish(LoadSigners(parse.GetValue(snapshotKeys)!), LoadSigners(parse.GetValue(timestampKeys)!));
            var root = repository.PublishedRoot()!;
            stdout.WriteLine($"OK: published root version {root.Version}: serve {repository.MetadataDirectory} as the metadata URL and {repository.TargetsDirectory} as the targets URL.");
            return CliApplication.Success;
        }));
        return command;
    }

    private static Command CreateGet(TextWriter stdout, TextWriter stderr)
    {
        var repoUrl = new Option<string>("--trust-repo") { Description = "The organisation's TUF metadata URL (http(s), file:// or a directory).", Required = true };
        var targetsUrl = new Option<string>("--targets-url") { Description = "Its targets URL. Default: the sibling 'targets' of the metadata URL." };
        var root = new Option<string>("--root") { Description = "The repository's initial root.json, obtained out of band (used only while the cache has none)." };
        var cache = new Option<string>("--cache-dir") { Description = "The local trusted-metadata cache. Default: as for `trust update`, one folder per repository." };
        var target = new Option<string>("--target") { Description = "The target (policy file) name.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the verified file.", Required = true };
        var referenceTime = ReferenceTimeOption();
        var command = new Command("get", "Fetch a policy file through the organisation's TUF repository (verified: signatures, versions, expiry, length, hashes). Exit 0 written, 1 refused, 2 usage.")
        {
            repoUrl, targetsUrl, root, cache, target, output, referenceTime,
        };
        command.SetAction(parse =>
        {
            const string name = "securebuild trust get";
            if (!TryClock(name, parse.GetValue(referenceTime), stderr, out var clock))
            {
                return CliApplication.Usage;
            }

            return Guard(name, stderr, () =>
            {
                var file = TrustRepositoryTarget.Fetch(parse.GetValue(repoUrl)!, parse.GetValue(targetsUrl), parse.GetValue(root), parse.GetValue(cache), parse.GetValue(target)!, clock);
                AtomicFile.WriteAllBytes(Path.GetFullPath(parse.GetValue(output)!), file);
                stdout.WriteLine($"OK: '{parse.GetValue(target)}' ({file.Length} bytes) verified through {parse.GetValue(repoUrl)} -> {Path.GetFullPath(parse.GetValue(output)!)}");
                return CliApplication.Success;
            });
        });
        return command;
    }

    private static Command CreateVerifyRoot(TextWriter stdout, TextWriter stderr)
    {
        var trusted = new Argument<string>("trusted-root") { Description = "The root you trust." };
        var next = new Argument<string[]>("next-root") { Description = "The following root versions, in order.", Arity = ArgumentArity.OneOrMore };
        var referenceTime = ReferenceTimeOption();
        var command = new Command("verify-root", "Check a root rotation chain offline: each root signed by a threshold of the previous root's keys and its own, versions consecutive, the last one unexpired. Exit 0 valid, 1 refused, 2 unreadable.")
        {
            trusted, next, referenceTime,
        };
        command.SetAction(parse =>
        {
            const string name = "securebuild trust verify-root";
            if (!TryClock(name, parse.GetValue(referenceTime), stderr, out var clock))
            {
                return CliApplication.Usage;
            }

            byte[] first;
            var chain = new List<(string, byte[])>();
            try
            {
                first = InputFile.ReadAllBytes(parse.GetValue(trusted)!, InputKind.Metadata);
                foreach (string path in parse.GetValue(next)!)
                {
                    chain.Add((path, InputFile.ReadAllBytes(path, InputKind.Metadata)));
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"{name}: SB5211: {e.Message}");
                return CliApplication.Usage;
            }

            return Guard(name, stderr, () =>
            {
                var last = TufRootChain.Verify(first, chain, clock());
                stdout.WriteLine($"OK: root chain valid up to version {last.Version} (expires {TufRepositoryTime(last.Expires)})");
                return CliApplication.Success;
            });
        });
        return command;
    }

    internal static string TufRepositoryTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static Option<string> RepoOption() => new("--repo") { Description = "The repository directory (made by `securebuild trust init`).", Required = true };

    private static Option<string[]> KeysOption(string name, string description, bool required) => new(name) { Description = description, Required = required };

    /// <summary>Public keys from files that hold a public or a private key; private ones are added to <paramref name="signers"/>.</summary>
    private static IReadOnlyList<PublicKey> LoadKeys(string[] paths, List<SigningKey>? signers)
    {
        var keys = new List<PublicKey>();
        foreach (string path in paths)
        {
            try
            {
                keys.Add(PublicKey.Load(path));
            }
            catch (KeyFormatException e) when (e.Code == KeyFormatException.PrivateKeyGiven)
            {
                var key = SigningKey.Load(path);
                signers?.Add(key);
                keys.Add(key.Public);
            }
        }

        return keys;
    }

    private static List<SigningKey> LoadSigners(string[] paths) => paths.Select(SigningKey.Load).ToList();
}
