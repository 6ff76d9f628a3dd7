using Microsoft.Build.Framework;

namespace SecureBuild.Tasks;

/// <summary>
/// The one way SecureBuild tasks keep state across tasks: objects registered with the build engine
/// (<see cref="IBuildEngine4.RegisterTaskObject"/>) for the lifetime of one build.
/// <para>
/// Lifetime: <see cref="RegisteredTaskObjectLifetime.Build"/>, never AppDomain. MSBuild keeps nodes alive between
/// builds (node reuse, the MSBuild server, Visual Studio), and a static field or an AppDomain-lifetime object would
/// carry one build's answers into the next, which must look at the disk again (a package tampered with between two
/// builds, a key file replaced). A Build-lifetime object is dropped when the build that registered it ends, on every
/// node. Each node has its own objects: what one node learnt, another node learns again.
/// </para>
/// Without an engine that supports registration (an old host, a test engine) each call gets a new object: the work is
/// done again, never skipped.
/// </summary>
internal static class BuildState
{
    /// <summary>The object registered under <paramref name="key"/> in this build and node, created and registered on first use.</summary>
    public static T GetOrCreate<T>(IBuildEngine? engine, string key, Func<T> create)
        where T : class
    {
        if (engine is not IBuildEngine4 four)
        {
            return create();
        }
        lock (Gate)
        {
            if (four.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is T existing)
            {
                return existing;
            }
            var created = create();
            four.RegisterTaskObject(key, created, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return created;
        }
    }

    /// <summary>True the first time <paramref name="key"/> is seen in this build and node (for "once per build" messages).</summary>
    public static bool FirstTime(IBuildEngine? engine, string key)
    {
        if (engine is not IBuildEngine4 four)
        {
            return true;
        }
        lock (Gate)
        {
            if (four.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is not null)
            {
                return false;
            }
            four.RegisterTaskObject(key, key, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return true;
        }
    }

    private static readonly object Gate = new();
}
