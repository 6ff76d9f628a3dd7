using System.CommandLine;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>`securebuild keygen --type ed25519|ecdsa|rsa [--format json|pem] -o NAME`: writes NAME (private) and NAME.pub.</summary>
internal static class KeygenCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var type = new Option<string>("--type", "-t")
        {
            Description = "Key type: ed25519 (default), ecdsa (P-256) or rsa (3072 bits, RSASSA-PSS).",
            DefaultValueFactory = _ => "ed25519",
        };
        type.AcceptOnlyFromAmong("ed25519", "ecdsa", "rsa");
        var output = new Option<string>("--output", "-o")
        {
            Description = "Path of the private key file; the public key goes to <path>.pub.",
            Required = true,
        };
        var force = new Option<bool>("--force") { Description = "Overwrite existing key files." };
        var format = new Option<string>("--format", "-f")
        {
            Description = "json (default): what in-toto reads (securesystemslib JSON for ed25519/ecdsa, PEM for rsa). pem: PKCS#8 private and SPKI public PEM, what cosign, sigstore-js and openssl read (SecureBuild.Sdk and securebuild read both).",
            DefaultValueFactory = _ => "json",
        };
        format.AcceptOnlyFromAmong("json", "pem");
        var command = new Command("keygen", "Generate a signing key pair in the formats in-toto reads (securesystemslib JSON for ed25519/ecdsa, PEM for rsa), or as PKCS#8/SPKI PEM with --format pem.")
        {
            type, output, force, format,
        };
        command.SetAction(parse =>
        {
            var privatePath = Path.GetFullPath(parse.GetValue(output)!);
            var publicPath = privatePath + ".pub";
            if (!parse.GetValue(force))
            {
                foreach (var existing in new[] { privatePath, publicPath }.Where(File.Exists))
                {
                    stderr.WriteLine($"securebuild keygen: SB3001: {existing} already exists; refusing to overwrite a key. Choose another -o path or pass --force.");
                    return CliApplication.Failure;
                }
            }
            var keyType = parse.GetValue(type) switch
            {
                "ecdsa" => KeyType.Ecdsa,
                "rsa" => KeyType.Rsa,
                _ => KeyType.Ed25519,
            };
            try
            {
                var key = SigningKey.Generate(keyType);
                var pem = parse.GetValue(format) == "pem";
                // Both keys or neither: a private key without its public half (or beside an old one) is a pair that
                // cannot be verified, and --force must not leave the previous pair half replaced.
                AtomicFile.WriteAllOrNone(new (string, byte[], Func<string, Stream>?)[]
                {
                    (privatePath, new UTF8Encoding(false).GetBytes(pem ? key.ExportPrivatePem() : key.ExportPrivate()), OwnerOnly),
                    (publicPath, new UTF8Encoding(false).GetBytes(pem ? key.Public.ExportPem() : key.ExportPublic()), null),
                });
                stdout.WriteLine($"{key.Public.KeyTypeName} key {key.KeyId}");
                stdout.WriteLine($"private: {privatePath}");
                stdout.WriteLine($"public:  {publicPath}");
                return CliApplication.Success;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stderr.WriteLine($"securebuild keygen: SB3002: could not write the key pair, so neither key was written: {e.Message}");
                return CliApplication.Failure;
            }
        });
        return command;
    }

    /// <summary>A new file readable only by its owner (on Unix): the private key is never readable by others, not even for a moment.</summary>
    internal static Stream OwnerOnly(string path) => OperatingSystem.IsWindows()
        ? new FileStream(path, FileMode.CreateNew, FileAccess.Write)
        : new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
}
