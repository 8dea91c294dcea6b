using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.RealtimeGateway.Pushes;

/// <summary>
/// SignalR's Redis backplane without a subscription per connection (docs/architecture.md, "Hub"). The base class
/// subscribes every connection to a channel of its own, for messages that other instances send to that one connection;
/// StackExchange.Redis keeps a <see cref="ChannelMessageQueue"/> per subscription, about 3 KB a connection. The gateway
/// never sends to a connection of another instance: <c>Clients.Caller</c> and group changes are for the calling
/// connection, and the <c>preferred-online</c> relay gets only ids of its own instance's connections. So the channel is
/// unsubscribed once the base has subscribed it, and sends to listed connections are written locally
/// (<see cref="RedisHubLifetimeManager{THub}.SendConnectionAsync"/> does that for a local id) instead of being published
/// to those channels. Groups, and everything else, stay the base class's.
/// </summary>
internal sealed class LocalConnectionsRedisHubLifetimeManager<THub>(
    ILogger<RedisHubLifetimeManager<THub>> logger,
    IOptions<RedisOptions> options,
    IHubProtocolResolver hubProtocolResolver,
    IOptions<HubOptions> globalHubOptions,
    IOptions<HubOptions<THub>> hubOptions,
    BackplaneHealth backplane)
    : RedisHubLifetimeManager<THub>(logger, options, hubProtocolResolver, globalHubOptions, hubOptions)
    where THub : Hub
{
    // The base class's name for a connection's channel (its RedisChannels: "{hub's full name}:connection:{id}"); a test
    // lists the backplane's channels and fails if a connection's stays subscribed.
    private static readonly string ConnectionChannelPrefix = typeof(THub).FullName + ":connection:";

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection).ConfigureAwait(false);
        // The base opened the backplane's multiplexer (our connection factory, which hands it to BackplaneHealth).
        if (backplane.Subscriber is not { } subscriber)
        {
            return;
        }

        try
        {
            await subscriber.UnsubscribeAsync(RedisChannel.Literal(ConnectionChannelPrefix + connection.ConnectionId)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // Redis away (or the host stopping): the connection keeps its channel, as with the base class; only memory.
        }
    }

    public override Task SendConnectionsAsync(
        IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionIds);
        var sends = new Task[connectionIds.Count];
        for (var i = 0; i < sends.Length; i++)
        {
            sends[i] = SendConnectionAsync(connectionIds[i], methodName, args, cancellationToken);
        }

        return Task.WhenAll(sends);
    }
}
