using System.Globalization;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// Reads link and layout files the way in-toto 1.3.1's <c>Metablock.load</c> does: missing fields get their
/// defaults, unknown fields are dropped, and the signed bytes are the canonical JSON of the rebuilt model (so a field
/// added after signing is ignored, and a field removed after signing is re-added with its default, which breaks the
/// signature). Where the reference validates, we validate the same things and report a FormatError. Where Python's
/// <c>json</c> is laxer than RFC 8259 (duplicate keys: last one wins; NaN; lone surrogates) we reject the file.
/// </summary>
internal static class MetadataReader
{
    private static readonly HashSet<string> HashAlgorithmNames = new(StringComparer.Ordinal)
    {
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2s", "blake2b", "blake2b-256",
    };

    /// <exception cref="VerificationAbort">FormatError.</exception>
    public static MetadataFile Read(byte[] bytes, string file, Func<DateTimeOffset> clock)
    {
        JsonNode root;
        try
        {
            root = JsonParser.Parse(bytes);
        }
        catch (JsonFormatException e)
        {
            throw VerificationAbort.Format($"{file} is not valid JSON: {e.Message}", file);
        }

        if (root is not JsonObject top)
        {
            throw VerificationAbort.Format($"{file}: expected a JSON object with \"signatures\" and \"signed\", found {JsonRead.Describe(root)}.", file);
        }

        var signatures = ReadSignatures(top, file);
        JsonNode signedNode = top.TryGetValue("signed", out var s) ? s : new JsonObject();
        if (signedNode is not JsonObject signed)
        {
            throw VerificationAbort.Format($"{file}: \"signed\" must be an object, found {JsonRead.Describe(signedNode)}.", file);
        }

        string? type = signed.TryGetValue("_type", out var t) && t is JsonString ts ? ts.Value : null;
        if (type == "link")
        {
            var (link, signable) = ReadLink(signed, file);
            return new MetadataFile(file, signatures, signable, link, null);
        }

        if (type == "layout")
        {
            var (layout, signable) = ReadLayout(signed, file, clock);
            return new MetadataFile(file, signatures, signable, null, layout);
        }

        string found = t is null ? "missing" : t is JsonString str ? $"\"{str.Value}\"" : JsonRead.Describe(t);
        throw VerificationAbort.Format($"{file}: Invalid Metadata format: signed._type is {found}; expected \"link\" or \"layout\".", file);
    }

