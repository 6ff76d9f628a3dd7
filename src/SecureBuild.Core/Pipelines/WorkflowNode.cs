namespace SecureBuild.Core.Pipelines;

/// <summary>
/// A parsed YAML document as the workflow checker sees it: mappings, sequences and scalars with their line. Core reads
/// no YAML itself (that would put a YAML library into the build-task package); the CLI parses with YamlDotNet and
/// builds this tree, and tests can build it by hand.
/// </summary>
public abstract class WorkflowNode
{
    protected WorkflowNode(int line)
    {
        Line = line;
    }

    /// <summary>1-based line of the node in its file (0 when unknown).</summary>
    public int Line { get; }
}

public sealed class WorkflowMap : WorkflowNode
{
    public WorkflowMap(int line, IReadOnlyList<KeyValuePair<string, WorkflowNode>> entries)
        : base(line)
    {
        Entries = entries;
    }

    public IReadOnlyList<KeyValuePair<string, WorkflowNode>> Entries { get; }

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public WorkflowNode? this[string key] => Entries.FirstOrDefault(e => e.Key == key).Value;

    /// <summary>The scalar text of <paramref name="key"/>, or null when absent or not a scalar.</summary>
    public string? Text(string key) => (this[key] as WorkflowScalar)?.Value;
}

public sealed class WorkflowList : WorkflowNode
{
    public WorkflowList(int line, IReadOnlyList<WorkflowNode> items)
        : base(line)
    {
        Items = items;
    }

    public IReadOnlyList<WorkflowNode> Items { get; }
}

public sealed class WorkflowScalar : WorkflowNode
{
    public WorkflowScalar(int line, string value)
        : base(line)
    {
        Value = value;
    }

    public string Value { get; }
}
