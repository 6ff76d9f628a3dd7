using System.Net;
using System.Net.Http;
using System.Text;

namespace SecureBuild.Core.Identity;

/// <summary>An HTTP answer read whole (at most the client's size cap).</summary>
public sealed class HttpReply
{
    internal HttpReply(int status, byte[] body, string? location, string? contentType, IReadOnlyDictionary<string, string>? headers = null)
    {
        Status = status;
        Body = body;
        Location = location;
        ContentType = contentType;
        Headers = headers ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Every response and content header, by case-insensitive name (several values joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    public int Status { get; }

    public byte[] Body { get; }

    /// <summary>The Location header (Rekor names an existing entry there on 409), or null.</summary>
    public string? Location { get; }

    public string? ContentType { get; }

    public bool IsSuccess => Status >= 200 && Status < 300;

    /// <summary>The start of the body as text, for an error message (never more than 300 characters, one line).</summary>
    public string Excerpt()
    {
        string text = Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 600)).Replace('\r', ' ').Replace('\n', ' ').Trim();
        return text.Length > 300 ? text.Substring(0, 300) + "..." : text;
    }
}

/// <summary>The request could not be completed: no connection, a timeout, or an answer over the size cap.</summary>
public sealed class HttpFailure : Exception
{
    public HttpFailure(string message, bool transient, Exception? inner = null)
        : base(message, inner)
    {
        Transient = transient;
    }

    /// <summary>Worth retrying (connection refused, reset, timeout); an oversized answer is not.</summary>
    public bool Transient { get; }
}

/// <summary>
/// The one HTTP client of keyless signing (OIDC token request, Fulcio, Rekor, TSA): every request has a deadline that
/// covers connecting, the headers and the whole body; an answer body over the cap is refused while it streams (a
/// hostile or broken server cannot make the build buffer gigabytes); redirects are not followed (a token must not
/// travel to another host, and Rekor's 409 Location is read, not followed).
/// </summary>
public sealed class BoundedHttp : IDisposable
{
    /// <summary>Default answer cap: 4 MiB (a Fulcio chain, a Rekor entry or a timestamp are a few KiB).</summary>
    public const long DefaultMaxResponseBytes = 4 * 1024 * 1024;

    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private readonly long _maxResponseBytes;

    public BoundedHttp(TimeSpan timeout, long maxResponseBytes = DefaultMaxResponseBytes, HttpMessageHandler? handler = null)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout));
        }

        _timeout = timeout;
        _maxResponseBytes = maxResponseBytes;
        _client = new HttpClient(handler ?? new HttpClientHandler { AllowAutoRedirect = false }, disposeHandler: true)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // the per-request deadline below covers the body too
        };
    }

    public TimeSpan Timeout => _timeout;

    /// <summary>Sends one request and reads the whole answer within the deadline.</summary>
    /// <exception cref="HttpFailure">No connection, timeout, or an answer larger than the cap.</exception>
    public HttpReply Send(HttpMethod method, Uri url, byte[]? body = null, string? contentType = null, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        return Task.Run(() => SendAsync(method, url, body, contentType, headers)).GetAwaiter().GetResult();
    }

    public void Dispose() => _client.Dispose();

    private async Task<HttpReply> SendAsync(HttpMethod method, Uri url, byte[]? body, string? contentType, IEnumerable<KeyValuePair<string, string>>? headers)
    {
        using var cts = new CancellationTokenSource(_timeout);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        request.Headers.TryAddWithoutValidation("User-Agent", "SecureBuild.Sdk");
        foreach (var h in headers ?? Array.Empty<KeyValuePair<string, string>>())
        {
            request.Headers.TryAddWithoutValidation(h.Key, h.Value);
        }

        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            long? declared = response.Content.Headers.ContentLength;
            if (declared > _maxResponseBytes)
            {
                throw new HttpFailure($"{Describe(method, url)} answered with {declared} bytes, more than the {_maxResponseBytes}-byte limit", transient: false);
            }

            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            while (true)
            {
                int n = await stream.ReadAsync(chunk, 0, chunk.Length, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                if (buffer.Length + n > _maxResponseBytes)
                {
                    throw new HttpFailure($"{Describe(method, url)} answered with more than the {_maxResponseBytes}-byte limit", transient: false);
                }

                buffer.Write(chunk, 0, n);
            }

            string? location = response.Headers.Location?.ToString();
            var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var h in response.Headers.Concat(response.Content.Headers))
            {
                all[h.Key] = string.Join(", ", h.Value);
            }

            return new HttpReply((int)response.StatusCode, buffer.ToArray(), location, response.Content.Headers.ContentType?.MediaType, all);
        }
        catch (OperationCanceledException e)
        {
            throw new HttpFailure($"{Describe(method, url)} did not answer within {_timeout.TotalSeconds:0.#} s", transient: true, e);
        }
        catch (HttpRequestException e)
        {
            throw new HttpFailure($"{Describe(method, url)} failed: {Innermost(e).Message}", transient: true, e);
        }
        catch (IOException e)
        {
            throw new HttpFailure($"{Describe(method, url)} failed while reading the answer: {e.Message}", transient: true, e);
        }
    }

    /// <summary>The URL without query and credentials (a token request URL carries none we print, but be sure).</summary>
    public static string Describe(HttpMethod method, Uri url) => $"{method} {url.GetLeftPart(UriPartial.Path)}";

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    /// <summary>True for answers worth retrying: 408, 429 and 5xx.</summary>
    public static bool IsTransientStatus(int status) => status == (int)HttpStatusCode.RequestTimeout || status == 429 || status >= 500;
}
