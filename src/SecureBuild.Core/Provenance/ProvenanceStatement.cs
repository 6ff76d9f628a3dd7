using System.Globalization;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>One subject of a statement: an output and its digests.</summary>
public sealed class Subject
{
    public Subject(string name, IReadOnlyDictionary<string, string> digest, JsonObject? annotations = null)
    {
        Name = name;
        Digest = digest;
        Annotations = annotations;
    }

    public string Name { get; }
    public IReadOnlyDictionary<string, string> Digest { get; }
    public JsonObject? Annotations { get; }

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["name"] = Name, ["digest"] = DigestJson(Digest) };
        if (Annotations is not null && Annotations.Count > 0)
        {
            json["annotations"] = Annotations.DeepClone();
        }
        return json;
    }

    internal static JsonObject DigestJson(IReadOnlyDictionary<string, string> digest)
    {
        var json = new JsonObject();
        foreach (var pair in digest.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            json[pair.Key] = pair.Value;
        }
        return json;
    }
}

/// <summary>
/// An in-toto Statement v1 carrying SLSA provenance v1 for the outputs of one build step, with the
/// build type <see cref="BuildType"/> (documented in docs/provenance.md).
/// </summary>
public sealed class ProvenanceStatement
{
    public const string StatementType = "https://in-toto.io/Statement/v1";
    public const string PredicateType = "https://slsa.dev/provenance/v1";
    public const string BuildType = "https://securebuild.dev/buildtypes/dotnet-msbuild/v1";

    public List<Subject> Subjects { get; } = new();

    /// <summary>What the user asked for (project, configuration, framework, RID, targets, properties, source).</summary>
    public JsonObject ExternalParameters { get; set; } = new();

    /// <summary>What the builder chose (SDK, MSBuild and runtime versions, OS, CI, environment).</summary>
    public JsonObject InternalParameters { get; set; } = new();

    /// <summary>ResourceDescriptors of the source, SDK, MSBuild SDKs, packages and packs.</summary>
    public JsonArray ResolvedDependencies { get; set; } = new();

    public string BuilderId { get; set; } = CiContext.LocalBuilderId;

    public JsonObject BuilderVersion { get; set; } = new();

    public string? InvocationId { get; set; }

    public DateTimeOffset? StartedOn { get; set; }

    public DateTimeOffset? FinishedOn { get; set; }

    /// <summary>ResourceDescriptors of what the build made besides its outputs (the step links).</summary>
    public JsonArray Byproducts { get; set; } = new();

    public JsonObject ToJson()
    {
        if (Subjects.Count == 0)
        {
            throw new InvalidOperationException("a provenance statement needs at least one subject");
        }
        var metadata = new JsonObject();
        if (InvocationId is not null)
        {
            metadata["invocationId"] = InvocationId;
        }
        if (StartedOn is { } started)
        {
            metadata["startedOn"] = FormatTime(started);
        }
        if (FinishedOn is { } finished)
        {
            metadata["finishedOn"] = FormatTime(finished);
        }
        var builder = new JsonObject { ["id"] = BuilderId };
        if (BuilderVersion.Count > 0)
        {
            builder["version"] = BuilderVersion.DeepClone();
        }
        var runDetails = new JsonObject { ["builder"] = builder, ["metadata"] = metadata };
        if (Byproducts.Count > 0)
        {
            runDetails["byproducts"] = Byproducts.DeepClone();
        }
        return new JsonObject
        {
            ["_type"] = StatementType,
            ["subject"] = new JsonArray(Subjects.Select(s => (JsonNode)s.ToJson())),
            ["predicateType"] = PredicateType,
            ["predicate"] = new JsonObject
            {
                ["buildDefinition"] = new JsonObject
                {
                    ["buildType"] = BuildType,
                    ["externalParameters"] = ExternalParameters.DeepClone(),
                    ["internalParameters"] = InternalParameters.DeepClone(),
                    ["resolvedDependencies"] = ResolvedDependencies.DeepClone(),
                },
                ["runDetails"] = runDetails,
            },
        };
    }

    /// <summary>RFC 3339 UTC with a 'Z', as SLSA timestamps are written.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A ResourceDescriptor.</summary>
    public static JsonObject Resource(string? name = null, string? uri = null, IReadOnlyDictionary<string, string>? digest = null, JsonObject? annotations = null)
    {
        var json = new JsonObject();
        if (name is not null)
        {
            json["name"] = name;
        }
        if (uri is not null)
        {
            json["uri"] = uri;
        }
        if (digest is not null && digest.Count > 0)
        {
            json["digest"] = Subject.DigestJson(digest);
        }
        if (annotations is not null && annotations.Count > 0)
        {
            json["annotations"] = annotations;
        }
        return json;
    }
}
