using System.CommandLine;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild key export --pem KEYFILE [--public] [-o OUT] [--force]`: an existing key (securesystemslib JSON as
/// in-toto-keygen and `securebuild keygen` write it, or PEM) as PKCS#8 private / SPKI public PEM, for cosign,
/// sigstore-js and openssl. The key id stays the same: it is computed from the public key, not from the file format.
/// </summary>
internal static class KeyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var key = new Command("key", "Convert signing keys between the formats in-toto and Sigstore tools read.");
        key.Subcommands.Add(CreateExport(stdout, stderr));
        return key;
    }

    private static Command CreateExport(TextWriter stdout, TextWriter stderr)
    {
        var keyFile = new Argument<string>("KEYFILE") { Description = "The key to export: a private or public key file (securesystemslib JSON or PEM)." };
        var pem = new Option<bool>("--pem") { Description = "Export as PEM: a private key as PKCS#8 (\"PRIVATE KEY\"), a public key as SubjectPublicKeyInfo (\"PUBLIC KEY\")." };
        var publicOnly = new Option<bool>("--public") { Description = "Export only the public half of a private key." };
        var output = new Option<string>("--output", "-o") { Description = "Write to this file (a private key readable by its owner only) instead of standard output." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file." };
        var command = new Command("export", "Write an existing key as PEM (PKCS#8 private, SPKI public) for cosign, sigstore-js and openssl.")
        {
            keyFile, pem, publicOnly, output, force,
        };
        command.SetAction(parse =>
        {
            const string Verb = "securebuild key export";
            if (!parse.GetValue(pem))
            {
                stderr.WriteLine($"{Verb}: SB3500: no output format given. Pass --pem (PKCS#8 private / SPKI public PEM), the one format it exports.");
                return CliApplication.Usage;
            }
            var path = parse.GetValue(keyFile)!;
            string text;
            bool isPrivate;
            try
            {
                (text, isPrivate) = Export(path, parse.GetValue(publicOnly));
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"{Verb}: SB3501: cannot export {path}: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Failure;
            }
            var target = parse.GetValue(output);
            if (target is null)
            {
                stdout.Write(text);
                return CliApplication.Success;
            }
            var full = Path.GetFullPath(target);
            if (File.Exists(full) && !parse.GetValue(force))
            {
                stderr.WriteLine($"{Verb}: SB3502: {full} already exists; refusing to overwrite it. Choose another -o path or pass --force.");
                return CliApplication.Failure;
            }
            try
            {
                AtomicFile.WriteAllOrNone(new (string, byte[], Func<string, Stream>?)[]
                {
                    (full, new UTF8Encoding(false).GetBytes(text), isPrivate ? KeygenCommand.OwnerOnly : null),
                });
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"{Verb}: SB3503: could not write {full}: {e.Message}. Choose a path in a writable directory.");
                return CliApplication.Failure;
            }
            stdout.WriteLine($"{(isPrivate ? "private" : "public")} key {(isPrivate ? SigningKey.Load(path).KeyId : PublicKey.Load(path).KeyId)} as PEM: {full}");
            return CliApplication.Success;
        });
        return command;
    }

    /// <summary>The PEM text of the key in <paramref name="path"/>, and whether it is a private key.</summary>
    private static (string Text, bool IsPrivate) Export(string path, bool publicOnly)
    {
        try
        {
            var signing = SigningKey.Load(path);
            return publicOnly ? (signing.Public.ExportPem(), false) : (signing.ExportPrivatePem(), true);
        }
        catch (KeyFormatException e) when (e.Code == KeyFormatException.PublicKeyGiven)
        {
            return (PublicKey.Load(path).ExportPem(), false);
        }
    }
}
