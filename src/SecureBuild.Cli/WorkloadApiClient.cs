using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Cli;

/// <summary>
/// A client of the SPIFFE Workload API (SPIFFE_Workload_API.md): gRPC over HTTP/2 without TLS, on the Unix domain
/// socket or loopback TCP address of <c>SPIFFE_ENDPOINT_SOCKET</c>, every request with <c>workload.spiffe.io: true</c>.
/// <c>FetchX509SVID</c> is a server stream that sends the workload's current SVIDs and then again on every rotation;
/// a signer takes the first answer at the moment it signs, so each signing uses the SVID valid then.
/// </summary>
internal static class WorkloadApiClient
{
    public const string EndpointVariable = "SPIFFE_ENDPOINT_SOCKET";

    /// <summary>Attempts while the agent answers Unavailable (it may be starting), with a growing pause between them.</summary>
    private const int MaxAttempts = 4;

    /// <summary>The current X.509-SVIDs of this workload.</summary>
    /// <param name="endpoint"><c>unix:///path</c>, <c>tcp://IP:port</c>, or null for $SPIFFE_ENDPOINT_SOCKET.</param>
    /// <param name="timeout">The whole call's limit: an agent that accepts and never answers is cut off.</param>
    /// <exception cref="SvidException">SB5231.</exception>
    public static X509SvidResponse FetchX509Svids(string? endpoint, TimeSpan timeout)
    {
        string address = endpoint ?? Environment.GetEnvironmentVariable(EndpointVariable)
            ?? throw WorkloadApiMessages.Fail($"no Workload API endpoint: ${EndpointVariable} is not set and none was given (--socket).");
        var connect = ParseEndpoint(address);

        using var cancel = new CancellationTokenSource(timeout);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return FetchOnceAsync(connect, cancel.Token).GetAwaiter().GetResult();
            }
            catch (RetryableException e) when (attempt < MaxAttempts)
            {
                _ = e;
                try
                {
                    Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancel.Token).GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    throw TimedOut(address, timeout);
                }
            }
            catch (RetryableException e)
            {
                throw WorkloadApiMessages.Fail($"the Workload API at {address} is unavailable after {MaxAttempts} attempts: {e.Message}");
            }
            catch (OperationCanceledException)
            {
                throw TimedOut(address, timeout);
            }
            catch (HttpRequestException e)
            {
                throw WorkloadApiMessages.Fail($"the Workload API at {address} cannot be reached: {Inner(e)}.");
            }
            catch (IOException e)
            {
                throw WorkloadApiMessages.Fail($"the connection to the Workload API at {address} broke: {Inner(e)}.");
            }
        }
    }

    /// <summary>A connector for <c>unix:///absolute/path</c> or <c>tcp://IP:port</c> (nothing else, as the standard says).</summary>
    internal static Func<CancellationToken, ValueTask<Stream>> ParseEndpoint(string address)
    {
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = address.StartsWith("unix://", StringComparison.Ordinal) ? address.Substring("unix://".Length) : address.Substring("unix:".Length);
            if (!path.StartsWith("/", StringComparison.Ordinal) || path.Contains('?') || path.Contains('#'))
            {
                throw WorkloadApiMessages.Fail($"the Workload API address '{address}' is not unix:///absolute/path (no authority, query or fragment).");
            }

            return async cancel =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancel).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        if (address.StartsWith("tcp://", StringComparison.Ordinal))
        {
            string hostPort = address.Substring("tcp://".Length);
            int colon = hostPort.LastIndexOf(':');
            if (colon <= 0 || !IPAddress.TryParse(hostPort.Substring(0, colon).Trim('[', ']'), out var ip)
                || !int.TryParse(hostPort.Substring(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            {
                throw WorkloadApiMessages.Fail($"the Workload API address '{address}' is not tcp://IP:PORT (an IP address, not a name).");
            }

            return async cancel =>
            {
                var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(ip, port), cancel).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        throw WorkloadApiMessages.Fail($"the Workload API address '{address}' is neither unix:///path nor tcp://IP:PORT.");
    }

    private static async Task<X509SvidResponse> FetchOnceAsync(Func<CancellationToken, ValueTask<Stream>> connect, CancellationToken cancel)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, token) => connect(token),
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost" + WorkloadApiMessages.FetchX509SvidPath)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(WorkloadApiMessages.EmptyRequestFrame()),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation(WorkloadApiMessages.SecurityHeader, "true");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw WorkloadApiMessages.Fail($"the Workload API answered HTTP {(int)response.StatusCode}, not a gRPC answer.");
        }

        // A trailers-only answer (an error before any message) carries grpc-status in the headers.
        CheckStatus(response.Headers);
        using var stream = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        var frame = await WorkloadApiMessages.ReadFrameAsync(stream, cancel).ConfigureAwait(false);
        if (frame is null)
        {
            CheckStatus(response.TrailingHeaders);
            throw WorkloadApiMessages.Fail("the Workload API ended the stream without sending an SVID.");
        }

        var answer = WorkloadApiMessages.ParseX509SvidResponse(frame);
        if (answer.Svids.Count == 0)
        {
            throw WorkloadApiMessages.Fail("the Workload API's answer holds no SVID.");
        }

        return answer;
    }

    private static void CheckStatus(HttpHeaders headers)
    {
        if (!headers.TryGetValues("grpc-status", out var values))
        {
            return;
        }

        string status = values.FirstOrDefault() ?? "";
        if (status == "0")
        {
            return;
        }

        string message = headers.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.FirstOrDefault() ?? "") : "";
        string detail = message.Length > 0 ? $" ({message})" : "";
        switch (status)
        {
            case "14": // Unavailable: retry with backoff
                throw new RetryableException($"status Unavailable{detail}");
            case "7": // PermissionDenied
                throw WorkloadApiMessages.Fail($"the Workload API has no identity for this workload (PermissionDenied){detail}: the agent did not attest it, or no registration entry matches it.");
            case "3": // InvalidArgument: never retried
                throw WorkloadApiMessages.Fail($"the Workload API refused the request as invalid (InvalidArgument){detail}.");
            default:
                throw WorkloadApiMessages.Fail($"the Workload API answered gRPC status {status}{detail}.");
        }
    }

    private static SvidException TimedOut(string address, TimeSpan timeout) =>
        WorkloadApiMessages.Fail($"the Workload API at {address} gave no SVID within {timeout.TotalSeconds:0.#} s.");

    private static string Inner(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message.TrimEnd('.');
    }

    private sealed class RetryableException : Exception
    {
        public RetryableException(string message)
            : base(message)
        {
        }
    }
}
