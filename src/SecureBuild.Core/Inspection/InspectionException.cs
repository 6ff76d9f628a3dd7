namespace SecureBuild.Core.Inspection;

/// <summary>
/// An input of `securebuild inspect` cannot be used (the package, the baseline, the links folder or a link): nothing
/// can be said about the package, which is exit 2, never a pass. <see cref="Code"/> is the SB code; the message the
/// cause and the fix.
/// </summary>
public sealed class InspectionException : Exception
{
    public InspectionException(string code, string message, Exception? inner = null)
        : base($"{code}: {message}", inner)
    {
        Code = code;
    }

    public string Code { get; }
}
