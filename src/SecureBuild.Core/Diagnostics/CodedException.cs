namespace SecureBuild.Core.Diagnostics;

/// <summary>
/// An error a user can hit: <see cref="Code"/> is its stable SB#### code, <see cref="Exception.Message"/> the cause,
/// <see cref="Fix"/> one sentence saying what to do. Tasks log the three; CLI verbs print them.
/// </summary>
public abstract class CodedException : Exception
{
    protected CodedException(string code, string message, string fix, Exception? innerException)
        : base(message, innerException)
    {
        Code = code ?? throw new ArgumentNullException(nameof(code));
        Fix = fix ?? throw new ArgumentNullException(nameof(fix));
    }

    public string Code { get; }

    /// <summary>One sentence: what the user should do.</summary>
    public string Fix { get; }

    public override string ToString() => $"{Code}: {Message} {Fix}";
}
