using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>How the stand-in answers FetchX509SVID.</summary>
public enum AgentBehaviour
{
    /// <summary>Send the SVID, then keep the stream open (as an agent does, for rotations) until the client leaves.</summary>
    Serve,

    /// <summary>Send the current SVID, then a rotated one right after.</summary>
    ServeAndRotate,

    /// <summary>Accept the call and never answer.</summary>
    Hang,

    /// <summary>Abort the connection before any message.</summary>
    CloseMidStream,

    /// <summary>PermissionDenied: no identity for this caller.</summary>
    PermissionDenied,

    /// <summary>Unavailable on the first two calls, then serve (the agent starting up).</summary>
    UnavailableTwiceThenServe,

    /// <summary>End the stream with OK and no message.</summary>
    EmptyStream,

    /// <summary>Send the header and half of the first message, then abort the connection.</summary>
    CloseMidMessage,

    /// <summary>Send the header and half of the first message, then never send the rest.</summary>
    StallMidMessage,
}

/// <summary>
/// A SPIFFE Workload API stand-in for tests: the generated <c>SpiffeWorkloadAPI</c> service from the copied
/// workloadapi.proto, on Kestrel (HTTP/2 without TLS) on a Unix socket in a scratch directory, serving SVIDs of the
/// test PKI. Requests without <c>workload.spiffe.io: true</c> get InvalidArgument, as the standard says.
/// </summary>
internal sealed class WorkloadApiStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;

    private WorkloadApiStandIn(WebApplication app, string dir, State state)
    {
        _app = app;
        _dir = dir;
        Agent = state;
    }

    public string Endpoint => "unix://" + Path.Combine(_dir, "agent.sock");

    public State Agent { get; }

    public static async Task<WorkloadApiStandIn> StartAsync(State state)
    {
        string dir = ScratchDirectory.Create("spiffe-agent");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Path.Combine(dir, "agent.sock"), o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        return new WorkloadApiStandIn(app, dir, state);
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
        ScratchDirectory.TryDelete(_dir);
    }

    internal sealed class State
    {
        public AgentBehaviour Behaviour { get; set; }

        /// <summary>What the agent claims in spiffe_id; default: the leaf's ID.</summary>
        public string SpiffeId { get; set; } = "spiffe://example.org/ci/build";

        public Func<(byte[] ChainDer, byte[] KeyDer)> Issue { get; set; } = () => throw new InvalidOperationException("no SVID");

        public int Calls;

        public int MissingHeader;
    }

    private sealed class Service : SpiffeWorkloadAPI.SpiffeWorkloadAPIBase
    {
        private readonly State _state;

        public Service(State state) => _state = state;

        public override async Task FetchX509SVID(X509SVIDRequest request, IServerStreamWriter<X509SVIDResponse> responseStream, ServerCallContext context)
        {
            int call = Interlocked.Increment(ref _state.Calls);
            if (context.RequestHeaders.GetValue("workload.spiffe.io") != "true")
            {
                Interlocked.Increment(ref _state.MissingHeader);
                throw new RpcException(new Status(StatusCode.InvalidArgument, "security header missing from request"));
            }

            switch (_state.Behaviour)
            {
                case AgentBehaviour.Hang:
                    await Task.Delay(Timeout.Infinite, context.CancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                case AgentBehaviour.CloseMidStream:
                    context.GetHttpContext().Abort();
                    return;
                case AgentBehaviour.PermissionDenied:
                    throw new RpcException(new Status(StatusCode.PermissionDenied, "no identity issued"));
                case AgentBehaviour.UnavailableTwiceThenServe when call <= 2:
                    throw new RpcException(new Status(StatusCode.Unavailable, "agent starting"));
                case AgentBehaviour.EmptyStream:
                    return;
                case AgentBehaviour.CloseMidMessage:
                case AgentBehaviour.StallMidMessage:
                    await WriteHalfAMessage(context);
                    if (_state.Behaviour == AgentBehaviour.CloseMidMessage)
                    {
                        context.GetHttpContext().Abort();
                        return;
                    }

                    await Task.Delay(Timeout.Infinite, context.CancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
            }

            await responseStream.WriteAsync(Response());
            if (_state.Behaviour == AgentBehaviour.ServeAndRotate)
            {
                await responseStream.WriteAsync(Response());
            }

            await Task.Delay(Timeout.Infinite, context.CancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        /// <summary>A gRPC frame header announcing the whole first message, then only half of its bytes, flushed.</summary>
        private async Task WriteHalfAMessage(ServerCallContext context)
        {
            byte[] message = Response().ToByteArray();
            var frame = new byte[5 + (message.Length / 2)];
            frame[1] = (byte)(message.Length >> 24);
            frame[2] = (byte)(message.Length >> 16);
            frame[3] = (byte)(message.Length >> 8);
            frame[4] = (byte)message.Length;
            Array.Copy(message, 0, frame, 5, message.Length / 2);
            await context.WriteResponseHeadersAsync(new Metadata());
            var body = context.GetHttpContext().Response.Body;
            await body.WriteAsync(frame, context.CancellationToken);
            await body.FlushAsync(context.CancellationToken);
        }

        private X509SVIDResponse Response()
        {
            var (chain, key) = _state.Issue();
            var response = new X509SVIDResponse();
            response.Svids.Add(new X509SVID
            {
                SpiffeId = _state.SpiffeId,
                X509Svid = ByteString.CopyFrom(chain),
                X509SvidKey = ByteString.CopyFrom(key),
                Bundle = ByteString.CopyFrom(TestPki.BundleDer),
                Hint = "test",
            });
            return response;
        }
    }
}
