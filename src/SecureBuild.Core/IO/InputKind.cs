namespace SecureBuild.Core.IO;

/// <summary>What a file is read as. Each kind has its own size limit (<see cref="InputFile.Limit"/>).</summary>
public enum InputKind
{
    /// <summary>A signing or verification key (PEM or securesystemslib JSON): 64 KiB.</summary>
    Key,

    /// <summary>An in-toto layout: 256 MiB (the verifier's metadata limit).</summary>
    Layout,

    /// <summary>An in-toto link: 256 MiB (a link of 100,000 artifacts is about 20 MiB).</summary>
    Link,

    /// <summary>A Sigstore bundle: 64 MiB.</summary>
    Bundle,

    /// <summary>A Sigstore trusted root: 16 MiB.</summary>
    TrustedRoot,

    /// <summary>securebuild.lock.json: 64 MiB.</summary>
    Lock,

    /// <summary>Small JSON or text about a build: global.json, the tool manifest, .nupkg.metadata, statements, the layout template: 16 MiB.</summary>
    Metadata,

    /// <summary>project.assets.json and the other files NuGet and MSBuild generate per project: 1 GiB.</summary>
    Assets,

    /// <summary>The tool's own caches (digests, fingerprints, verified package folders): 256 MiB; a cache over it is ignored by its reader.</summary>
    Cache,

    /// <summary>A file a diff loads whole to compare it: 1 GiB.</summary>
    Compared,

    /// <summary>A log a build wrote for the tool (the trace logger's attribution log): 1 GiB.</summary>
    BuildLog,

    /// <summary>A file that is only hashed: no limit, always streamed.</summary>
    Artifact,
}
