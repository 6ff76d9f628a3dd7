using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>
/// A tiny HTTP/1.1 endpoint on 127.0.0.1 (port 0) for the token-request flow: each request's head is handed to
/// <c>respond</c>, which returns the status and body (null: accept and never answer, to test deadlines). Stopped by
/// <see cref="Dispose"/>; every read is bounded.
/// </summary>
internal sealed class LocalHttpEndpoint : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<string, (int Status, byte[] Body)?> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _held = new();
    private readonly Task _loop;

    public LocalHttpEndpoint(Func<string, (int Status, byte[] Body)?> respond)
    {
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = Task.Run(Serve);
    }

    public string Url { get; }

    /// <summary>The request heads received, in order.</summary>
    public List<string> Requests { get; } = new();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_held)
        {
            foreach (var c in _held)
            {
                c.Dispose();
            }
        }

        _loop.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task Serve()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && head.Length < 65536)
            {
                int n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            lock (Requests)
            {
                Requests.Add(head.ToString());
            }

            var answer = _respond(head.ToString());
            if (answer is null)
            {
                lock (_held)
                {
                    _held.Add(client); // never answered; closed by Dispose
                }

                return;
            }

            var (status, body) = answer.Value;
            byte[] header = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(header, timeout.Token);
            await stream.WriteAsync(body, timeout.Token);
            await stream.FlushAsync(timeout.Token);
            client.Dispose();
        }
        catch (Exception)
        {
            client.Dispose();
        }
    }
}
