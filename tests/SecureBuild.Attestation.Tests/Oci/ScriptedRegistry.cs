using SecureBuild.Attestation.Tests.Keyless;

namespace SecureBuild.Attestation.Tests.Oci;

/// <summary>
/// A hostile or scripted registry on 127.0.0.1 (port 0, <see cref="LocalHttpEndpoint"/>): each request (method, path
/// with query, headers) is answered by the script. Stopped by <see cref="Dispose"/>.
/// </summary>
internal sealed class ScriptedRegistry : IDisposable
{
    private readonly LocalHttpEndpoint _endpoint;

    public ScriptedRegistry(Func<string, string, Dictionary<string, string>, Answer> script)
    {
        _endpoint = LocalHttpEndpoint.Answering(head =>
        {
            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1).Where(l => l.Contains(':')))
            {
                headers[line.Substring(0, line.IndexOf(':'))] = line.Substring(line.IndexOf(':') + 1).Trim();
            }

            return script(parts[0], parts.Length > 1 ? parts[1] : "/", headers);
        });
        Host = _endpoint.Url.Substring("http://".Length);
    }

    public string Host { get; }

    /// <summary>The request heads received, in order.</summary>
    public List<string> Requests => _endpoint.Requests;

    public void Dispose() => _endpoint.Dispose();
}
