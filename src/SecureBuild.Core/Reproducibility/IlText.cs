using System.Globalization;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Text;

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// Turns a method body's IL into text with every metadata token resolved to a name and every <c>ldstr</c> to its
/// literal, so two bodies compare equal when their code is equal even if heap offsets moved, and the literals that
/// differ can be shown and classified.
/// </summary>
internal static class IlText
{
    private enum Operand
    {
        None,
        Int8,
        Int16,
        Int32,
        Int64,
        Float32,
        Float64,
        Branch8,
        Branch32,
        Token,
        String,
        Switch,
    }

    private static readonly Operand[] OneByte = BuildOneByte();

    private static Operand[] BuildOneByte()
    {
        var t = new Operand[256];
        void Set(Operand o, params int[] codes)
        {
            foreach (var c in codes)
            {
                t[c] = o;
            }
        }

        Set(Operand.Int8, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x1F);
        for (int c = 0x2B; c <= 0x37; c++)
        {
            t[c] = Operand.Branch8;
        }

        t[0xDE] = Operand.Branch8;
        Set(Operand.Int32, 0x20);
        Set(Operand.Int64, 0x21);
        Set(Operand.Float32, 0x22);
        Set(Operand.Float64, 0x23);
        for (int c = 0x38; c <= 0x44; c++)
        {
            t[c] = Operand.Branch32;
        }

        t[0xDD] = Operand.Branch32;
        t[0x45] = Operand.Switch;
        t[0x72] = Operand.String;
        Set(Operand.Token, 0x27, 0x28, 0x29, 0x6F, 0x73, 0x74, 0x75, 0x79, 0x8C, 0x8D, 0xA3, 0xA4, 0xA5, 0xC2, 0xC6, 0x70, 0x71, 0x81, 0x8F,
            0x7B, 0x7C, 0x7D, 0x7E, 0x7F, 0x80, 0xD0);
        return t;
    }

    private static Operand TwoByte(byte code) => code switch
    {
        0x06 or 0x07 or 0x15 or 0x16 or 0x1C => Operand.Token,
        0x09 or 0x0A or 0x0B or 0x0C or 0x0D or 0x0E => Operand.Int16,
        0x12 or 0x19 => Operand.Int8,
        _ => Operand.None,
    };

    /// <summary>The body as text, and the string literals it loads (in order).</summary>
    public static (string Text, List<string> Literals) Render(byte[] il, MetadataReader md)
    {
        var sb = new StringBuilder();
        var literals = new List<string>();
        int i = 0;
        while (i < il.Length)
        {
            int offset = i;
            byte op = il[i++];
            Operand kind;
            string name;
            if (op == 0xFE && i < il.Length)
            {
                byte op2 = il[i++];
                kind = TwoByte(op2);
                name = "fe" + op2.ToString("x2", CultureInfo.InvariantCulture);
            }
            else
            {
                kind = OneByte[op];
                name = op.ToString("x2", CultureInfo.InvariantCulture);
            }

            sb.Append("IL_").Append(offset.ToString("x4", CultureInfo.InvariantCulture)).Append(": ").Append(name);
            switch (kind)
            {
                case Operand.Int8:
                case Operand.Branch8:
                    sb.Append(' ').Append(il[i]);
                    i += 1;
                    break;
                case Operand.Int16:
                    sb.Append(' ').Append(BitConverter.ToInt16(il, i));
                    i += 2;
                    break;
                case Operand.Int32:
                case Operand.Branch32:
                case Operand.Float32:
                    sb.Append(' ').Append(BitConverter.ToInt32(il, i));
                    i += 4;
                    break;
                case Operand.Int64:
                case Operand.Float64:
                    sb.Append(' ').Append(BitConverter.ToInt64(il, i));
                    i += 8;
                    break;
                case Operand.String:
                {
                    int token = BitConverter.ToInt32(il, i);
                    i += 4;
                    string literal = md.GetUserString(MetadataTokens.UserStringHandle(token & 0x00FFFFFF));
                    literals.Add(literal);
                    sb.Append(" \"").Append(literal.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r")).Append('"');
                    break;
                }

                case Operand.Token:
                {
                    int token = BitConverter.ToInt32(il, i);
                    i += 4;
                    sb.Append(' ').Append(MetadataNames.Token(md, token));
                    break;
                }

                case Operand.Switch:
                {
                    int n = BitConverter.ToInt32(il, i);
                    i += 4 + (4 * Math.Max(0, n));
                    sb.Append(" (").Append(n).Append(" targets)");
                    break;
                }
            }

            sb.Append('\n');
        }

        return (sb.ToString(), literals);
    }
}

/// <summary>Readable names of metadata entities.</summary>
internal static class MetadataNames
{
    public static string Token(MetadataReader md, int token)
    {
        if (token < 0)
        {
            // The high bit makes a "virtual" handle: its kind reads as a table, but casting it to that table's handle
            // throws InvalidCastException (found by fuzzing a one-byte change of a call's operand). No metadata token has it.
            return "0x" + token.ToString("x8", CultureInfo.InvariantCulture);
        }

        try
        {
            var handle = MetadataTokens.EntityHandle(token);
            return Entity(md, handle);
        }
        catch (Exception e) when (e is ArgumentException || e is BadImageFormatException)
        {
            return "0x" + token.ToString("x8", CultureInfo.InvariantCulture);
        }
    }

