using Microsoft.Build.Framework;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks;

/// <summary>
/// The MSBuild side of <see cref="RecordingSettings"/>: reads the SDK's one <c>_SecureBuildSettings</c> item (resolved
/// once per project by <c>_SecureBuildResolveSettings</c>) that the recording and verification tasks take as
/// <c>Settings</c>, instead of ~18 parameters repeated on every call. A parameter a task was given itself wins.
/// </summary>
internal static class SettingsItem
{
    /// <summary>The settings in <paramref name="item"/>; null without an item.</summary>
    public static RecordingSettings? Read(ITaskItem? item) => item is null ? null : RecordingSettings.FromMetadata(item.GetMetadata);

    /// <summary><paramref name="own"/> when the task was given it, else the project's setting.</summary>
    public static string? Or(string? own, string setting) => string.IsNullOrWhiteSpace(own) && setting.Length > 0 ? setting : own;

    /// <summary>The keyless signing settings as the <c>SigningSettings</c> items CertificateSigning reads (ItemSpec name, metadata Value).</summary>
    public static ITaskItem[] SigningItems(RecordingSettings settings) =>
        settings.Signing.Select(s =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(s.Key);
            item.SetMetadata("Value", s.Value);
            return (ITaskItem)item;
        }).ToArray();

    /// <summary>SB1600: a parameter the task needs came neither on its own nor in the settings item.</summary>
    public static string Required(string? value, string task, string parameter) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new SecureBuildTaskException(RecordingSettingsException.Missing,
                $"SecureBuild task {task} was given no {parameter}: pass the project's settings (Settings=\"@(_SecureBuildSettings)\", after the target _SecureBuildResolveSettings ran) or the {parameter} parameter.")
            : value!;
}
