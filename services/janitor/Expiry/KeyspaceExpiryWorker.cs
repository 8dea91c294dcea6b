using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Leadership;
using StackExchange.Redis;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Subscribes to the server's expired-key events (<c>__keyevent@{db}__:expired</c>) and, on the leader, forgets
/// users whose hash expired. Every replica subscribes, so a new leader needs no subscription round trip; events
/// that arrive while no replica leads, or while the subscription is down, are not replayed by Redis: the sweep's
/// retention trim is the backstop for those. StackExchange.Redis restores the subscription after a reconnect;
/// the <c>notify-keyspace-events</c> check runs again then, since a restarted server forgets a CONFIG SET.
/// </summary>
internal sealed partial class KeyspaceExpiryWorker(
    IConnectionMultiplexer redis,
    KeyspaceEventsSetting setting,
    UserExpiry expiry,
    LeaderLease lease,
    IOptionsMonitor<JanitorOptions> options,
    TimeProvider time,
    ILogger<KeyspaceExpiryWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ChannelMessageQueue? queue = null;
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            queue = await SubscribeAsync(stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                var message = await queue.ReadAsync(stoppingToken).ConfigureAwait(false);
                if (!lease.IsLeader || ExpiredKey(message) is not { } key)
                {
                    continue;
                }

                try
                {
                    await expiry.HandleExpiredAsync(key, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
                {
                    // Lost for now; the retention trim removes the entry by score later.
                    LogHandleFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (System.Threading.Channels.ChannelClosedException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
            if (queue is not null)
            {
                try
                {
                    await queue.UnsubscribeAsync().ConfigureAwait(false);
                }
                catch (RedisException)
                {
                    // Shutting down while Redis is away: the server drops the subscription with the connection.
                }
            }
        }
    }

    /// <summary>Subscribes, retrying with backoff while Redis is unreachable at start-up.</summary>
    private async Task<ChannelMessageQueue> SubscribeAsync(CancellationToken ct)
    {
        var channel = RedisChannel.KeyEvent(KeyNotificationType.Expired, redis.GetDatabase().Database);
        var delay = options.CurrentValue.SweepInterval;
        while (true)
        {
            try
            {
                await setting.EnsureAsync(ct).ConfigureAwait(false);
                var queue = await redis.GetSubscriber().SubscribeAsync(channel).ConfigureAwait(false);
                LogSubscribed(logger, channel.ToString());
                return queue;
            }
            catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
            {
                LogSubscribeFailed(logger, delay, ex);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.CurrentValue.MaxBackoff.Ticks));
            }
        }
    }

    private static string? ExpiredKey(ChannelMessage message) =>
        message.TryParseKeyNotification(out var notification) ? notification.GetKey().ToString() : null;

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            _ = RecheckAsync();
        }
    }

    private async Task RecheckAsync()
    {
        try
        {
            await setting.EnsureAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
        {
            LogRecheckFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening to expired-key events on {Channel}.")]
    private static partial void LogSubscribed(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to expired-key events; retrying in {Delay}.")]
    private static partial void LogSubscribeFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An expired user hash could not be handled; the retention trim will remove its last-seen entry.")]
    private static partial void LogHandleFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-checking notify-keyspace-events after a reconnect failed.")]
    private static partial void LogRecheckFailed(ILogger logger, Exception exception);
}