    public static string Entity(MetadataReader md, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                return Type(md, (TypeDefinitionHandle)handle);
            case HandleKind.TypeReference:
            {
                var r = md.GetTypeReference((TypeReferenceHandle)handle);
                var ns = md.GetString(r.Namespace);
                return (ns.Length > 0 ? ns + "." : string.Empty) + md.GetString(r.Name);
            }

            case HandleKind.TypeSpecification:
                return "typespec:" + Convert.ToBase64String(md.GetBlobBytes(md.GetTypeSpecification((TypeSpecificationHandle)handle).Signature));
            case HandleKind.MethodDefinition:
            {
                var m = md.GetMethodDefinition((MethodDefinitionHandle)handle);
                return Type(md, m.GetDeclaringType()) + "::" + md.GetString(m.Name);
            }

            case HandleKind.FieldDefinition:
            {
                var f = md.GetFieldDefinition((FieldDefinitionHandle)handle);
                return Type(md, f.GetDeclaringType()) + "::" + md.GetString(f.Name);
            }

            case HandleKind.MemberReference:
            {
                var m = md.GetMemberReference((MemberReferenceHandle)handle);
                return (m.Parent.IsNil ? string.Empty : Entity(md, m.Parent) + "::") + md.GetString(m.Name);
            }

            case HandleKind.MethodSpecification:
                return Entity(md, md.GetMethodSpecification((MethodSpecificationHandle)handle).Method) + "<…>";
            case HandleKind.StandaloneSignature:
                return "sig";
            case HandleKind.ModuleReference:
                return md.GetString(md.GetModuleReference((ModuleReferenceHandle)handle).Name);
            default:
                return handle.Kind.ToString();
        }
    }

    public static string Type(MetadataReader md, TypeDefinitionHandle handle)
    {
        var t = md.GetTypeDefinition(handle);
        var name = md.GetString(t.Name);
        var declaring = t.GetDeclaringType();
        if (!declaring.IsNil)
        {
            return Type(md, declaring) + "/" + name;
        }

        var ns = md.GetString(t.Namespace);
        return ns.Length > 0 ? ns + "." + name : name;
    }

    /// <summary>The attribute's type name from its constructor.</summary>
    public static string AttributeType(MetadataReader md, CustomAttribute attribute)
    {
        var ctor = attribute.Constructor;
        if (ctor.Kind == HandleKind.MemberReference)
        {
            var parent = md.GetMemberReference((MemberReferenceHandle)ctor).Parent;
            return Entity(md, parent);
        }

        if (ctor.Kind == HandleKind.MethodDefinition)
        {
            return Type(md, md.GetMethodDefinition((MethodDefinitionHandle)ctor).GetDeclaringType());
        }

        return ctor.Kind.ToString();
    }

    /// <summary>The attribute's arguments as text (strings quoted); the blob in base64 when it cannot be decoded.</summary>
    public static string AttributeValue(MetadataReader md, CustomAttribute attribute)
    {
        try
        {
            var value = attribute.DecodeValue(new AttributeTypeProvider());
            var parts = value.FixedArguments.Select(a => Format(a.Value))
                .Concat(value.NamedArguments.Select(a => a.Name + "=" + Format(a.Value)));
            return "(" + string.Join(", ", parts) + ")";
        }
        catch (Exception e) when (e is BadImageFormatException || e is ArgumentException || e is InvalidOperationException || e is NotSupportedException)
        {
            return "blob:" + Convert.ToBase64String(md.GetBlobBytes(attribute.Value));
        }
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        IEnumerable<CustomAttributeTypedArgument<string>> items => "[" + string.Join(", ", items.Select(i => Format(i.Value))) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Enough of a type provider to decode attribute blobs; unknown enums are read as int32.</summary>
    private sealed class AttributeTypeProvider : ICustomAttributeTypeProvider<string>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();

        public string GetSystemType() => "System.Type";

        public string GetSZArrayType(string elementType) => elementType + "[]";

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => Type(reader, handle);

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => Entity(reader, handle);

        public string GetTypeFromSerializedName(string name) => name;

        public PrimitiveTypeCode GetUnderlyingEnumType(string type) => PrimitiveTypeCode.Int32;

        public bool IsSystemType(string type) => type == "System.Type";
    }
}
