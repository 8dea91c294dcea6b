using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.Connections;
using Presence.RealtimeGateway;

namespace Presence.RealtimeGateway.Tests;

/// <summary>
/// One gateway instance in memory, its own fake clock, on the given Redis. Instances built with the same
/// <c>sharedPrefix</c> share keys, event streams and backplane channels: scale-out as in production.
/// </summary>
public sealed class GatewayFactory : PresenceAppFactory<Program>
{
    public GatewayFactory(IRedisBackend redis, string? sharedPrefix = null, IReadOnlyDictionary<string, string?>? settings = null)
        : base(redis)
    {
        Prefix = sharedPrefix ?? KeyPrefix;
        Settings["Presence:KeyPrefix"] = Prefix;
        // Fast polling keeps the tests quick; production's 100 ms is documented in GatewayOptions.
        Settings["Gateway:EventPollDelay"] = "00:00:00.020";
        Settings["Logging:LogLevel:Default"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            Settings[key] = value;
        }
    }

    public string Prefix { get; }

    public PresenceKeys PresenceKeys => new(Prefix);

    public string InstanceId => Services.GetRequiredService<GatewayInstance>().Id;

    public PresenceStore Store => Services.GetRequiredService<PresenceStore>();

    public TimeSpan LeaveGrace => Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PresenceOptions>>().Value.LeaveGrace;

    /// <summary>What the janitor does when a leave grace ends: moves this gateway's clock past it and settles the user.</summary>
    public async Task<bool> EndGraceAsync(PresenceRole role, string id)
    {
        Time.Advance(LeaveGrace);
        return await Store.SettleAsync(DueIndex.Online, role, id, TestContext.Current.CancellationToken);
    }

    /// <summary>A real SignalR client over WebSockets to the in-memory server; the token goes in the query string, as browsers send it.</summary>
    public HubConnection CreateHub(string? token)
    {
        var server = Server;
        var url = new Uri(server.BaseAddress, "/hubs/presence" + (token is null ? string.Empty : "?access_token=" + Uri.EscapeDataString(token)));
        return new HubConnectionBuilder()
            .WithUrl(url, HttpTransportType.WebSockets, o =>
            {
                o.SkipNegotiation = true;
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                o.WebSocketFactory = async (context, ct) => await server.CreateWebSocketClient().ConnectAsync(context.Uri, ct);
            })
            .Build();
    }

    public async Task<HubConnection> ConnectAsync(string? token)
    {
        var hub = CreateHub(token);
        await hub.StartAsync(TestContext.Current.CancellationToken);
        return hub;
    }

    /// <summary>An anonymous watcher of these users, collecting its pushes from before its <c>watch</c> call; disposing it closes its connection.</summary>
    public async Task<Pushes> WatchAsync(params string[] ids)
    {
        var watcher = await ConnectAsync(token: null);
        var pushes = Pushes.On(watcher, owned: true);
        await watcher.InvokeAsync<PresenceSnapshot>("watch", ids, TestContext.Current.CancellationToken);
        return pushes;
    }
}

public static class HubConnectionExtensions
{
    /// <summary>The first message of this name that the connection receives from now on.</summary>
    public static Task<T> NextAsync<T>(this HubConnection hub, string method)
    {
        var first = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.On<T>(method, message => first.TrySetResult(message));
        return first.Task;
    }
}

/// <summary>Every <c>presence-changed</c> a client received.</summary>
public sealed class Pushes : IAsyncDisposable
{
    private readonly ConcurrentQueue<PresenceChanged> _received = new();
    private readonly bool _owned;

    private Pushes(HubConnection hub, bool owned)
    {
        Hub = hub;
        _owned = owned;
    }

    /// <summary>The connection that receives them.</summary>
    public HubConnection Hub { get; }

    public IReadOnlyList<PresenceChanged> All => [.. _received];

    /// <param name="owned">Whether disposing these pushes closes the connection too.</param>
    public static Pushes On(HubConnection hub, bool owned = false)
    {
        var pushes = new Pushes(hub, owned);
        hub.On<PresenceChanged>("presence-changed", pushes._received.Enqueue);
        return pushes;
    }

    public ValueTask DisposeAsync() => _owned ? Hub.DisposeAsync() : ValueTask.CompletedTask;

    public int Count(string id, string status) => _received.Count(p => p.Id == id && p.Status == status);

    public int Count(string id) => _received.Count(p => p.Id == id);

    /// <summary>Waits for an event of the user with this status and reason.</summary>
    public async Task<PresenceChanged> WaitForReasonAsync(string id, string status, string reason)
    {
        PresenceChanged? found = null;
        await Poll.UntilAsync(() => (found = _received.FirstOrDefault(p => p.Id == id && p.Status == status && p.Reason == reason)) is not null,
            () => $"no presence-changed {id} {status}/{reason}; received: " + string.Join(", ", _received.Select(p => p.Id + " " + p.Status + "/" + p.Reason)));
        return found!;
    }

    public async Task<PresenceChanged> WaitForAsync(string id, string status, TimeSpan? timeout = null)
    {
        PresenceChanged? found = null;
        await Poll.UntilAsync(() => (found = _received.FirstOrDefault(p => p.Id == id && p.Status == status)) is not null,
            () => $"no presence-changed {id} {status}; received: " + string.Join(", ", _received.Select(p => p.Id + " " + p.Status)), timeout);
        return found!;
    }
}
