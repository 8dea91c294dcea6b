using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Leadership;
using StackExchange.Redis;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Subscribes to the server's expired-key events (<c>__keyevent@{db}__:expired</c>) and, on the leader, forgets
/// users whose hash expired. Every replica subscribes, so a new leader needs no subscription round trip; events
/// that arrive while no replica leads, or while the subscription is down, are not replayed by Redis: the sweep's
/// retention trim is the backstop for those.
/// </summary>
internal sealed partial class KeyspaceExpiryWorker(
    IConnectionMultiplexer redis,
    KeyspaceEventsSetting setting,
    UserExpiry expiry,
    LeaderLease lease,
    JanitorMetrics metrics,
    IOptionsMonitor<JanitorOptions> options,
    TimeProvider time,
    ILogger<KeyspaceExpiryWorker> logger) : BackgroundService
{
    private CancellationTokenSource? _resubscribe;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var resubscribe = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Volatile.Write(ref _resubscribe, resubscribe);
                var queue = await SubscribeAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    await HandleAsync(queue, resubscribe.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The subscription connection came back: subscribe afresh rather than trust it was restored.
                }
                finally
                {
                    await UnsubscribeAsync(queue).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private async Task HandleAsync(ChannelMessageQueue queue, CancellationToken ct)
    {
        while (true)
        {
            var message = await queue.ReadAsync(ct).ConfigureAwait(false);
            if (!lease.IsLeader || ExpiredKey(message) is not { } key)
            {
                continue;
            }

            try
            {
                await expiry.HandleExpiredAsync(key, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
            {
                // Lost for now; the retention trim removes the entry by score later.
                metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
                LogHandleFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), ex);
            }
        }
    }

    private async Task UnsubscribeAsync(ChannelMessageQueue queue)
    {
        try
        {
            await queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisErrors.IsRedisFailure(ex))
        {
            // Redis is away: the server dropped the subscription with the connection anyway.
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
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
            {
                metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
                LogSubscribeFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), delay, ex);
                await Task.Delay(delay, time, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.CurrentValue.MaxBackoff.Ticks));
            }
        }
    }

    private static string? ExpiredKey(ChannelMessage message) =>
        message.TryParseKeyNotification(out var notification) ? notification.GetKey().ToString() : null;

    /// <summary>
    /// After a reconnect the worker subscribes again (which also re-checks <c>notify-keyspace-events</c>, as a
    /// restarted server forgets a CONFIG SET): StackExchange.Redis was seen not to restore this keyevent
    /// subscription by itself after a server restart.
    /// </summary>
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }

        try
        {
            Volatile.Read(ref _resubscribe)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That round already ended; the next one subscribes afresh anyway.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening to expired-key events on {Channel}.")]
    private static partial void LogSubscribed(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to expired-key events (Redis {ErrorClass}); retrying in {Delay}.")]
    private static partial void LogSubscribeFailed(ILogger logger, string errorClass, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An expired user hash could not be handled (Redis {ErrorClass}); the retention trim will remove its last-seen entry.")]
    private static partial void LogHandleFailed(ILogger logger, string errorClass, Exception exception);

}
