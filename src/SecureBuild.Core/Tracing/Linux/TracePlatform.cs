using System.Runtime.InteropServices;

namespace SecureBuild.Core.Tracing.Linux;

/// <summary>
/// The machine a trace is asked to run on, as <see cref="PtraceTracer.EnsureSupported"/> judges it: the operating system
/// and the process architecture. <see cref="Current"/> is this machine; tests pass another one to see the refusals
/// (SB4100, SB4101) a user on macOS, Windows or 32-bit ARM gets.
/// </summary>
public sealed class TracePlatform
{
    public TracePlatform(bool isLinux, Architecture architecture)
    {
        IsLinux = isLinux;
        Architecture = architecture;
    }

    public bool IsLinux { get; }

    public Architecture Architecture { get; }

    /// <summary>This process's operating system and architecture.</summary>
    public static TracePlatform Current => new(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), RuntimeInformation.ProcessArchitecture);
}
