using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureBuild.Attestation.Tests.Keyless;

/// <summary>One answer: status, body, extra headers; <see cref="HugeLength"/> declares that many bytes and streams zeros until the client hangs up.</summary>
internal sealed record Answer(int Status, byte[] Body, Dictionary<string, string>? Headers = null, long HugeLength = 0)
{
    public static Answer Json(int status, string body, Dictionary<string, string>? headers = null) => new(status, Encoding.UTF8.GetBytes(body), headers);
}

/// <summary>
/// A tiny HTTP/1.1 endpoint on 127.0.0.1 (port 0) for the token-request flow and scripted registries: each request's
/// head is handed to <c>respond</c>, which returns the answer (null: accept and never answer, to test deadlines).
/// Request bodies are not read. Stopped by <see cref="Dispose"/>; every read and write is bounded.
/// </summary>
internal sealed class LocalHttpEndpoint : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<string, Answer?> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _held = new();
    private readonly Task _loop;

    public LocalHttpEndpoint(Func<string, (int Status, byte[] Body)?> respond)
        : this(head => respond(head) is { } a ? new Answer(a.Status, a.Body) : null, headersToo: true)
    {
    }

    private LocalHttpEndpoint(Func<string, Answer?> respond, bool headersToo)
    {
        _ = headersToo;
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = Task.Run(Serve);
    }

    public string Url { get; }

    /// <summary>An endpoint whose answers carry headers too (or a huge declared length).</summary>
    public static LocalHttpEndpoint Answering(Func<string, Answer?> respond) => new(respond, headersToo: true);

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

            var headers = new Dictionary<string, string>(answer.Headers ?? new(), StringComparer.OrdinalIgnoreCase);
            headers.TryAdd("Content-Type", "application/json");
            var text = new StringBuilder($"HTTP/1.1 {answer.Status} X\r\nContent-Length: {(answer.HugeLength > 0 ? answer.HugeLength : answer.Body.Length)}\r\nConnection: close\r\n");
            foreach (var h in headers)
            {
                text.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes(text.Append("\r\n").ToString()), timeout.Token);
            var zeros = new byte[65536];
            for (long sent = 0; sent < answer.HugeLength; sent += zeros.Length)
            {
                await stream.WriteAsync(zeros, timeout.Token); // throws once the client hangs up or the deadline passes
            }

            await stream.WriteAsync(answer.Body, timeout.Token);
            await stream.FlushAsync(timeout.Token);
            client.Dispose();
        }
        catch (Exception)
        {
            client.Dispose();
        }
    }
}
