using System.Globalization;
using System.Runtime.CompilerServices;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Internal;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// The reference-compatible in-toto reader (what in-toto-verify would accept), beside the strict reader for what
/// SecureBuild signs (<see cref="StrictInTotoReader"/>); both read into the one model (<see cref="Link"/>,
/// <see cref="Layout"/>, <see cref="Step"/>, <see cref="Inspection"/>, <see cref="ArtifactMap"/>), this one keeping
/// values in-toto leaves untyped as written (the model's internal "AsWritten" members). It reads link and layout
/// files the way in-toto 1.3.1's <c>Metablock.load</c> does: missing fields get their
/// defaults, unknown fields are dropped, and the signed bytes are the canonical JSON of the rebuilt model (so a field
/// added after signing is ignored, and a field removed after signing is re-added with its default, which breaks the
/// signature). Where the reference validates, we validate the same things and report a FormatError. Where Python's
/// <c>json</c> is laxer than RFC 8259 (duplicate keys: last one wins; NaN; lone surrogates) we reject the file.
/// </summary>
internal static class ReferenceMetadataReader
{
    private static readonly HashSet<string> HashAlgorithmNames = new(StringComparer.Ordinal)
    {
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2s", "blake2b", "blake2b-256",
    };

    /// <exception cref="VerificationAbort">FormatError.</exception>
    public static MetadataFile Read(byte[] bytes, string file, Func<DateTimeOffset> clock)
    {
        JsonItem root;
        try
        {
            root = JsonParser.ParseSigned(bytes);
        }
        catch (JsonFormatException e)
        {
            throw VerificationAbort.Format($"{file} is not valid JSON: {e.Message}", file);
        }

        if (root is not JsonMap top)
        {
            throw VerificationAbort.Format($"{file}: expected a JSON object with \"signatures\" and \"signed\", found {Describe(root)}.", file);
        }

        var signatures = ReadSignatures(top, file);
        JsonItem signedNode = top.Get("signed") ?? Empty();
        if (signedNode is not JsonMap signed)
        {
            throw VerificationAbort.Format($"{file}: \"signed\" must be an object, found {Describe(signedNode)}.", file);
        }

        var t = signed.Get("_type");
        string? type = t is JsonString ts ? ts.Value : null;
        if (type == "link")
        {
            var (link, signable) = ReadLink(signed, file);
            return new MetadataFile(file, signatures, signable, link, null, bytes.Length);
        }

        if (type == "layout")
        {
            var (layout, signable) = ReadLayout(signed, file, clock);
            return new MetadataFile(file, signatures, signable, null, layout, bytes.Length);
        }

        string found = t is null ? "missing" : t is JsonString str ? $"\"{str.Value}\"" : Describe(t);
        throw VerificationAbort.Format($"{file}: Invalid Metadata format: signed._type is {found}; expected \"link\" or \"layout\".", file);
    }

    private static JsonMap Empty() => new();

    private static JsonList EmptyList() => new();

    private static string Describe(JsonItem node) => JsonItem.Describe(node);

    private static List<SignatureEntry> ReadSignatures(JsonMap top, string file)
    {
        var result = new List<SignatureEntry>();
        var node = top.Get("signatures");
        if (node is null)
        {
            return result;
        }

        if (node is not JsonList array)
        {
            throw VerificationAbort.Format($"{file}: \"signatures\" must be a list, found {Describe(node)}.", file);
        }

        for (int i = 0; i < array.Count; i++)
        {
            string where = $"{file}: signatures[{i}]";
            if (array[i] is not JsonMap sig)
            {
                throw VerificationAbort.Format($"{where} must be an object {{\"keyid\": ..., \"sig\": ...}}, found {Describe(array[i])}.", file);
            }

            string keyId = sig.Get("keyid") is JsonString ks && IsPythonHex(ks.Value)
                ? ks.Value
                : throw VerificationAbort.Format($"{where}: \"keyid\" must be a hex string.", file);
            var v = sig.Get("sig");
            if (v is not null)
            {
                if (v is not JsonString vs || !IsPythonHex(vs.Value))
                {
                    throw VerificationAbort.Format($"{where}: \"sig\" must be a hex string.", file);
                }

                var cert = sig.Get("cert"); // in-toto-golang's; in-toto-verify ignores it, and so does a key-only layout here
                result.Add(new SignatureEntry(keyId, vs.Value, (cert as JsonString)?.Value));
            }
            else if (sig.Get("signature") is JsonString gs && IsPythonHex(gs.Value) && sig.Get("other_headers") is JsonString ohs && IsPythonHex(ohs.Value))
            {
                result.Add(new SignatureEntry(keyId, null)); // GPG signature
            }
            else
            {
                throw VerificationAbort.Format($"{where} has no \"sig\" (a GPG signature needs \"signature\" and \"other_headers\").", file);
            }
        }

        return result;
    }

