using Microsoft.Build.Framework;
using SecureBuild.Core.Diagnostics;
using MSBuildTask = Microsoft.Build.Utilities.Task;

namespace SecureBuild.Tasks;

/// <summary>
/// The boundary every SecureBuild task runs behind: whatever a task reports is an SB-coded error, and an exception it
/// did not expect becomes SB1900 with its cause on one line instead of MSBuild's MSB4018 crash dump (the stack trace
/// goes to the log at diagnostic verbosity, and into the error with SECUREBUILD_DEBUG=1). The build fails either way.
/// </summary>
public abstract class CodedTask : MSBuildTask
{
    /// <summary>An exception no task expected: a bug, reported with a request to report it.</summary>
    public const string InternalErrorCode = "SB1900";

    public sealed override bool Execute()
    {
        try
        {
            return ExecuteTask();
        }
        catch (Exception e) when (InternalError.IsCatchable(e))
        {
            var trace = InternalError.StackTraceIfAsked(e);
            LogCodedError(InternalErrorCode, $"SecureBuild task {GetType().Name} stopped on an internal error: {InternalError.Describe(e)}. {InternalError.ReportHint}" + (trace is null ? "" : "\n" + trace));
            if (trace is null)
            {
                Log.LogMessage(MessageImportance.Low, $"SecureBuild task {GetType().Name}: {e}");
            }

            return false;
        }
    }

    /// <summary>The task's work; any exception it lets escape is reported as <see cref="InternalErrorCode"/>.</summary>
    protected abstract bool ExecuteTask();

    protected void LogCodedError(string code, string message) =>
        Log.LogError(null, code, null, null, 0, 0, 0, 0, message);

    protected void LogCodedWarning(string code, string message) =>
        Log.LogWarning(null, code, null, null, 0, 0, 0, 0, message);

    /// <summary>
    /// Takes the project's settings item (<c>_SecureBuildSettings</c>, see <see cref="SettingsItem"/>) when given, through
    /// <paramref name="apply"/>, then <paramref name="require"/> checks what the task needs; false after logging SB1600
    /// (a parameter came neither on its own nor in the item) or SB1601 (a yes/no setting is neither).
    /// </summary>
    protected bool TryApplySettings(ITaskItem? item, Action<Core.Recording.RecordingSettings> apply, Action require)
    {
        try
        {
            if (SettingsItem.Read(item) is { } settings)
            {
                apply(settings);
            }
            require();
            return true;
        }
        catch (SecureBuildTaskException e)
        {
            LogCodedError(e.Code, e.Message);
            return false;
        }
        catch (Core.Recording.RecordingSettingsException e)
        {
            LogCodedError(e.Code, e.Message);
            return false;
        }
    }

    /// <summary>Logs what a Core service reported, in order: errors and warnings with their codes, the rest as messages.</summary>
    protected void LogDiagnostics(IEnumerable<CodedDiagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            switch (d.Level)
            {
                case DiagnosticLevel.Error:
                    LogCodedError(d.Code, d.Text);
                    break;
                case DiagnosticLevel.Warning:
                    LogCodedWarning(d.Code, d.Text);
                    break;
                default:
                    Log.LogMessage(d.Level == DiagnosticLevel.Message ? MessageImportance.Normal : MessageImportance.Low, d.Text);
                    break;
            }
        }
    }
}
