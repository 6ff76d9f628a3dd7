using System.Text;
using Org.BouncyCastle.Asn1.EdEC;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Crypto;

/// <summary>The result of reading a key: the public half (always) and the private half (if the input had one).</summary>
internal sealed class KeyMaterial
{
    public KeyMaterial(PublicKey publicKey, AsymmetricKeyParameter? privateKey)
    {
        Public = publicKey;
        Private = privateKey;
    }

    public PublicKey Public { get; }

    public AsymmetricKeyParameter? Private { get; }
}

/// <summary>
/// Reads key files: securesystemslib JSON keys, PEM SPKI public keys, PKCS#8 / PKCS#1 / SEC1 private keys.
/// Every failure is a <see cref="KeyFormatException"/> that names the source and never quotes key material.
/// </summary>
internal static class KeyReader
{
    private const string FixNotFound = "Check the key path, or generate a key pair with `securebuild keygen`.";
    private const string FixUnreadable = "Point the setting at a readable key file (not a directory) and make sure the build account may read it.";
    private const string FixPublicGiven = "Use the private key file (for in-toto-keygen keys: the file without '.pub') for signing; public keys can only verify.";
    private const string FixUnsupported = "Use an ed25519, ECDSA NIST P-256 or RSA (2048 bits or more) key, for example one made by `securebuild keygen` or `in-toto-keygen`.";
    private const string FixMalformed = "Restore an intact copy of the key file, or generate a new key pair with `securebuild keygen`.";
    private const string FixEncrypted = "Decrypt the key first (for a PEM key: `openssl pkey -in KEY -out KEY.decrypted`), or generate an unencrypted signing key with `securebuild keygen`.";

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    // ---- files ----