    private static (Link Link, JsonMap Signable) ReadLink(JsonMap signed, string file)
    {
        JsonItem name = signed.Get("name") ?? JsonNull.Instance;
        JsonItem materials = signed.Get("materials") ?? Empty();
        JsonItem products = signed.Get("products") ?? Empty();
        JsonItem byproducts = signed.Get("byproducts") ?? Empty();
        JsonItem command = signed.Get("command") ?? EmptyList();
        JsonItem environment = signed.Get("environment") ?? Empty();
        var link = new Link
        {
            NameAsWritten = name,
            Materials = ReadArtifacts(materials, file, "materials"),
            Products = ReadArtifacts(products, file, "products"),
            Byproducts = byproducts as JsonMap ?? throw VerificationAbort.Format($"{file}: Invalid Link: field `byproducts` must be an object, found {Describe(byproducts)}.", file),
            CommandAsWritten = command as JsonList ?? throw VerificationAbort.Format($"{file}: Invalid Link: field `command` must be a list, found {Describe(command)}.", file),
            Environment = environment as JsonMap ?? throw VerificationAbort.Format($"{file}: Invalid Link: field `environment` must be an object, found {Describe(environment)}.", file),
        };
        var signable = JsonMap.Build(
            ("_type", new JsonString("link")),
            ("byproducts", byproducts),
            ("command", command),
            ("environment", environment),
            ("materials", materials),
            ("name", name),
            ("products", products));
        return (link, signable);
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static ArtifactMap ReadArtifacts(JsonItem node, string file, string field)
    {
        if (node is not JsonMap obj)
        {
            throw VerificationAbort.Format($"{file}: Invalid Link: field `{field}` must be an object (path -> hashes), found {Describe(node)}.", file);
        }

        if (obj.Slices is { } compact)
        {
            // Built while parsing, which also found the first value that is not hex.
            int bad = compact.FirstNonHex;
            if (bad >= 0)
            {
                compact.AlgorithmSlice(bad, out int a, out int al);
                throw VerificationAbort.Format($"{file}: {field}[\"{compact.Path(bad)}\"][\"{System.Text.Encoding.UTF8.GetString(compact.Src, a, al)}\"] must be a hex string.", file);
            }

            return compact.Map;
        }

        var map = new ArtifactMap(obj.Count);
        foreach (var member in obj)
        {
            string path = member.Key;
            if (member.Value is not JsonMap hashes)
            {
                throw VerificationAbort.Format($"{file}: {field}[\"{path}\"] must be a hash object like {{\"sha256\": \"<hex>\"}}, found {Describe(member.Value)}.", file);
            }

            if (hashes.Count == 1 && hashes.MemberAt(0) is { Value: JsonString only } first && IsPythonHex(only.Value))
            {
                map.Add(path, first.Key == "sha256" ? HashDict.Sha256(only.Value) : HashDict.FromPairs(new[] { new KeyValuePair<string, string>(first.Key, only.Value) }));
                continue;
            }

            var pairs = new List<KeyValuePair<string, string>>(hashes.Count);
            foreach (var hash in hashes)
            {
                if (hash.Value is not JsonString hv || !IsPythonHex(hv.Value))
                {
                    throw VerificationAbort.Format($"{file}: {field}[\"{path}\"][\"{hash.Key}\"] must be a hex string.", file);
                }

                pairs.Add(new KeyValuePair<string, string>(hash.Key, hv.Value));
            }

            map.Add(path, HashDict.FromPairs(pairs));
        }

        return map;
    }

    private static (Layout Layout, JsonMap Signable) ReadLayout(JsonMap signed, string file, Func<DateTimeOffset> clock)
    {
        var layout = new Layout();
        var names = new HashSet<string>(StringComparer.Ordinal);

        JsonItem steps = signed.Get("steps") ?? throw VerificationAbort.Format($"{file}: the layout has no \"steps\" list (in-toto-verify crashes with TypeError here).", file);
        JsonItem inspect = signed.Get("inspect") ?? throw VerificationAbort.Format($"{file}: the layout has no \"inspect\" list (in-toto-verify crashes with TypeError here).", file);
        if (steps is not JsonList stepArray)
        {
            throw VerificationAbort.Format($"{file}: layout \"steps\" must be a list, found {Describe(steps)}.", file);
        }

        if (inspect is not JsonList inspectArray)
        {
            throw VerificationAbort.Format($"{file}: layout \"inspect\" must be a list, found {Describe(inspect)}.", file);
        }

        var signableSteps = new List<JsonItem>();
        for (int i = 0; i < stepArray.Count; i++)
        {
            string where = $"{file}: steps[{i}]";
            if (stepArray[i] is not JsonMap so)
            {
                throw VerificationAbort.Format($"{where} must be an object, found {Describe(stepArray[i])}.", file);
            }

            string name = ReadName(so, where, file);
            if (!names.Add(name))
            {
                throw VerificationAbort.Format($"{where}: there is already a step or inspection named '{name}' (names must be unique within a layout).", file);
            }

            var step = new Step(name);
            JsonItem em = so.Get("expected_materials") ?? EmptyList();
            JsonItem ep = so.Get("expected_products") ?? EmptyList();
            JsonItem pubkeys = so.Get("pubkeys") ?? EmptyList();
            JsonItem command = so.Get("expected_command") ?? EmptyList();
            JsonItem threshold = so.Get("threshold") ?? new JsonNumber(1);
            step.SetRules(
                ReadRules(em, $"{where} (step '{name}') expected_materials", file),
                ReadRules(ep, $"{where} (step '{name}') expected_products", file));
            if (pubkeys is not JsonList pk)
            {
                throw VerificationAbort.Format($"{where} (step '{name}'): \"pubkeys\" must be a list of keyids, found {Describe(pubkeys)}.", file);
            }

            foreach (var k in pk)
            {
                step.PubKeys.Add(k is JsonString ks && IsPythonHex(ks.Value)
                    ? ks.Value
                    : throw VerificationAbort.Format($"{where} (step '{name}'): \"pubkeys\" must hold hex keyids only.", file));
            }

            step.ExpectedCommandAsWritten = command as JsonList
                ?? throw VerificationAbort.Format($"{where} (step '{name}'): \"expected_command\" must be a list, found {Describe(command)}.", file);
            step.Threshold = threshold is JsonNumber { IsInteger: true } tn
                ? ParseInteger(tn.RawText)
                : throw VerificationAbort.Format($"{where} (step '{name}'): \"threshold\" must be an integer, found {Describe(threshold)}.", file);
            layout.Steps.Add(step);
            var signableStep = JsonMap.Build(
                ("_type", new JsonString("step")),
                ("expected_command", command),
                ("expected_materials", em),
                ("expected_products", ep),
                ("name", new JsonString(name)),
                ("pubkeys", pubkeys),
                ("threshold", threshold));
            if (so.Get("cert_constraints") is { } constraints)
            {
                // in-toto-golang's field (in-toto-verify 1.3.1 drops it, so its signature check fails on such a layout)
                step.CertConstraints = ReadCertConstraints(constraints, $"{where} (step '{name}')", file);
                signableStep.Add("cert_constraints", constraints); // canonical JSON sorts the members
            }

            signableSteps.Add(signableStep);
        }

        var signableInspect = new List<JsonItem>();
        for (int i = 0; i < inspectArray.Count; i++)
        {
            string where = $"{file}: inspect[{i}]";
            if (inspectArray[i] is not JsonMap io)
            {
                throw VerificationAbort.Format($"{where} must be an object, found {Describe(inspectArray[i])}.", file);
            }

            string name = ReadName(io, where, file);
            if (!names.Add(name))
            {
                throw VerificationAbort.Format($"{where}: there is already a step or inspection named '{name}' (names must be unique within a layout).", file);
            }

            var inspection = new Inspection(name);
            JsonItem em = io.Get("expected_materials") ?? EmptyList();
            JsonItem ep = io.Get("expected_products") ?? EmptyList();
            JsonItem run = io.Get("run") ?? EmptyList();
            inspection.SetRules(
                ReadRules(em, $"{where} (inspection '{name}') expected_materials", file),
                ReadRules(ep, $"{where} (inspection '{name}') expected_products", file));
            inspection.RunAsWritten = run as JsonList
                ?? throw VerificationAbort.Format($"{where} (inspection '{name}'): \"run\" must be a list, found {Describe(run)}.", file);
            layout.Inspect.Add(inspection);
            signableInspect.Add(JsonMap.Build(
                ("_type", new JsonString("inspection")),
                ("expected_materials", em),
                ("expected_products", ep),
                ("name", new JsonString(name)),
                ("run", run)));
        }

        JsonItem keys = signed.Get("keys") ?? Empty();
        layout.KeyObjects = keys as JsonMap ?? throw VerificationAbort.Format($"{file}: layout \"keys\" must be an object (keyid -> key), found {Describe(keys)}.", file);
        foreach (var key in layout.KeyObjects)
        {
            CheckPublicKeyObject(key.Key, key.Value, file);
        }

        JsonItem readme = signed.Get("readme") ?? new JsonString("");
        layout.Readme = readme is JsonString readmeText
            ? readmeText.Value
            : throw VerificationAbort.Format($"{file}: layout \"readme\" must be a string, found {Describe(readme)}.", file);

        JsonItem? expires = signed.Get("expires");
        if (expires is null || PythonValues.IsFalsy(expires))
        {
            // in-toto replaces a missing/empty expiry with "now + 1 month", which then is what the signature must cover.
            var later = clock().ToUniversalTime().AddMonths(1);
            expires = new JsonString(Layout.FormatExpires(later));
            layout.Expires = Layout.ParseExpires(((JsonString)expires).Value);
            layout.ExpiresText = null;
        }
        else if (expires is JsonString es)
        {
            try
            {
                layout.Expires = Layout.ParseExpires(es.Value);
                layout.ExpiresText = es.Value;
            }
            catch (InTotoFormatException)
            {
                throw VerificationAbort.Format($"{file}: Malformed date string in layout: expires is \"{es.Value}\", expected YYYY-MM-DDTHH:MM:SSZ (UTC, no fractions, no offset).", file);
            }
        }
        else
        {
            throw VerificationAbort.Format($"{file}: Malformed date string in layout: expires must be a string, found {Describe(expires)}.", file);
        }

        var members = new List<(string, JsonItem)>
        {
            ("_type", new JsonString("layout")),
            ("expires", expires),
            ("inspect", new JsonList(signableInspect.ToArray())),
            ("keys", keys),
            ("readme", readme),
            ("steps", new JsonList(signableSteps.ToArray())),
        };

        // in-toto-golang's certificate-functionary fields, signed as written when present (in-toto-verify 1.3.1 drops them).
        foreach (string field in new[] { "intermediatecas", "rootcas" })
        {
            if (signed.Get(field) is { } cas)
            {
                if (cas is not JsonMap)
                {
                    throw VerificationAbort.Format($"{file}: layout \"{field}\" must be an object (keyid -> CA key object), found {Describe(cas)}.", file);
                }

                members.Add((field, cas));
            }
        }

        try
        {
            layout.RootCas = StrictInTotoReader.ReadCertificates(signed, "rootcas", file, strict: false);
            layout.IntermediateCas = StrictInTotoReader.ReadCertificates(signed, "intermediatecas", file, strict: false);
        }
        catch (InTotoFormatException e)
        {
            throw VerificationAbort.Format($"{file}: {e.Message}", file);
        }

        var signable = JsonMap.Build(members.ToArray()); // canonical JSON sorts the members
        return (layout, signable);
    }

    private static List<CertificateConstraint> ReadCertConstraints(JsonItem node, string where, string file)
    {
        if (node is not JsonList list)
        {
            throw VerificationAbort.Format($"{where}: \"cert_constraints\" must be a list, found {Describe(node)}.", file);
        }

        var result = new List<CertificateConstraint>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            try
            {
                result.Add(CertificateConstraint.FromJson(list[i], $"{where}: cert_constraints[{i}]"));
            }
            catch (InTotoFormatException e)
            {
                throw VerificationAbort.Format(e.Message, file);
            }
        }

        return result;
    }

