using System.Runtime.CompilerServices;

namespace AbsolutePath;

public static class Log
{
    /// <summary>Prefixes a message with the caller's file: the compiler inserts that file's full path.</summary>
    public static string Where(string message, [CallerFilePath] string file = "") => $"{file}: {message}";

    public static string Hello() => Where("hello");
}
