namespace Greeting;

/// <summary>Makes greetings.</summary>
public static class Greeter
{
    /// <summary>A greeting for <paramref name="name"/>.</summary>
    public static string Greet(string name) => $"Hello, {name}!";
}
