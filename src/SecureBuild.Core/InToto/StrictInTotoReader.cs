using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The strict in-toto reader, for what SecureBuild signs and edits (its own links and layouts): every field present,
/// no field more, each of the right type, keys consistent with their keyids, so that reading and writing again never
/// changes the signed bytes. Errors are <see cref="InTotoFormatException"/>s with the JSON path. The verifier reads the
/// same model with the reference-compatible reader (<c>Verification/ReferenceMetadataReader</c>), which accepts what
/// in-toto-verify 1.3.1 accepts.
/// </summary>
public static class StrictInTotoReader
{
    /// <summary>Exactly the 7 link fields with the right types and _type "link".</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Link ReadLink(JsonMap signed)
    {
        if (signed is null)
        {
            throw new ArgumentNullException(nameof(signed));
        }

        const string path = "link";
        StrictInTotoFields.ExpectType(signed, path, "link");
        StrictInTotoFields.ExactFields(signed, path, "_type", "byproducts", "command", "environment", "materials", "name", "products");
        return new Link
        {
            Name = StrictInTotoFields.String(signed, "name", path),
            Command = StrictInTotoFields.StringList(signed, "command", path),
            Materials = ReadArtifacts(StrictInTotoFields.Object(signed, "materials", path), path + ".materials"),
            Products = ReadArtifacts(StrictInTotoFields.Object(signed, "products", path), path + ".products"),
            Byproducts = (JsonMap)StrictInTotoFields.Object(signed, "byproducts", path).DeepClone(),
            Environment = (JsonMap)StrictInTotoFields.Object(signed, "environment", path).DeepClone(),
        };
    }

    /// <summary>Every layout field present, no extra fields, right types, keys consistent with their keyids, unique names.</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Layout ReadLayout(JsonMap signed)
    {
        if (signed is null)
        {
            throw new ArgumentNullException(nameof(signed));
        }

        const string path = "layout";
        StrictInTotoFields.ExpectType(signed, path, "layout");
        FieldsWithOptional(signed, path, new[] { "_type", "expires", "inspect", "keys", "readme", "steps" }, "rootcas", "intermediatecas");
        var layout = new Layout
        {
            Expires = Layout.ParseExpires(StrictInTotoFields.String(signed, "expires", path)),
            Readme = StrictInTotoFields.String(signed, "readme", path),
        };

        foreach (var kv in StrictInTotoFields.Object(signed, "keys", path))
        {
            if (kv.Value is not JsonMap keyObject)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: expected a key object, found {StrictInTotoFields.Describe(kv.Value)}.");
            }

            // Both are optional for securesystemslib, but ToJson always writes them: require them so that
            // FromJson -> ToJson never changes the signed bytes.
            foreach (string required in new[] { "keyid", "keyid_hash_algorithms" })
            {
                if (!keyObject.ContainsKey(required))
                {
                    throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: required field \"{required}\" is missing.");
                }
            }