    private static string ReadName(JsonMap item, string where, string file)
    {
        var n = item.Get("name") ?? throw VerificationAbort.Format($"{where} has no \"name\".", file);
        if (n is not JsonString ns)
        {
            throw VerificationAbort.Format($"{where}: \"name\" must be a string, found {Describe(n)}.", file);
        }

        if (ns.Value.IndexOf('\0') >= 0)
        {
            throw VerificationAbort.Format($"{where}: the name contains a NUL character and cannot name a file.", file);
        }

        return ns.Value;
    }

    private static (List<IReadOnlyList<string>> Written, List<ArtifactRule> Parsed) ReadRules(JsonItem node, string where, string file)
    {
        if (node is not JsonList array)
        {
            throw VerificationAbort.Format($"{where} must be a list of rules, found {Describe(node)}.", file);
        }

        var written = new List<IReadOnlyList<string>>(array.Count);
        var rules = new List<ArtifactRule>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonList ra)
            {
                throw VerificationAbort.Format($"{where}[{i}]: a rule must be a list of strings, found {Describe(array[i])}.", file);
            }

            var parts = new List<string>(ra.Count);
            foreach (var p in ra)
            {
                parts.Add(p is JsonString ps ? ps.Value : throw VerificationAbort.Format($"{where}[{i}]: a rule must be a list of strings.", file));
            }

