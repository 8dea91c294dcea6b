using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Leadership;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Subscribes to the server's expired-key events (<c>__keyevent@{db}__:expired</c>) and, on the leader, forgets
/// users whose hash expired. Every replica subscribes, so a new leader needs no subscription round trip; events
/// that arrive while no replica leads, or while the subscription is down, are not replayed by Redis: the sweep's
/// retention trim is the backstop for those.
/// On Redis Cluster the events are node-local (docs/architecture.md, "Redis Cluster"): StackExchange.Redis
/// subscribes a keyevent channel on every primary it knows, and the worker subscribes again whenever the set of
/// primaries changes (a replica promoted after a failover, a node added), which also re-checks
/// <c>notify-keyspace-events</c> on the new primary (CONFIG SET is not replicated). The Redis side is Core's
/// <see cref="ExpiredKeyEvents"/>.
/// </summary>
internal sealed partial class KeyspaceExpiryWorker : BackgroundService
{
    /// <summary>How often the local view of the primaries is compared with the subscribed set (no network call).</summary>
    internal static readonly TimeSpan TopologyCheckInterval = TimeSpan.FromSeconds(1);

    private readonly ExpiredKeyEvents _events;
    private readonly KeyspaceEventsSetting _setting;
    private readonly UserExpiry _expiry;
    private readonly LeaderLease _lease;
    private readonly IOptionsMonitor<JanitorOptions> _options;
    private readonly TimeProvider _time;
    private readonly PresenceMetrics _metrics;
    private readonly ILogger<KeyspaceExpiryWorker> _logger;
    private CancellationTokenSource? _resubscribe;
    private int _subscribedPrimaries;

    public KeyspaceExpiryWorker(
        ExpiredKeyEvents events,
        KeyspaceEventsSetting setting,
        UserExpiry expiry,
        LeaderLease lease,
        IOptionsMonitor<JanitorOptions> options,
        TimeProvider time,
        PresenceMetrics metrics,
        ILogger<KeyspaceExpiryWorker> logger)
    {
        _events = events;
        _setting = setting;
        _expiry = expiry;
        _lease = lease;
        _options = options;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        metrics.Meter.CreateObservableGauge("presence.janitor.expiry.primaries", () => Volatile.Read(ref _subscribedPrimaries), "{node}",
            "Redis primaries the expired-key subscription listens on (1 on a single node; every primary on a cluster).");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var restored = _events.OnSubscriptionRestored(OnSubscriptionRestored);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var resubscribe = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Volatile.Write(ref _resubscribe, resubscribe);
                var subscription = await SubscribeAsync(stoppingToken).ConfigureAwait(false);
                var primaries = _events.Primaries();
                Volatile.Write(ref _subscribedPrimaries, primaries.Count);
                LogSubscribed(_logger, subscription.Channel, primaries.Count);
                try
                {
                    await Task.WhenAll(
                        HandleAsync(subscription, resubscribe.Token),
                        WatchTopologyAsync(primaries, resubscribe.Token)).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The subscription connection came back: subscribe afresh rather than trust it was restored.
                }
                finally
                {
                    Volatile.Write(ref _subscribedPrimaries, 0);
                    await UnsubscribeAsync(subscription).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Follows the primaries while subscribed. A primary that joins the set (a replica promoted after a failover)
    /// gets the keyevent subscription from StackExchange.Redis itself, which extends a keyevent subscription to the
    /// primaries it learns of (unsubscribing and subscribing again instead would fail while the failed primary is
    /// still listed); the worker checks that primary's <c>notify-keyspace-events</c>, as CONFIG SET is not
    /// replicated. While a subscribed primary is unreachable on a cluster, it asks the multiplexer to reload the
    /// topology, so the promoted replica is learnt of without waiting for the periodic reload.
    /// </summary>
    private async Task WatchTopologyAsync(HashSet<string> subscribed, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                // The real clock on purpose, like the resilience timeouts: a test's frozen presence clock must not stop it.
                await Task.Delay(TopologyCheckInterval, ct).ConfigureAwait(false);
                var connected = _events.Primaries(connectedOnly: true);
                Volatile.Write(ref _subscribedPrimaries, connected.Count);
                if (!connected.IsSubsetOf(subscribed))
                {
                    LogTopologyChanged(_logger, string.Join(", ", connected.Except(subscribed)));
                    // From here on the failed primary is no longer waited for (it comes back, if at all, as a replica).
                    subscribed.Clear();
                    subscribed.UnionWith(connected);
                    await EnsureKeyspaceEventsAsync(ct).ConfigureAwait(false);
                }
                else if (!subscribed.IsSubsetOf(connected) && _events.IsCluster)
                {
                    try
                    {
                        await _events.ReloadTopologyAsync(ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
                    {
                        // The next check asks again; the subscription itself is untouched.
                        _metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task EnsureKeyspaceEventsAsync(CancellationToken ct)
    {
        try
        {
            await _setting.EnsureAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
        {
            _metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
            LogEnsureFailed(_logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), ex);
        }
    }

    private async Task HandleAsync(ExpiredKeyEvents.Subscription subscription, CancellationToken ct)
    {
        while (true)
        {
            var expired = await subscription.ReadExpiredKeyAsync(ct).ConfigureAwait(false);
            if (!_lease.IsLeader || expired is not { } key)
            {
                continue;
            }

            try
            {
                await _expiry.HandleExpiredAsync(key, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
            {
                // Lost for now; the retention trim removes the entry by score later.
                _metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
                LogHandleFailed(_logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), ex);
            }
        }
    }

    private static async Task UnsubscribeAsync(ExpiredKeyEvents.Subscription subscription)
    {
        try
        {
            await subscription.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisErrors.IsRedisFailure(ex))
        {
            // Redis is away: the server dropped the subscription with the connection anyway.
        }
    }

    /// <summary>Subscribes, retrying with backoff while Redis is unreachable at start-up.</summary>
    private async Task<ExpiredKeyEvents.Subscription> SubscribeAsync(CancellationToken ct)
    {
        var delay = _options.CurrentValue.SweepInterval;
        while (true)
        {
            try
            {
                await _setting.EnsureAsync(ct).ConfigureAwait(false);
                return await _events.SubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !ct.IsCancellationRequested)
            {
                _metrics.RedisLoopError(RedisLoops.JanitorExpiry, ex);
                LogSubscribeFailed(_logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), delay, ex);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.CurrentValue.MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>
    /// After a reconnect the worker subscribes again (which also re-checks <c>notify-keyspace-events</c>, as a
    /// restarted server forgets a CONFIG SET): StackExchange.Redis was seen not to restore this keyevent
    /// subscription by itself after a server restart.
    /// </summary>
    private void OnSubscriptionRestored()
    {
        try
        {
            Volatile.Read(ref _resubscribe)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That round already ended; the next one subscribes afresh anyway.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening to expired-key events on {Channel} on {Primaries} primaries.")]
    private static partial void LogSubscribed(ILogger logger, string channel, int primaries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check notify-keyspace-events on the new primaries (Redis {ErrorClass}); they are checked again at the next subscription.")]
    private static partial void LogEnsureFailed(ILogger logger, string errorClass, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis primaries changed (new: {Primaries}); checking their expired-key events.")]
    private static partial void LogTopologyChanged(ILogger logger, string primaries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to expired-key events (Redis {ErrorClass}); retrying in {Delay}.")]
    private static partial void LogSubscribeFailed(ILogger logger, string errorClass, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An expired user hash could not be handled (Redis {ErrorClass}); the retention trim will remove its last-seen entry.")]
    private static partial void LogHandleFailed(ILogger logger, string errorClass, Exception exception);

}