    public static string ReadKeyFile(string path)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }

        if (path.Trim().Length == 0)
        {
            throw new KeyFormatException(KeyFormatException.NotFound, "Key file path is empty.", FixNotFound);
        }

        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            throw new KeyFormatException(KeyFormatException.NotFound, $"Key file '{path}' is not a valid path: {e.Message}", FixNotFound, e);
        }

        if (Directory.Exists(full))
        {
            throw new KeyFormatException(KeyFormatException.Unreadable, $"Key file '{full}' is a directory, not a key file.", FixUnreadable);
        }

        if (!File.Exists(full))
        {
            throw new KeyFormatException(KeyFormatException.NotFound, $"Key file '{full}' was not found.", FixNotFound);
        }

        byte[] bytes;
        try
        {
            // Regular files only, at most 64 KiB: /dev/zero or a FIFO named as a key is refused before it is read.
            bytes = InputFile.ReadAllBytes(full, InputKind.Key);
        }
        catch (InputFileException e)
        {
            throw new KeyFormatException(e.Code, e.Reason, e.Fix, e);
        }
        catch (FileNotFoundException e)
        {
            throw new KeyFormatException(KeyFormatException.NotFound, $"Key file '{full}' was not found.", FixNotFound, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new KeyFormatException(KeyFormatException.NotFound, $"Key file '{full}' was not found.", FixNotFound, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyFormatException(KeyFormatException.Unreadable, $"Key file '{full}' cannot be read: access denied ({e.Message}).", FixUnreadable, e);
        }
        catch (IOException e)
        {
            throw new KeyFormatException(KeyFormatException.Unreadable, $"Key file '{full}' cannot be read: {e.Message}", FixUnreadable, e);
        }

        return DecodeText(bytes, full);
    }

    public static string DecodeText(byte[] bytes, string source)
    {
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        bool derLike = bytes.Length > start + 1 && bytes[start] == 0x30 && (bytes[start + 1] == 0x81 || bytes[start + 1] == 0x82);
        if (Array.IndexOf(bytes, (byte)0) >= 0 || derLike)
        {
            throw Malformed(source, "it is a binary file (raw DER?), but only PEM and securesystemslib JSON key files are supported");
        }

        try
        {
            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is not valid UTF-8 text, so it is neither a PEM nor a JSON key.", FixMalformed, e);
        }
    }

    // ---- text ----

    public static KeyMaterial Parse(string text, string source, bool requirePrivate)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }

        source ??= "(key)";
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text.Substring(1);
        }

        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw Malformed(source, "the file is empty");
        }

        if (trimmed[0] == '{')
        {
            return ParseJsonKey(trimmed, source, requirePrivate);
        }

        if (Pem.ContainsPem(text))
        {
            return ParsePemKey(text, source, requirePrivate);
        }

        if (LooksLikeSecureSystemsLibEncrypted(trimmed))
        {
            throw new KeyFormatException(
                KeyFormatException.Encrypted,
                $"Key file '{source}' is an encrypted securesystemslib key (written by `in-toto-keygen -p`); encrypted private keys are not supported.",
                "Generate an unencrypted key with `securebuild keygen` or `in-toto-keygen` without `-p`.");
        }

        if (trimmed.StartsWith("ssh-", StringComparison.Ordinal) || trimmed.StartsWith("ecdsa-sha2-", StringComparison.Ordinal))
        {
            throw new KeyFormatException(KeyFormatException.Unsupported, $"Key file '{source}' is an OpenSSH public key; OpenSSH key files are not supported (supported: PEM and securesystemslib JSON).", FixUnsupported);
        }

        throw Malformed(source, "it is neither a PEM key ('-----BEGIN ...-----') nor a securesystemslib JSON key ('{...}')");
    }

    private static bool LooksLikeSecureSystemsLibEncrypted(string text)
    {
        string[] parts = text.Split(new[] { "@@@@" }, StringSplitOptions.None);
        return parts.Length == 5 && parts.All(Hex.IsHex);
    }

    // ---- PEM ----

    private static KeyMaterial ParsePemKey(string text, string source, bool requirePrivate)
    {
        var blocks = Pem.ReadAll(text, what => Malformed(source, what));
        var block = blocks.FirstOrDefault(b => b.Label != "EC PARAMETERS");
        if (block is null)
        {
            throw Malformed(source, "it contains no PEM key block (only EC PARAMETERS)");
        }

        if (block.IsEncrypted)
        {
            throw new KeyFormatException(
                KeyFormatException.Encrypted,
                $"Key file '{source}' holds an encrypted private key (PEM '{block.Label}'{(block.Headers.Count > 0 ? " with Proc-Type: ENCRYPTED" : "")}); encrypted private keys are not supported.",
                FixEncrypted);
        }

        switch (block.Label)
        {
            case "PUBLIC KEY":
                if (requirePrivate)
                {
                    throw PublicGiven(source, "a PEM public key ('PUBLIC KEY')");
                }

                return new KeyMaterial(ReadSpki(block.Der, source, "PEM 'PUBLIC KEY'", text), null);
            case "RSA PUBLIC KEY":
                if (requirePrivate)
                {
                    throw PublicGiven(source, "a PEM RSA public key ('RSA PUBLIC KEY')");
                }

                throw Unsupported(source, "it holds a PKCS#1 'RSA PUBLIC KEY'; only SubjectPublicKeyInfo 'PUBLIC KEY' PEM is supported for public keys (convert with `openssl rsa -RSAPublicKey_in -pubout`)");
            case "PRIVATE KEY":
                return ReadPkcs8(block.Der, source);
            case "RSA PRIVATE KEY":
                return FromRsaPrivate(ReadRsaPkcs1(block.Der, source), source);
            case "EC PRIVATE KEY":
                return ReadSec1(block.Der, source);
            case "DSA PRIVATE KEY":
                throw Unsupported(source, "it holds a DSA private key; DSA is not supported");
            case "OPENSSH PRIVATE KEY":
                throw Unsupported(source, "it holds an OpenSSH-format private key, which is not supported (convert it with `ssh-keygen -p -m PKCS8 -f KEY`)");
            case "CERTIFICATE":
                throw Unsupported(source, "it holds an X.509 certificate; give the key itself ('PUBLIC KEY' or a private key PEM)");
            default:
                throw Unsupported(source, $"its PEM block type '{block.Label}' is not a supported key format (supported: PUBLIC KEY, PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY)");
        }
    }

    private static Asn1Object ReadDer(byte[] der, string source, string what)
    {
        try
        {
            return Asn1Object.FromByteArray(der);
        }
        catch (Exception e)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is malformed: the DER data in the {what} is truncated or not valid ASN.1.", FixMalformed, e);
        }
    }

    /// <summary>SubjectPublicKeyInfo. <paramref name="pemText"/> is the whole text, used for the verbatim RSA PEM.</summary>
    private static PublicKey ReadSpki(byte[] der, string source, string what, string? pemText)
    {
        var asn1 = ReadDer(der, source, what);
        SubjectPublicKeyInfo spki;
        DerObjectIdentifier oid;
        try
        {
            spki = SubjectPublicKeyInfo.GetInstance(asn1);
            oid = spki.Algorithm.Algorithm;
        }
        catch (Exception e) when (e is not KeyFormatException)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is malformed: the {what} is not a SubjectPublicKeyInfo structure.", FixMalformed, e);
        }

        if (oid.Equals(PkcsObjectIdentifiers.RsaEncryption))
        {
            var rsa = Wrap(() =>
            {
                var numbers = RsaPublicKeyStructure.GetInstance(spki.ParsePublicKey());
                return KeyAlgorithms.RsaPublic(numbers.Modulus, numbers.PublicExponent);
            }, source, what);
            CheckRsaSize(rsa.Modulus, source);
            string value = pemText is null ? KeyAlgorithms.RsaPublicPem(rsa) : ExtractRsaPublicPem(pemText) ?? KeyAlgorithms.RsaPublicPem(rsa);
            return new PublicKey(KeyType.Rsa, value, rsa);
        }

        if (oid.Equals(X9ObjectIdentifiers.IdECPublicKey))
        {
            CheckCurve(spki.Algorithm.Parameters, source);
            var ec = (ECPublicKeyParameters)Wrap(() => PublicKeyFactory.CreateKey(spki), source, what);
            var named = Wrap(() => new ECPublicKeyParameters("EC", ec.Q, KeyAlgorithms.P256Oid), source, what);
            return new PublicKey(KeyType.Ecdsa, KeyAlgorithms.EcPublicPem(named), named);
        }

        if (oid.Equals(EdECObjectIdentifiers.id_Ed25519))
        {
            byte[] raw = spki.PublicKey.GetOctets();
            if (raw.Length != 32)
            {
                throw Malformed(source, $"the Ed25519 public key in the {what} is {raw.Length} bytes long instead of 32");
            }

            var ed = Wrap(() => new Ed25519PublicKeyParameters(raw), source, what);
            return new PublicKey(KeyType.Ed25519, Hex.Encode(raw), ed);
        }

        throw Unsupported(source, $"its {what} is a {KeyAlgorithms.AlgorithmName(oid)} key");
    }

    /// <summary>securesystemslib's extract_pem: header through footer, verbatim, CRLF turned into LF.</summary>
    private static string? ExtractRsaPublicPem(string text)
    {
        const string header = "-----BEGIN PUBLIC KEY-----";
        const string footer = "-----END PUBLIC KEY-----";
        int start = text.IndexOf(header, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        int end = text.IndexOf(footer, start + header.Length, StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }

        return text.Substring(start, end + footer.Length - start).Replace("\r\n", "\n");
    }

    private static KeyMaterial ReadPkcs8(byte[] der, string source)
    {
        const string what = "PEM 'PRIVATE KEY' (PKCS#8)";
        var asn1 = ReadDer(der, source, what);
        PrivateKeyInfo info;
        DerObjectIdentifier oid;
        try
        {
            info = PrivateKeyInfo.GetInstance(asn1);
            oid = info.PrivateKeyAlgorithm.Algorithm;
        }
        catch (Exception e) when (e is not KeyFormatException)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is malformed: the {what} is not a PKCS#8 PrivateKeyInfo structure.", FixMalformed, e);
        }

        if (oid.Equals(PkcsObjectIdentifiers.RsaEncryption))
        {
            var rsa = Wrap(() => (RsaPrivateCrtKeyParameters)PrivateKeyFactory.CreateKey(info), source, what);
            return FromRsaPrivate(rsa, source);
        }

        if (oid.Equals(X9ObjectIdentifiers.IdECPublicKey))
        {
            CheckCurve(info.PrivateKeyAlgorithm.Parameters, source);
            var ec = Wrap(() => (ECPrivateKeyParameters)PrivateKeyFactory.CreateKey(info), source, what);
            return FromEcPrivate(ec.D, null, source);
        }

        if (oid.Equals(EdECObjectIdentifiers.id_Ed25519))
        {
            var ed = Wrap(() => (Ed25519PrivateKeyParameters)PrivateKeyFactory.CreateKey(info), source, what);
            return FromEd25519Private(ed);
        }

        throw Unsupported(source, $"its {what} is a {KeyAlgorithms.AlgorithmName(oid)} key");
    }

    private static RsaPrivateCrtKeyParameters ReadRsaPkcs1(byte[] der, string source)
    {
        const string what = "PEM 'RSA PRIVATE KEY' (PKCS#1)";
        var asn1 = ReadDer(der, source, what);
        return Wrap(
            () =>
            {
                var s = RsaPrivateKeyStructure.GetInstance(asn1);
                return new RsaPrivateCrtKeyParameters(s.Modulus, s.PublicExponent, s.PrivateExponent, s.Prime1, s.Prime2, s.Exponent1, s.Exponent2, s.Coefficient);
            },
            source,
            what);
    }

    private static KeyMaterial ReadSec1(byte[] der, string source)
    {
        const string what = "PEM 'EC PRIVATE KEY' (SEC1)";
        var asn1 = ReadDer(der, source, what);
        var structure = Wrap(() => ECPrivateKeyStructure.GetInstance(asn1), source, what);
        Asn1Object? parameters = Wrap(() => structure.Parameters?.ToAsn1Object(), source, what);
        if (parameters is null)
        {
            throw Unsupported(source, $"its {what} does not name its curve; only NIST P-256 (prime256v1) keys with a named curve are supported");
        }

        CheckCurve(parameters, source);
        BigInteger d = Wrap(() => structure.GetKey(), source, what);
        DerBitString? pub = Wrap(() => structure.PublicKey, source, what);
        return FromEcPrivate(d, pub?.GetOctets(), source);
    }

    private static void CheckCurve(Asn1Encodable? parameters, string source)
    {
        X962Parameters x962;
        try
        {
            x962 = X962Parameters.GetInstance(parameters);
        }
        catch (Exception e)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is malformed: the EC curve parameters cannot be read.", FixMalformed, e);
        }

        if (x962.IsNamedCurve)
        {
            var curve = (DerObjectIdentifier)x962.Parameters;
            if (curve.Equals(KeyAlgorithms.P256Oid))
            {
                return;
            }

            throw Unsupported(source, $"it is an EC key on {KeyAlgorithms.CurveName(curve)}, but only NIST P-256 (prime256v1/secp256r1, scheme ecdsa-sha2-nistp256) is supported");
        }

        throw Unsupported(source, "it is an EC key with explicit or implicit curve parameters; only keys that name the NIST P-256 curve (prime256v1) are supported");
    }

    private static void CheckRsaSize(BigInteger modulus, string source)
    {
        if (modulus.BitLength < KeyAlgorithms.MinRsaBits)
        {
            throw Unsupported(source, $"it is an RSA-{modulus.BitLength} key; RSA keys must have at least {KeyAlgorithms.MinRsaBits} bits");
        }
    }

    private static KeyMaterial FromRsaPrivate(RsaPrivateCrtKeyParameters rsa, string source)
    {
        CheckRsaSize(rsa.Modulus, source);
        if (!RsaPartsAgree(rsa))
        {
            // Found by fuzzing: a damaged factor or exponent parses, and only signing notices ("faulty signing detected").
            throw Malformed(source, "the RSA private key's parts (modulus, primes, exponents) do not belong together; the key is damaged");
        }

        var pub = KeyAlgorithms.RsaPublic(rsa.Modulus, rsa.PublicExponent);
        return new KeyMaterial(new PublicKey(KeyType.Rsa, KeyAlgorithms.RsaPublicPem(pub), pub), rsa);
    }

    /// <summary>n = p·q, and the CRT exponents and coefficient are those of d, p and q (what signing relies on).</summary>
    private static bool RsaPartsAgree(RsaPrivateCrtKeyParameters k)
    {
        var one = BigInteger.One;
        if (k.P is null || k.Q is null || k.DP is null || k.DQ is null || k.QInv is null || k.Exponent is null ||
            k.P.CompareTo(one) <= 0 || k.Q.CompareTo(one) <= 0 || k.PublicExponent.SignValue <= 0 || k.Exponent.SignValue <= 0)
        {
            return false;
        }

        var p1 = k.P.Subtract(one);
        var q1 = k.Q.Subtract(one);
        return k.P.Multiply(k.Q).Equals(k.Modulus) &&
               k.Exponent.Mod(p1).Equals(k.DP) && k.Exponent.Mod(q1).Equals(k.DQ) &&
               k.PublicExponent.Multiply(k.DP).Mod(p1).Equals(one) && k.PublicExponent.Multiply(k.DQ).Mod(q1).Equals(one) &&
               k.QInv.Multiply(k.Q).Mod(k.P).Equals(one);
    }

    private static KeyMaterial FromEcPrivate(BigInteger d, byte[]? embeddedPoint, string source)
    {
        var domain = KeyAlgorithms.P256Domain();
        if (d.SignValue <= 0 || d.CompareTo(domain.N) >= 0)
        {
            throw Malformed(source, "the EC private key value is out of range for P-256");
        }

        var priv = new ECPrivateKeyParameters("EC", d, KeyAlgorithms.P256Oid);
        var pub = KeyAlgorithms.EcPublicFromPrivate(priv);
        if (embeddedPoint is not null)
        {
            var embedded = Wrap(() => domain.Curve.DecodePoint(embeddedPoint), source, "EC private key's public point");
            if (!embedded.Normalize().Equals(pub.Q))
            {
                throw Malformed(source, "the public point stored in the EC private key does not belong to the private key");
            }
        }

        return new KeyMaterial(new PublicKey(KeyType.Ecdsa, KeyAlgorithms.EcPublicPem(pub), pub), priv);
    }

    private static KeyMaterial FromEd25519Private(Ed25519PrivateKeyParameters ed)
    {
        var pub = ed.GeneratePublicKey();
        return new KeyMaterial(new PublicKey(KeyType.Ed25519, Hex.Encode(pub.GetEncoded()), pub), ed);
    }

    // ---- securesystemslib JSON ----

    private static KeyMaterial ParseJsonKey(string text, string source, bool requirePrivate)
    {
        JsonItem root;
        try
        {
            root = JsonParser.Parse(text);
        }
        catch (JsonFormatException e)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is not valid JSON: {e.Reason ?? e.Message} (line {e.Line}, column {e.Column}).", FixMalformed, e);
        }

        if (root is not JsonMap obj)
        {
            throw Malformed(source, "the JSON document is not an object");
        }

        string keytype = RequiredString(obj, "keytype", source);
        string scheme = RequiredString(obj, "scheme", source);
        if (!obj.TryGetValue("keyval", out var keyvalNode) || keyvalNode is not JsonMap keyval)
        {
            throw Malformed(source, "the JSON key has no \"keyval\" object");
        }

        string publicValue = RequiredString(keyval, "public", source, "keyval.public");
        string? privateValue = null;
        if (keyval.TryGetValue("private", out var privNode))
        {
            privateValue = privNode is JsonString ps ? ps.Value : throw Malformed(source, "\"keyval.private\" is not a string");
            if (privateValue.Length == 0)
            {
                privateValue = null;
            }
        }

        CheckHashAlgorithms(obj, source);
        KeyType type = TypeFromNames(keytype, scheme, source);
        if (requirePrivate && privateValue is null)
        {
            throw PublicGiven(source, $"a securesystemslib {keytype} public key (no \"keyval.private\")");
        }

        KeyMaterial material = type switch
        {
            KeyType.Ed25519 => JsonEd25519(publicValue, privateValue, source),
            KeyType.Ecdsa => JsonEcdsa(publicValue, privateValue, source),
            _ => JsonRsa(publicValue, privateValue, source),
        };

        if (obj.TryGetValue("keyid", out var keyidNode))
        {
            if (keyidNode is not JsonString keyid)
            {
                throw Malformed(source, "\"keyid\" is not a string");
            }

            if (!string.Equals(keyid.Value, material.Public.KeyId, StringComparison.Ordinal))
            {
                throw Malformed(source, $"its \"keyid\" {Short(keyid.Value)} does not match the key (computed keyid {material.Public.KeyId})");
            }
        }

        return material;
    }

    internal static KeyType TypeFromNames(string keytype, string scheme, string source)
    {
        switch (keytype)
        {
            case "ed25519":
                if (scheme != "ed25519")
                {
                    throw Unsupported(source, $"its ed25519 key has scheme '{scheme}'; the only supported scheme is 'ed25519'");
                }

                return KeyType.Ed25519;
            case "ecdsa":
                if (scheme != "ecdsa-sha2-nistp256")
                {
                    throw Unsupported(source, $"its ecdsa key has scheme '{scheme}'; the only supported scheme is 'ecdsa-sha2-nistp256' (NIST P-256)");
                }

                return KeyType.Ecdsa;
            case "rsa":
                if (scheme != "rsassa-pss-sha256")
                {
                    throw Unsupported(source, $"its rsa key has scheme '{scheme}'; the only supported scheme is 'rsassa-pss-sha256'");
                }

                return KeyType.Rsa;
            default:
                throw Unsupported(source, $"its keytype is '{keytype}' (scheme '{scheme}'); supported keytypes are 'ed25519', 'ecdsa' (ecdsa-sha2-nistp256) and 'rsa' (rsassa-pss-sha256)");
        }
    }

    internal static void CheckHashAlgorithms(JsonMap obj, string source)
    {
        if (!obj.TryGetValue("keyid_hash_algorithms", out var node))
        {
            return;
        }

        if (node is not JsonList array || array.Count != 2
            || array[0] is not JsonString { Value: "sha256" } || array[1] is not JsonString { Value: "sha512" })
        {
            throw Malformed(source, "\"keyid_hash_algorithms\" must be [\"sha256\", \"sha512\"]");
        }
    }

    private static KeyMaterial JsonEd25519(string publicHex, string? privateHex, string source)
    {
        if (publicHex.Length != 64 || !Hex.TryDecode(publicHex, out byte[] pubBytes))
        {
            throw Malformed(source, "\"keyval.public\" of an ed25519 key must be 64 hex characters (32 bytes)");
        }

        var pub = Wrap(() => new Ed25519PublicKeyParameters(pubBytes), source, "ed25519 public key");
        var publicKey = new PublicKey(KeyType.Ed25519, publicHex, pub);
        if (privateHex is null)
        {
            return new KeyMaterial(publicKey, null);
        }

        if ((privateHex.Length != 64 && privateHex.Length != 128) || !Hex.TryDecode(privateHex, out byte[] privBytes))
        {
            throw Malformed(source, "\"keyval.private\" of an ed25519 key must be 64 hex characters (a 32-byte seed)");
        }

        var priv = new Ed25519PrivateKeyParameters(privBytes, 0);
        byte[] derived = priv.GeneratePublicKey().GetEncoded();
        if (!derived.SequenceEqual(pubBytes) || (privBytes.Length == 64 && !privBytes.Skip(32).SequenceEqual(pubBytes)))
        {
            throw Malformed(source, "\"keyval.private\" does not belong to \"keyval.public\"");
        }

        return new KeyMaterial(publicKey, priv);
    }

    private static KeyMaterial JsonEcdsa(string publicPem, string? privatePem, string source)
    {
        var publicKey = PublicFromEmbeddedPem(publicPem, KeyType.Ecdsa, source);
        if (privatePem is null)
        {
            return new KeyMaterial(publicKey, null);
        }

        var inner = ParseEmbeddedPrivatePem(privatePem, source);
        if (inner.Public.Type != KeyType.Ecdsa || !((ECPublicKeyParameters)inner.Public.Parameters).Q.Equals(((ECPublicKeyParameters)publicKey.Parameters).Q))
        {
            throw Malformed(source, "\"keyval.private\" does not belong to \"keyval.public\"");
        }

        return new KeyMaterial(publicKey, inner.Private);
    }

    private static KeyMaterial JsonRsa(string publicPem, string? privatePem, string source)
    {
        var publicKey = PublicFromEmbeddedPem(publicPem, KeyType.Rsa, source);
        if (privatePem is null)
        {
            return new KeyMaterial(publicKey, null);
        }

        var inner = ParseEmbeddedPrivatePem(privatePem, source);
        if (inner.Public.Type != KeyType.Rsa || !((RsaKeyParameters)inner.Public.Parameters).Modulus.Equals(((RsaKeyParameters)publicKey.Parameters).Modulus))
        {
            throw Malformed(source, "\"keyval.private\" does not belong to \"keyval.public\"");
        }

        return new KeyMaterial(publicKey, inner.Private);
    }

    private static KeyMaterial ParseEmbeddedPrivatePem(string pem, string source)
    {
        if (!Pem.ContainsPem(pem))
        {
            throw Malformed(source, "\"keyval.private\" is not a PEM private key");
        }

        var material = ParsePemKey(pem, source + " (keyval.private)", requirePrivate: true);
        return material;
    }

    /// <summary>
    /// The public key from a key dict's keyval.public PEM. The string is kept verbatim as PublicValue, because
    /// securesystemslib computes the keyid over the stored string.
    /// </summary>
    internal static PublicKey PublicFromEmbeddedPem(string pem, KeyType expected, string source)
    {
        var blocks = Pem.ReadAll(pem, what => Malformed(source, "\"keyval.public\": " + what));
        if (blocks.Count != 1 || blocks[0].Label != "PUBLIC KEY")
        {
            throw Malformed(source, "\"keyval.public\" must hold exactly one PEM 'PUBLIC KEY' block");
        }

        var parsed = ReadSpki(blocks[0].Der, source, "\"keyval.public\" PEM", null);
        if (parsed.Type != expected)
        {
            throw Malformed(source, $"\"keyval.public\" holds a {parsed.KeyTypeName} key, but the keytype says {KeyAlgorithms.KeyTypeName(expected)}");
        }

        return new PublicKey(parsed.Type, pem, parsed.Parameters);
    }

    internal static PublicKey PublicFromHex(string publicHex, string source)
    {
        if (publicHex.Length != 64 || !Hex.TryDecode(publicHex, out byte[] bytes))
        {
            throw Malformed(source, "\"keyval.public\" of an ed25519 key must be 64 hex characters (32 bytes)");
        }

        return new PublicKey(KeyType.Ed25519, publicHex, Wrap(() => new Ed25519PublicKeyParameters(bytes), source, "ed25519 public key"));
    }

    /// <summary>
    /// A NIST P-256 public key given as the hex of its uncompressed SEC1 point (04 || X || Y), as early TUF metadata
    /// (keytype "ecdsa-sha2-nistp256", e.g. Sigstore's roots 1 to 4) stores it. The hex is kept as PublicValue.
    /// </summary>
    internal static PublicKey PublicFromEcPointHex(string pointHex, string source)
    {
        if (pointHex.Length != 130 || !Hex.TryDecode(pointHex, out byte[] bytes) || bytes[0] != 0x04)
        {
            throw Malformed(source, "\"keyval.public\" of an ecdsa-sha2-nistp256 key must be 130 hex characters: an uncompressed P-256 point (04 || X || Y)");
        }

        var domain = KeyAlgorithms.P256Domain();
        var point = Wrap(() => domain.Curve.DecodePoint(bytes), source, "P-256 public point");
        var named = Wrap(() => new ECPublicKeyParameters("EC", point, KeyAlgorithms.P256Oid), source, "P-256 public point");
        return new PublicKey(KeyType.Ecdsa, pointHex, named);
    }

    private static string RequiredString(JsonMap obj, string name, string source, string? displayName = null)
    {
        if (!obj.TryGetValue(name, out var node))
        {
            throw Malformed(source, $"the JSON key has no \"{displayName ?? name}\" field");
        }

        if (node is not JsonString s)
        {
            throw Malformed(source, $"the JSON key's \"{displayName ?? name}\" field is not a string");
        }

        return s.Value;
    }

    private static string Short(string s) => s.Length > 16 ? s.Substring(0, 16) + "..." : s;

    private static T Wrap<T>(Func<T> f, string source, string what)
    {
        try
        {
            return f();
        }
        catch (KeyFormatException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new KeyFormatException(KeyFormatException.Malformed, $"Key file '{source}' is malformed: the {what} has invalid key values or structure.", FixMalformed, e);
        }
    }

    internal static KeyFormatException Malformed(string source, string what) =>
        new(KeyFormatException.Malformed, $"Key file '{source}' is malformed: {what}.", FixMalformed);

    internal static KeyFormatException Unsupported(string source, string what) =>
        new(KeyFormatException.Unsupported, $"Key file '{source}' is not supported: {what}.", FixUnsupported);

    private static KeyFormatException PublicGiven(string source, string what) =>
        new(KeyFormatException.PublicKeyGiven, $"Key file '{source}' contains {what}, but a private key is required for signing.", FixPublicGiven);
}