            try
            {
                rules.Add(ArtifactRule.Parse(parts));
                written.Add(parts);
            }
            catch (FormatException e)
            {
                throw VerificationAbort.Format($"{where}[{i}]: Wrong rule format: {e.Message}", file);
            }
        }

        return (written, rules);
    }

    // securesystemslib PUBLIC_KEY_SCHEMA (or a GPG key, which is accepted here and refused when used).
    private static void CheckPublicKeyObject(string keyId, JsonItem value, string file)
    {
        string where = $"{file}: keys[\"{Short(keyId)}\"]";
        if (!IsPythonHex(keyId))
        {
            throw VerificationAbort.Format($"{where}: the map key must be a hex keyid.", file);
        }

        if (value is not JsonMap key)
        {
            throw VerificationAbort.Format($"{where} must be a key object, found {Describe(value)}.", file);
        }

        if (key.Get("keytype") is not JsonString)
        {
            throw VerificationAbort.Format($"{where}: \"keytype\" is missing or not a string.", file);
        }

        if (key.Get("keyval") is not JsonMap keyval || keyval.Get("public") is not { } pub)
        {
            throw VerificationAbort.Format($"{where}: \"keyval\" with \"public\" is missing.", file);
        }

        if (pub is JsonMap)
        {
            return; // GPG key shape
        }

        if (pub is not JsonString)
        {
            throw VerificationAbort.Format($"{where}: \"keyval.public\" must be a string.", file);
        }

        var priv = keyval.Get("private");
        if (priv is not null && !(priv is JsonString ps && ps.Value.Length == 0))
        {
            throw VerificationAbort.Format($"{where}: a layout key must not contain private key material (\"keyval.private\" must be absent or empty).", file);
        }

        var algos = key.Get("keyid_hash_algorithms");
        if (algos is not null && (algos is not JsonList aa || aa.Any(a => a is not JsonString an || !HashAlgorithmNames.Contains(an.Value))))
        {
            throw VerificationAbort.Format($"{where}: \"keyid_hash_algorithms\" must be a list of hash algorithm names.", file);
        }

        var exp = key.Get("expires");
        if (exp is not null && (exp is not JsonString es || !IsIsoDateTime(es.Value)))
        {
            throw VerificationAbort.Format($"{where}: \"expires\" must be a YYYY-MM-DDTHH:MM:SSZ date.", file);
        }
    }

    private static bool IsIsoDateTime(string s)
    {
        try
        {
            Layout.ParseExpires(s);
            return true;
        }
        catch (InTotoFormatException)
        {
            return false;
        }
    }

    private static long ParseInteger(string raw)
    {
        if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            return v;
        }

        // Python ints are unbounded; anything this large behaves like "more than any file count".
        return raw.StartsWith("-", StringComparison.Ordinal) ? long.MinValue : long.MaxValue;
    }

    /// <summary>securesystemslib HEX_SCHEMA: re.match("[a-fA-F0-9]+$"), so one trailing "\n" is tolerated.</summary>
    internal static bool IsPythonHex(string s) =>
        Hex.IsHex(s, s.Length > 1 && s[s.Length - 1] == '\n' ? s.Length - 1 : s.Length);

    internal static string Short(string keyId) => keyId.Length > 8 ? keyId.Substring(0, 8) + "…" : keyId;
}
