using System.Net;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Tuf;

/// <summary>Fetches a repository's files. Small on purpose: tests put their own behind the client.</summary>
public interface ITufFetcher
{
    /// <summary>
    /// The bytes at <paramref name="url"/>, at most <paramref name="maxLength"/> of them; null when the repository has
    /// no such file (HTTP 404/403, a missing local file), which ends the walk through root versions.
    /// </summary>
    /// <exception cref="TufException">SB5206 over <paramref name="maxLength"/>, SB5207 on any other failure.</exception>
    byte[]? Fetch(string url, long maxLength);
}

/// <summary>
/// The fetcher the CLI uses: http(s) URLs through a bounded HTTP client, file:// URLs and plain paths from the local
/// file system through <see cref="InputFile"/> (regular files only, size-capped).
/// <para>HTTP is bounded on every side: a connect timeout, a total time for each file (headers and body: a server
/// that drips bytes forever is cut off), a cap on the body read whatever Content-Length says, at most 5 redirects.</para>
/// </summary>
public sealed class TufFetcher : ITufFetcher, IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;

    public TufFetcher(TimeSpan? timeout = null)
    {
        _timeout = timeout ?? TimeSpan.FromSeconds(60);
        // netstandard2.0 has no SocketsHttpHandler (and no connect timeout of its own): the per-file token bounds the connect too.
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("securebuild-tuf/1.0");
    }

    public byte[]? Fetch(string url, long maxLength)
    {
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return FetchHttp(url, maxLength);
        }

        return FetchLocal(LocalPath(url), url, maxLength);
    }

    /// <summary>A plain path, or the path of a file:// URL.</summary>
    public static string LocalPath(string url) =>
        url.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(url).LocalPath : url;

    public void Dispose() => _http.Dispose();

    private byte[]? FetchHttp(string url, long maxLength)
    {
        using var cts = new CancellationTokenSource(_timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).GetAwaiter().GetResult();
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new TufException(TufException.FetchFailed, $"GET {url} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}.", "Check the repository URL and that the server is up, then run the update again.");
            }

            if (response.Content.Headers.ContentLength is long declared && declared > maxLength)
            {
                throw TooLarge(url, maxLength, $"its Content-Length is {declared}");
            }

            using var stream = response.Content.ReadAsStreamAsync().GetAwaiter().GetResult();
            return ReadCapped(stream, url, maxLength, cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TufException(TufException.FetchFailed, $"GET {url} did not complete within {_timeout.TotalSeconds:0} s.", "The server is too slow or sends endlessly: try again later, or another mirror of the repository.");
        }
        catch (HttpRequestException e)
        {
            throw new TufException(TufException.FetchFailed, $"GET {url} failed: {e.Message}", "Check the repository URL and the network, then run the update again.");
        }
        catch (IOException e)
        {
            throw new TufException(TufException.FetchFailed, $"GET {url} broke off: {e.Message}", "Run the update again; if it keeps failing, the server is broken.");
        }
    }

    private static byte[] ReadCapped(Stream stream, string url, long maxLength, CancellationToken token)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            int n = stream.ReadAsync(chunk, 0, chunk.Length, token).GetAwaiter().GetResult();
            if (n == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + n > maxLength)
            {
                throw TooLarge(url, maxLength, "the server sent more");
            }

            buffer.Write(chunk, 0, n);
        }
    }

    private static byte[]? FetchLocal(string path, string url, long maxLength)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return null;
        }

        try
        {
            return InputFile.ReadAllBytes(path, InputKind.Metadata, limit: maxLength);
        }
        catch (InputFileException e) when (e.Problem == InputFileProblem.TooLarge)
        {
            throw TooLarge(url, maxLength, "the file is larger");
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new TufException(TufException.FetchFailed, $"{path} cannot be read: {e.Message}", "Check the repository directory and its permissions.");
        }
    }

    internal static TufException TooLarge(string url, long maxLength, string what) =>
        new(TufException.TooLarge, $"{url} is longer than the {maxLength} bytes allowed for it ({what}).",
            "The repository serves more data than its metadata allows (an endless-data attack, or a broken mirror); nothing from it was used.");
}
