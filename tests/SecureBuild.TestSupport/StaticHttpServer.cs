using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// A static file server on 127.0.0.1 (port 0, read back) for TUF repositories and NuGet feeds
/// (<see cref="SecureBuild.TestSupport.SdkPackageFeed.ServeOverHttp"/>): GET of files below a directory, 404 for
/// anything else, one request per connection. <see cref="Override"/> lets a test misbehave for one path (send
/// endless data, drip slowly, answer 500). Started and stopped by the test; every wait is bounded. (In TestSupport,
/// under the namespace it had in the TUF tests.)
/// </summary>
public sealed class StaticHttpServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public StaticHttpServer(string root)
    {
        Root = root;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoop);
    }

    public string Root { get; }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Given the request path (e.g. "/metadata/timestamp.json") and the client's stream, handles the request itself and returns true.</summary>
    public Func<string, NetworkStream, CancellationToken, Task<bool>>? Override { get; set; }

    /// <summary>The request paths served so far, in order.</summary>
    public List<string> Requests { get; } = new();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }
    }

    /// <summary>Writes an HTTP/1.1 response head (without Content-Length when <paramref name="length"/> is null).</summary>
    public static async Task WriteHead(Stream stream, int status, long? length, CancellationToken token)
    {
        string head = $"HTTP/1.1 {status} {(status == 200 ? "OK" : status == 404 ? "Not Found" : "Error")}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
            + (length is long n ? $"Content-Length: {n}\r\n" : "") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), token);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException || e is SocketException || e is ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(60));
                string? path = await ReadRequestPath(stream, timeout.Token);
                if (path is null)
                {
                    return;
                }

                lock (Requests)
                {
                    Requests.Add(path);
                }

                if (Override is { } handler && await handler(path, stream, timeout.Token))
                {
                    return;
                }

                string local = Path.GetFullPath(Path.Combine(Root, Uri.UnescapeDataString(path.TrimStart('/'))));
                if (!local.StartsWith(Path.GetFullPath(Root), StringComparison.Ordinal) || !File.Exists(local))
                {
                    await WriteHead(stream, 404, 0, timeout.Token);
                    return;
                }

                byte[] bytes = await File.ReadAllBytesAsync(local, timeout.Token);
                await WriteHead(stream, 200, bytes.Length, timeout.Token);
                await stream.WriteAsync(bytes, timeout.Token);
            }
            catch (Exception e) when (e is IOException || e is OperationCanceledException || e is SocketException || e is ObjectDisposedException)
            {
                // The client went away or the test stopped the server.
            }
        }
    }

    private static async Task<string?> ReadRequestPath(NetworkStream stream, CancellationToken token)
    {
        var head = new StringBuilder();
        var buffer = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, token);
            if (n == 0 || head.Length > 65536)
            {
                return null;
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        string[] first = head.ToString().Split("\r\n")[0].Split(' ');
        return first.Length >= 2 && first[0] == "GET" ? first[1].Split('?')[0] : null;
    }
}
