using System.Globalization;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>One subject of a statement: an output and its digests.</summary>
public sealed class Subject
{
    public Subject(string name, IReadOnlyDictionary<string, string> digest, JsonMap? annotations = null)
    {
        Name = name;
        Digest = digest;
        Annotations = annotations;
    }

    public string Name { get; }
    public IReadOnlyDictionary<string, string> Digest { get; }
    public JsonMap? Annotations { get; }

    public JsonMap ToJson()
    {
        var json = new JsonMap { ["name"] = Name, ["digest"] = DigestJson(Digest) };
        if (Annotations is not null && Annotations.Count > 0)
        {
            json["annotations"] = Annotations.DeepClone();
        }
        return json;
    }

    internal static JsonMap DigestJson(IReadOnlyDictionary<string, string> digest)
    {
        var json = new JsonMap();
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
    public JsonMap ExternalParameters { get; set; } = new();

    /// <summary>What the builder chose (SDK, MSBuild and runtime versions, OS, CI, environment).</summary>
    public JsonMap InternalParameters { get; set; } = new();

    /// <summary>ResourceDescriptors of the source, SDK, MSBuild SDKs, packages and packs.</summary>
    public JsonList ResolvedDependencies { get; set; } = new();

    public string BuilderId { get; set; } = CiContext.LocalBuilderId;

    public JsonMap BuilderVersion { get; set; } = new();

    public string? InvocationId { get; set; }

    public DateTimeOffset? StartedOn { get; set; }

    public DateTimeOffset? FinishedOn { get; set; }

    /// <summary>ResourceDescriptors of what the build made besides its outputs (the step links).</summary>
    public JsonList Byproducts { get; set; } = new();

    public JsonMap ToJson()
    {
        if (Subjects.Count == 0)
        {
            throw new InvalidOperationException("a provenance statement needs at least one subject");
        }
        var metadata = new JsonMap();
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
        var builder = new JsonMap { ["id"] = BuilderId };
        if (BuilderVersion.Count > 0)
        {
            builder["version"] = BuilderVersion.DeepClone();
        }
        var runDetails = new JsonMap { ["builder"] = builder, ["metadata"] = metadata };
        if (Byproducts.Count > 0)
        {
            runDetails["byproducts"] = Byproducts.DeepClone();
        }
        return new JsonMap
        {
            ["_type"] = StatementType,
            ["subject"] = new JsonList(Subjects.Select(s => (JsonItem)s.ToJson())),
            ["predicateType"] = PredicateType,
            ["predicate"] = new JsonMap
            {
                ["buildDefinition"] = new JsonMap
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
    public static JsonMap Resource(string? name = null, string? uri = null, IReadOnlyDictionary<string, string>? digest = null, JsonMap? annotations = null)
    {
        var json = new JsonMap();
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
