using System.Runtime.CompilerServices;

namespace SecureBuild.Core.Internal;

/// <summary>
/// JIT hints the netstandard2.0 reference assembly has no name for. Core targets netstandard2.0 (one assembly for
/// `dotnet build` and Visual Studio's .NET Framework MSBuild), whose <see cref="MethodImplOptions"/> stops before
/// <c>AggressiveOptimization</c>; the runtimes define it as 512 (.NET Core 3.0 and later honour it, .NET Framework and
/// Native AOT ignore the bit). Use <c>[MethodImpl(Jit.AggressiveOptimization)]</c>, never the bare number.
/// </summary>
internal static class Jit
{
    /// <summary>
    /// <c>MethodImplOptions.AggressiveOptimization</c>: compile the method fully optimized at once instead of at tier 0
    /// first. For the verifier's hot loops (JSON scanning, artifact maps, rule matching), which run once per
    /// process over up to millions of entries and would otherwise spend that one run in unoptimized code.
    /// </summary>
    public const MethodImplOptions AggressiveOptimization = (MethodImplOptions)512;
}
