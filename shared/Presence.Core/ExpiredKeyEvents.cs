using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// The server's expired-key events (<c>__keyevent@{db}__:expired</c>), which the janitor listens to so it forgets users
/// whose hash expired. Pub/sub: an event published while nobody listens is gone. On Redis Cluster the events are
/// node-local (docs/architecture.md, "Redis Cluster"): StackExchange.Redis subscribes the keyevent channel on every
/// primary it knows and extends it to the primaries it learns of; <see cref="Primaries"/> and
/// <see cref="ReloadTopologyAsync"/> let the listener follow that set.
/// </summary>
public sealed class ExpiredKeyEvents(IConnectionMultiplexer redis)
{
    /// <summary>Subscribes to the expired-key channel of the database the store uses.</summary>
    public async Task<Subscription> SubscribeAsync()
    {
        var channel = RedisChannel.KeyEvent(KeyNotificationType.Expired, redis.GetDatabase().Database);
        return new Subscription(await redis.GetSubscriber().SubscribeAsync(channel).ConfigureAwait(false));
    }

    /// <summary>The primaries the multiplexer knows now (all, or only the connected): one for a single node, every primary of a cluster.</summary>
    public HashSet<string> Primaries(bool connectedOnly = false) =>
        [.. redis.GetServers().Where(s => !s.IsReplica && (!connectedOnly || s.IsConnected)).Select(s => s.EndPoint.ToString() ?? string.Empty)];

    /// <summary>True when the server is a Redis Cluster (its topology can change under a subscription).</summary>
    public bool IsCluster => redis.GetServers().Any(s => s.ServerType == ServerType.Cluster);

    /// <summary>Asks the multiplexer to reload the topology now, so a promoted replica is learnt of without waiting.</summary>
    public Task ReloadTopologyAsync(CancellationToken ct) => redis.ConfigureAsync().WaitAsync(ct);

    /// <summary>
    /// Calls <paramref name="onRestored"/> whenever the subscription connection comes back; the listener should then
    /// subscribe afresh (StackExchange.Redis was seen not to restore a keyevent subscription after a server restart).
    /// Disposing the result stops the calls.
    /// </summary>
    public IDisposable OnSubscriptionRestored(Action onRestored)
    {
        ArgumentNullException.ThrowIfNull(onRestored);
        void Handler(object? sender, ConnectionFailedEventArgs e)
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                onRestored();
            }
        }

        redis.ConnectionRestored += Handler;
        return new Unhook(() => redis.ConnectionRestored -= Handler);
    }

    /// <summary>One subscription; read its expired keys in order, and end it once with <see cref="UnsubscribeAsync"/>.</summary>
    public sealed class Subscription(ChannelMessageQueue queue)
    {
        public string Channel => queue.Channel.ToString();

        /// <summary>The next expired key; null for a message that is not a key notification.</summary>
        public async Task<string?> ReadExpiredKeyAsync(CancellationToken ct)
        {
            var message = await queue.ReadAsync(ct).ConfigureAwait(false);
            return message.TryParseKeyNotification(out var notification) ? notification.GetKey().ToString() : null;
        }

        public Task UnsubscribeAsync() => queue.UnsubscribeAsync();
    }

    private sealed class Unhook(Action unhook) : IDisposable
    {
        private Action? _unhook = unhook;

        public void Dispose() => Interlocked.Exchange(ref _unhook, null)?.Invoke();
    }
}