    private static List<SignatureEntry> ReadSignatures(JsonObject top, string file)
    {
        var result = new List<SignatureEntry>();
        if (!top.TryGetValue("signatures", out var node))
        {
            return result;
        }

        if (node is not JsonArray array)
        {
            throw VerificationAbort.Format($"{file}: \"signatures\" must be a list, found {JsonRead.Describe(node)}.", file);
        }

        for (int i = 0; i < array.Count; i++)
        {
            string where = $"{file}: signatures[{i}]";
            if (array[i] is not JsonObject sig)
            {
                throw VerificationAbort.Format($"{where} must be an object {{\"keyid\": ..., \"sig\": ...}}, found {JsonRead.Describe(array[i])}.", file);
            }

            string keyId = sig.TryGetValue("keyid", out var k) && k is JsonString ks && IsPythonHex(ks.Value)
                ? ks.Value
                : throw VerificationAbort.Format($"{where}: \"keyid\" must be a hex string.", file);
            if (sig.TryGetValue("sig", out var v))
            {
                if (v is not JsonString vs || !IsPythonHex(vs.Value))
                {
                    throw VerificationAbort.Format($"{where}: \"sig\" must be a hex string.", file);
                }

                result.Add(new SignatureEntry(keyId, vs.Value));
            }
            else if (sig.TryGetValue("signature", out var g) && g is JsonString gs && IsPythonHex(gs.Value)
                && sig.TryGetValue("other_headers", out var oh) && oh is JsonString ohs && IsPythonHex(ohs.Value))
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

    private static (LinkModel Link, JsonObject Signable) ReadLink(JsonObject signed, string file)
    {
        var link = new LinkModel();
        JsonNode name = Get(signed, "name") ?? JsonNull.Instance;
        JsonNode materials = Get(signed, "materials") ?? new JsonObject();
        JsonNode products = Get(signed, "products") ?? new JsonObject();
        JsonNode byproducts = Get(signed, "byproducts") ?? new JsonObject();
        JsonNode command = Get(signed, "command") ?? new JsonArray();
        JsonNode environment = Get(signed, "environment") ?? new JsonObject();
        link.Name = name;
        link.Materials = ReadArtifacts(materials, file, "materials");
        link.Products = ReadArtifacts(products, file, "products");
        link.Byproducts = byproducts is JsonObject ? byproducts : throw VerificationAbort.Format($"{file}: Invalid Link: field `byproducts` must be an object, found {JsonRead.Describe(byproducts)}.", file);
        link.Command = command is JsonArray ? command : throw VerificationAbort.Format($"{file}: Invalid Link: field `command` must be a list, found {JsonRead.Describe(command)}.", file);
        link.Environment = environment is JsonObject ? environment : throw VerificationAbort.Format($"{file}: Invalid Link: field `environment` must be an object, found {JsonRead.Describe(environment)}.", file);
        var signable = new JsonObject
        {
            { "_type", "link" },
            { "byproducts", byproducts },
            { "command", command },
            { "environment", environment },
            { "materials", materials },
            { "name", name },
            { "products", products },
        };
        return (link, signable);
    }

    private static ArtifactMap ReadArtifacts(JsonNode node, string file, string field)
    {
        if (node is not JsonObject obj)
        {
            throw VerificationAbort.Format($"{file}: Invalid Link: field `{field}` must be an object (path -> hashes), found {JsonRead.Describe(node)}.", file);
        }

        var map = new ArtifactMap(obj.Count);
        var pairs = new List<KeyValuePair<string, string>>(2);
        foreach (var kv in obj)
        {
            if (kv.Value is not JsonObject hashes)
            {
                throw VerificationAbort.Format($"{file}: {field}[\"{kv.Key}\"] must be a hash object like {{\"sha256\": \"<hex>\"}}, found {JsonRead.Describe(kv.Value)}.", file);
            }

            if (hashes.Count == 1)
            {
                var only = hashes.First();
                map.Add(kv.Key, only.Key == "sha256" && only.Value is JsonString { Value: var hex } && IsPythonHex(hex)
                    ? HashDict.Sha256(hex)
                    : HashDict.FromPairs(HashPairs(hashes, kv.Key, file, field, pairs)));
                continue;
            }

            map.Add(kv.Key, HashDict.FromPairs(HashPairs(hashes, kv.Key, file, field, pairs)));
        }

        return map;
    }

    private static List<KeyValuePair<string, string>> HashPairs(JsonObject hashes, string path, string file, string field, List<KeyValuePair<string, string>> pairs)
    {
        pairs.Clear();
        foreach (var h in hashes)
        {
            if (h.Value is not JsonString hv || !IsPythonHex(hv.Value))
            {
                throw VerificationAbort.Format($"{file}: {field}[\"{path}\"][\"{h.Key}\"] must be a hex string.", file);
            }

            pairs.Add(new KeyValuePair<string, string>(h.Key, hv.Value));
        }

        return pairs;
    }

    private static (LayoutModel Layout, JsonObject Signable) ReadLayout(JsonObject signed, string file, Func<DateTimeOffset> clock)
    {
        var layout = new LayoutModel();
        var names = new HashSet<string>(StringComparer.Ordinal);

        JsonNode steps = Get(signed, "steps") ?? throw VerificationAbort.Format($"{file}: the layout has no \"steps\" list (in-toto-verify crashes with TypeError here).", file);
        JsonNode inspect = Get(signed, "inspect") ?? throw VerificationAbort.Format($"{file}: the layout has no \"inspect\" list (in-toto-verify crashes with TypeError here).", file);
        if (steps is not JsonArray stepArray)
        {
            throw VerificationAbort.Format($"{file}: layout \"steps\" must be a list, found {JsonRead.Describe(steps)}.", file);
        }

        if (inspect is not JsonArray inspectArray)
        {
            throw VerificationAbort.Format($"{file}: layout \"inspect\" must be a list, found {JsonRead.Describe(inspect)}.", file);
        }

        var signableSteps = new JsonArray();
        for (int i = 0; i < stepArray.Count; i++)
        {
            string where = $"{file}: steps[{i}]";
            if (stepArray[i] is not JsonObject so)
            {
                throw VerificationAbort.Format($"{where} must be an object, found {JsonRead.Describe(stepArray[i])}.", file);
            }

            string name = ReadName(so, where, file);
            if (!names.Add(name))
            {
                throw VerificationAbort.Format($"{where}: there is already a step or inspection named '{name}' (names must be unique within a layout).", file);
            }

            var step = new StepModel(name);
            JsonNode em = Get(so, "expected_materials") ?? new JsonArray();
            JsonNode ep = Get(so, "expected_products") ?? new JsonArray();
            JsonNode pubkeys = Get(so, "pubkeys") ?? new JsonArray();
            JsonNode command = Get(so, "expected_command") ?? new JsonArray();
            JsonNode threshold = Get(so, "threshold") ?? new JsonNumber(1);
            step.ExpectedMaterials = ReadRules(em, $"{where} (step '{name}') expected_materials", file);
            step.ExpectedProducts = ReadRules(ep, $"{where} (step '{name}') expected_products", file);
            if (pubkeys is not JsonArray pk)
            {
                throw VerificationAbort.Format($"{where} (step '{name}'): \"pubkeys\" must be a list of keyids, found {JsonRead.Describe(pubkeys)}.", file);
            }

            foreach (var k in pk)
            {
                step.PubKeys.Add(k is JsonString ks && IsPythonHex(ks.Value)
                    ? ks.Value
                    : throw VerificationAbort.Format($"{where} (step '{name}'): \"pubkeys\" must hold hex keyids only.", file));
            }

            step.ExpectedCommand = command is JsonArray
                ? command
                : throw VerificationAbort.Format($"{where} (step '{name}'): \"expected_command\" must be a list, found {JsonRead.Describe(command)}.", file);
            step.Threshold = threshold is JsonNumber { IsInteger: true } tn
                ? ParseInteger(tn)
                : throw VerificationAbort.Format($"{where} (step '{name}'): \"threshold\" must be an integer, found {JsonRead.Describe(threshold)}.", file);
            layout.Steps.Add(step);
            signableSteps.Add(new JsonObject
            {
                { "_type", "step" },
                { "expected_command", command },
                { "expected_materials", em },
                { "expected_products", ep },
                { "name", name },
                { "pubkeys", pubkeys },
                { "threshold", threshold },
            });
        }

        var signableInspect = new JsonArray();
        for (int i = 0; i < inspectArray.Count; i++)
        {
            string where = $"{file}: inspect[{i}]";
            if (inspectArray[i] is not JsonObject io)
            {
                throw VerificationAbort.Format($"{where} must be an object, found {JsonRead.Describe(inspectArray[i])}.", file);
            }

            string name = ReadName(io, where, file);
            if (!names.Add(name))
            {
                throw VerificationAbort.Format($"{where}: there is already a step or inspection named '{name}' (names must be unique within a layout).", file);
            }

            var inspection = new InspectionModel(name);
            JsonNode em = Get(io, "expected_materials") ?? new JsonArray();
            JsonNode ep = Get(io, "expected_products") ?? new JsonArray();
            JsonNode run = Get(io, "run") ?? new JsonArray();
            inspection.ExpectedMaterials = ReadRules(em, $"{where} (inspection '{name}') expected_materials", file);
            inspection.ExpectedProducts = ReadRules(ep, $"{where} (inspection '{name}') expected_products", file);
            inspection.Run = run is JsonArray
                ? run
                : throw VerificationAbort.Format($"{where} (inspection '{name}'): \"run\" must be a list, found {JsonRead.Describe(run)}.", file);
            layout.Inspect.Add(inspection);
            signableInspect.Add(new JsonObject
            {
                { "_type", "inspection" },
                { "expected_materials", em },
                { "expected_products", ep },
                { "name", name },
                { "run", run },
            });
        }

        JsonNode keys = Get(signed, "keys") ?? new JsonObject();
        layout.Keys = keys is JsonObject ko ? ko : throw VerificationAbort.Format($"{file}: layout \"keys\" must be an object (keyid -> key), found {JsonRead.Describe(keys)}.", file);
        foreach (var kv in layout.Keys)
        {
            CheckPublicKeyObject(kv.Key, kv.Value, file);
        }

        JsonNode readme = Get(signed, "readme") ?? new JsonString("");
        if (readme is not JsonString)
        {
            throw VerificationAbort.Format($"{file}: layout \"readme\" must be a string, found {JsonRead.Describe(readme)}.", file);
        }

        JsonNode? expires = Get(signed, "expires");
        if (expires is null || IsFalsy(expires))
        {
            // in-toto replaces a missing/empty expiry with "now + 1 month", which then is what the signature must cover.
            var later = clock().ToUniversalTime().AddMonths(1);
            expires = new JsonString(later.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            layout.Expires = null;
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
            throw VerificationAbort.Format($"{file}: Malformed date string in layout: expires must be a string, found {JsonRead.Describe(expires)}.", file);
        }

        var signable = new JsonObject
        {
            { "_type", "layout" },
            { "expires", expires },
            { "inspect", signableInspect },
            { "keys", keys },
            { "readme", readme },
            { "steps", signableSteps },
        };
        return (layout, signable);
    }

    private static string ReadName(JsonObject item, string where, string file)
    {
        if (!item.TryGetValue("name", out var n))
        {
            throw VerificationAbort.Format($"{where} has no \"name\".", file);
        }

        if (n is not JsonString ns)
        {
            throw VerificationAbort.Format($"{where}: \"name\" must be a string, found {JsonRead.Describe(n)}.", file);
        }

        if (ns.Value.IndexOf('\0') >= 0)
        {
            throw VerificationAbort.Format($"{where}: the name contains a NUL character and cannot name a file.", file);
        }

        return ns.Value;
    }

    private static List<ArtifactRule> ReadRules(JsonNode node, string where, string file)
    {
        if (node is not JsonArray array)
        {
            throw VerificationAbort.Format($"{where} must be a list of rules, found {JsonRead.Describe(node)}.", file);
        }

        var rules = new List<ArtifactRule>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonArray ra)
            {
                throw VerificationAbort.Format($"{where}[{i}]: a rule must be a list of strings, found {JsonRead.Describe(array[i])}.", file);
            }

            var parts = new List<string>(ra.Count);
            foreach (var p in ra)
            {
                parts.Add(p is JsonString ps ? ps.Value : throw VerificationAbort.Format($"{where}[{i}]: a rule must be a list of strings.", file));
            }

            try
            {
                rules.Add(ArtifactRule.Parse(parts));
            }
            catch (FormatException e)
            {
                throw VerificationAbort.Format($"{where}[{i}]: Wrong rule format: {e.Message}", file);
            }
        }

        return rules;
    }

    // securesystemslib PUBLIC_KEY_SCHEMA (or a GPG key, which is accepted here and refused when used).
    private static void CheckPublicKeyObject(string keyId, JsonNode value, string file)
    {
        string where = $"{file}: keys[\"{Short(keyId)}\"]";
        if (!IsPythonHex(keyId))
        {
            throw VerificationAbort.Format($"{where}: the map key must be a hex keyid.", file);
        }

        if (value is not JsonObject key)
        {
            throw VerificationAbort.Format($"{where} must be a key object, found {JsonRead.Describe(value)}.", file);
        }

        if (!key.TryGetValue("keytype", out var kt) || kt is not JsonString)
        {
            throw VerificationAbort.Format($"{where}: \"keytype\" is missing or not a string.", file);
        }

        if (!key.TryGetValue("keyval", out var kv) || kv is not JsonObject keyval || !keyval.TryGetValue("public", out var pub))
        {
            throw VerificationAbort.Format($"{where}: \"keyval\" with \"public\" is missing.", file);
        }

        if (pub is JsonObject)
        {
            return; // GPG key shape
        }

        if (pub is not JsonString)
        {
            throw VerificationAbort.Format($"{where}: \"keyval.public\" must be a string.", file);
        }

        if (keyval.TryGetValue("private", out var priv) && priv is not JsonString { Value: "" })
        {
            throw VerificationAbort.Format($"{where}: a layout key must not contain private key material (\"keyval.private\" must be absent or empty).", file);
        }

        if (key.TryGetValue("keyid_hash_algorithms", out var algos)
            && (algos is not JsonArray aa || aa.Any(a => a is not JsonString { Value: var an } || !HashAlgorithmNames.Contains(an))))
        {
            throw VerificationAbort.Format($"{where}: \"keyid_hash_algorithms\" must be a list of hash algorithm names.", file);
        }

        if (key.TryGetValue("expires", out var exp) && (exp is not JsonString es || !IsIsoDateTime(es.Value)))
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

    private static long ParseInteger(JsonNumber n)
    {
        if (long.TryParse(n.RawText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            return v;
        }

        // Python ints are unbounded; anything this large behaves like "more than any file count".
        return n.RawText.StartsWith("-", StringComparison.Ordinal) ? long.MinValue : long.MaxValue;
    }

    private static JsonNode? Get(JsonObject obj, string name) => obj.TryGetValue(name, out var v) ? v : null;

    // Python truthiness of a parsed JSON value.
    private static bool IsFalsy(JsonNode node) => node switch
    {
        JsonNull => true,
        JsonBool b => !b.Value,
        JsonString s => s.Value.Length == 0,
        JsonArray a => a.Count == 0,
        JsonObject o => o.Count == 0,
        JsonNumber n => IsZero(n.RawText),
        _ => false,
    };

    private static bool IsZero(string raw)
    {
        foreach (char c in raw)
        {
            if (c >= '1' && c <= '9')
            {
                // A digit in the exponent does not make the mantissa non-zero.
                int e = raw.IndexOfAny(new[] { 'e', 'E' });
                int at = raw.IndexOf(c);
                if (e < 0 || at < e)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>securesystemslib HEX_SCHEMA: re.match("[a-fA-F0-9]+$"), so one trailing "\n" is tolerated.</summary>
    internal static bool IsPythonHex(string s)
    {
        int n = s.Length;
        if (n > 1 && s[n - 1] == '\n')
        {
            n--;
        }

        if (n == 0)
        {
            return false;
        }

        for (int i = 0; i < n; i++)
        {
            char c = s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            {
                return false;
            }
        }

        return true;
    }

    internal static string Short(string keyId) => keyId.Length > 8 ? keyId.Substring(0, 8) + "…" : keyId;
}