            PublicKey key;
            try
            {
                key = PublicKey.FromKeyObject(keyObject);
            }
            catch (KeyFormatException e)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: {e.Message}", e);
            }

            if (key.KeyId != kv.Key)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: the key's keyid is {key.KeyId}; the map key must equal it.");
            }

            layout.Keys.Add(kv.Key, key);
        }

        layout.RootCas = ReadCertificates(signed, "rootcas", path);
        layout.IntermediateCas = ReadCertificates(signed, "intermediatecas", path);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var steps = StrictInTotoFields.Array(signed, "steps", path);
        for (int i = 0; i < steps.Count; i++)
        {
            var step = ReadStep(steps[i], $"layout.steps[{i}]");
            if (!names.Add(step.Name))
            {
                throw new InTotoFormatException($"layout.steps[{i}]: the name \"{step.Name}\" is used twice (step and inspection names share one namespace).");
            }

            layout.Steps.Add(step);
        }

        var inspect = StrictInTotoFields.Array(signed, "inspect", path);
        for (int i = 0; i < inspect.Count; i++)
        {
            var inspection = ReadInspection(inspect[i], $"layout.inspect[{i}]");
            if (!names.Add(inspection.Name))
            {
                throw new InTotoFormatException($"layout.inspect[{i}]: the name \"{inspection.Name}\" is used twice (step and inspection names share one namespace).");
            }

            layout.Inspect.Add(inspection);
        }

        return layout;
    }

    internal static Step ReadStep(JsonItem node, string path)
    {
        if (node is not JsonMap json)
        {
            throw new InTotoFormatException($"{path}: expected a step object, found {StrictInTotoFields.Describe(node)}.");
        }

        StrictInTotoFields.ExpectType(json, path, "step");
        FieldsWithOptional(json, path, new[] { "_type", "expected_command", "expected_materials", "expected_products", "name", "pubkeys", "threshold" }, "cert_constraints");

        var constraints = new List<CertificateConstraint>();
        if (json.ContainsKey("cert_constraints"))
        {
            var list = StrictInTotoFields.Array(json, "cert_constraints", path);
            for (int i = 0; i < list.Count; i++)
            {
                constraints.Add(CertificateConstraint.FromJson(list[i], $"{path}.cert_constraints[{i}]"));
            }
        }

        long threshold = StrictInTotoFields.Integer(json, "threshold", path);
        if (threshold < 1 || threshold > int.MaxValue)
        {
            throw new InTotoFormatException($"{path}.threshold: must be a positive integer, found {threshold}.");
        }

        return new Step
        {
            Name = StrictInTotoFields.String(json, "name", path),
            PubKeys = StrictInTotoFields.StringList(json, "pubkeys", path),
            Threshold = threshold,
            ExpectedCommand = StrictInTotoFields.StringList(json, "expected_command", path),
            ExpectedMaterials = StrictInTotoFields.Rules(json, "expected_materials", path),
            ExpectedProducts = StrictInTotoFields.Rules(json, "expected_products", path),
            CertConstraints = constraints,
        };
    }

    /// <summary>Every one of <paramref name="required"/> present, besides them only <paramref name="optional"/> (the certificate-functionary fields, written only when used).</summary>
    private static void FieldsWithOptional(JsonMap obj, string path, string[] required, params string[] optional)
    {
        foreach (string field in required)
        {
            if (!obj.ContainsKey(field))
            {
                throw new InTotoFormatException($"{path}: required field \"{field}\" is missing.");
            }
        }

        StrictJson.AllowedFields(obj, path, m => new InTotoFormatException(m), required.Concat(optional).ToArray());
    }

    /// <summary>The optional <c>rootcas</c> or <c>intermediatecas</c> map (keyid -> CA certificate key object).</summary>
    internal static SortedDictionary<string, LayoutCertificate> ReadCertificates(JsonMap signed, string field, string path, bool strict = true)
    {
        var result = new SortedDictionary<string, LayoutCertificate>(StringComparer.Ordinal);
        if (!signed.ContainsKey(field))
        {
            return result;
        }

        foreach (var kv in StrictInTotoFields.Object(signed, field, path))
        {
            result.Add(kv.Key, LayoutCertificate.FromKeyObject(kv.Key, kv.Value, $"{path}.{field}[\"{kv.Key}\"]", strict));
        }

        return result;
    }

    internal static Inspection ReadInspection(JsonItem node, string path)
    {
        if (node is not JsonMap json)
        {
            throw new InTotoFormatException($"{path}: expected an inspection object, found {StrictInTotoFields.Describe(node)}.");
        }

        StrictInTotoFields.ExpectType(json, path, "inspection");
        StrictInTotoFields.ExactFields(json, path, "_type", "expected_materials", "expected_products", "name", "run");
        return new Inspection
        {
            Name = StrictInTotoFields.String(json, "name", path),
            Run = StrictInTotoFields.StringList(json, "run", path),
            ExpectedMaterials = StrictInTotoFields.Rules(json, "expected_materials", path),
            ExpectedProducts = StrictInTotoFields.Rules(json, "expected_products", path),
        };
    }

    private static ArtifactMap ReadArtifacts(JsonMap obj, string path)
    {
        var result = new ArtifactMap(obj.Count);
        foreach (var kv in obj)
        {
            result.Add(kv.Key, HashDict.FromPairs(StrictInTotoFields.HashDict(kv.Value, $"{path}[\"{kv.Key}\"]")));
        }

        return result;
    }
}
