using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.RealtimeGateway.Hubs;
using Presence.RealtimeGateway.Watching;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.RealtimeGateway.Pushes;

/// <summary>
/// Reads the roles' event streams as one consumer group shared by all gateway instances (each event is handled by
/// exactly one instance), sends each transition to its watchers' groups through <see cref="IHubContext{THub,T}"/>
/// (the backplane fans it out to the instances holding them), then acknowledges it. Entries left pending by a dead
/// consumer (a killed instance) are claimed after <see cref="GatewayOptions.ReclaimIdle"/> with <c>XAUTOCLAIM</c>.
/// </summary>
/// <remarks>
/// StackExchange.Redis does not issue blocking reads (a <c>BLOCK</c> would stall its one shared connection), so the
/// loop polls, waiting <see cref="GatewayOptions.EventPollDelay"/> after an empty read. Those waits are real time,
/// not the injected clock: they pace I/O, and a test's frozen clock must not stall deliveries. An entry whose send
/// failed stays pending on this consumer and is read again (id 0) before new ones; a malformed entry is logged and
/// acknowledged so that it cannot block the stream.
/// </remarks>
internal sealed partial class PresenceEventConsumer(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    RedisResilience resilience,
    GatewayInstance instance,
    IHubContext<PresenceHub, IPresenceClient> hub,
    GatewayMetrics metrics,
    PresenceMetrics presenceMetrics,
    BackplaneHealth backplane,
    IOptionsMonitor<GatewayOptions> options,
    TimeProvider time,
    ILogger<PresenceEventConsumer> logger) : BackgroundService
{
    private static readonly TimeSpan ErrorDelay = TimeSpan.FromSeconds(1);
    private readonly bool[] _readOwnPending = [.. Roles.All.Select(_ => true)];
    private bool _groupsReady;
    private RedisValue _groupStart = StreamPosition.NewMessages;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Best effort before the host reports started, so no event appended from then on is missed; with Redis
        // down the loop creates the groups once it is back.
        try
        {
            await EnsureGroupsAsync(StreamPosition.NewMessages, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
        {
            LogGroupsNotReady(logger, ex);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastReclaim = Stopwatch.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!backplane.Ready)
                {
                    // Left in the stream until the backplane can carry them: read later, not lost.
                    await Task.Delay(options.CurrentValue.EventPollDelay, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                if (!_groupsReady)
                {
                    await EnsureGroupsAsync(_groupStart, stoppingToken).ConfigureAwait(false);
                }

                var read = await Task.WhenAll(Roles.All.Select(role => ReadAsync(role, stoppingToken))).ConfigureAwait(false);
                var handled = read.Sum();
                if (Stopwatch.GetElapsedTime(lastReclaim) >= options.CurrentValue.ReclaimInterval)
                {
                    lastReclaim = Stopwatch.GetTimestamp();
                    foreach (var role in Roles.All)
                    {
                        handled += await ReclaimAsync(role, stoppingToken).ConfigureAwait(false);
                        await RefreshPendingAsync(role, stoppingToken).ConfigureAwait(false);
                    }
                }

                if (handled == 0)
                {
                    await Task.Delay(options.CurrentValue.EventPollDelay, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // The group vanished with its stream (Redis restarted without persistence): everything in the new
                // stream came after the restart, so the group starts at its beginning and loses none of it.
                LogGroupLost(logger, ex);
                await RecreateGroupsAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogLoopFailed(logger, ex);
                if (RedisErrors.IsRedisFailure(ex))
                {
                    presenceMetrics.RedisLoopError(RedisLoops.GatewayEvents, ex);
                }

                await DelayQuietlyAsync(ErrorDelay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Entries this consumer read but did not get to send (the stop cut a delivery short) are sent now, rather
        // than waiting for another instance to reclaim them after ReclaimIdle; then, with nothing pending, the
        // consumer is forgotten, so dead instance names do not pile up in the group.
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var db = redis.GetDatabase();
            foreach (var role in Roles.All)
            {
                _readOwnPending[(int)role] = true;
                while (_readOwnPending[(int)role] && await ReadAsync(role, drain.Token).ConfigureAwait(false) > 0)
                {
                }

                var pending = await db.StreamPendingMessagesAsync(keys.Events(role), options.CurrentValue.ConsumerGroup, 1, instance.Id).WaitAsync(drain.Token).ConfigureAwait(false);
                if (pending.Length == 0)
                {
                    await db.StreamDeleteConsumerAsync(keys.Events(role), options.CurrentValue.ConsumerGroup, instance.Id).WaitAsync(drain.Token).ConfigureAwait(false);
                }
            }
        }
        // Best effort: the process is stopping, and the multiplexer may already be gone with it.
        catch (Exception ex) when (ex is RedisException or RedisUnavailableException or OperationCanceledException or TimeoutException or ObjectDisposedException)
        {
            LogConsumerNotRemoved(logger, ex);
        }
    }

    private async Task<int> ReadAsync(Role role, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var own = _readOwnPending[(int)role];
        var entries = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamReadGroupAsync(s.key, s.group, s.consumer, s.position, s.count),
            (db: redis.GetDatabase(), key: keys.Events(role), group: (RedisValue)o.ConsumerGroup, consumer: (RedisValue)instance.Id,
                position: own ? StreamPosition.Beginning : StreamPosition.NewMessages, count: o.EventBatchSize),
            idempotent: false, ct).ConfigureAwait(false);
        if (own && entries.Length < o.EventBatchSize)
        {
            _readOwnPending[(int)role] = false;
        }

        if (entries.Length == 0)
        {
            return 0;
        }

        await DeliverAsync(role, entries, ct).ConfigureAwait(false);
        return entries.Length;
    }

    private async Task<int> ReclaimAsync(Role role, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var claimed = 0;
        RedisValue start = "0-0";
        // Bounded per pass; the next pass carries on.
        for (var round = 0; round < 10; round++)
        {
            var result = await resilience.ExecuteAsync(
                static (s, _) => s.db.StreamAutoClaimAsync(s.key, s.group, s.consumer, s.minIdle, s.start, s.count),
                (db: redis.GetDatabase(), key: keys.Events(role), group: (RedisValue)o.ConsumerGroup, consumer: (RedisValue)instance.Id,
                    minIdle: (long)o.ReclaimIdle.TotalMilliseconds, start, count: o.EventBatchSize),
                idempotent: false, ct).ConfigureAwait(false);
            var entries = result.ClaimedEntries.Where(e => !e.IsNull).ToArray();
            if (entries.Length > 0)
            {
                LogReclaimed(logger, entries.Length, role.Name());
                await DeliverAsync(role, entries, ct).ConfigureAwait(false);
                claimed += entries.Length;
            }

            start = result.NextStartId;
            if (start == "0-0")
            {
                break;
            }
        }

        return claimed;
    }

    private async Task DeliverAsync(Role role, StreamEntry[] entries, CancellationToken ct)
    {
        using var activity = GatewayMetrics.ActivitySource.StartActivity("push presence-changed", ActivityKind.Consumer);
        activity?.SetTag("presence.role", role.Name());
        activity?.SetTag("presence.events", entries.Length);
        var events = new List<(RedisValue EntryId, string Id, string Status, long At)>(entries.Length);
        var ack = new List<RedisValue>(entries.Length);
        foreach (var entry in entries)
        {
            if (TryParse(entry, role, out var id, out var status, out var at))
            {
                events.Add((entry.Id, id, status, at));
            }
            else
            {
                LogMalformed(logger, entry.Id.ToString(), role.Name());
                ack.Add(entry.Id);
            }
        }

        if (events.Count > 0)
        {
            var lastActive = await LastActiveAsync(role, events.Select(e => e.Id).ToArray(), ct).ConfigureAwait(false);
            // Issued in stream order on one connection, so watchers see one user's transitions in order.
            var sends = new Task[events.Count];
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                var change = new PresenceChanged
                {
                    Role = role.Name(),
                    Id = e.Id,
                    Status = e.Status,
                    LastActive = DateTimeOffset.FromUnixTimeMilliseconds(lastActive[i] ?? e.At),
                };
                sends[i] = hub.Clients.Groups(Watchers.GroupsFor(role, e.Id)).PresenceChanged(change);
            }

            try
            {
                await Task.WhenAll(sends).ConfigureAwait(false);
            }
            catch
            {
                // Not acknowledged: read again from this consumer's pending entries once the backplane is back.
                _readOwnPending[(int)role] = true;
                throw;
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var e in events)
            {
                metrics.Pushed(role, e.Status, TimeSpan.FromMilliseconds(now - e.At));
                ack.Add(e.EntryId);
            }
        }

        // Sent means done: a stop arriving now must not leave the entries pending on a consumer that is going away.
        var group = options.CurrentValue.ConsumerGroup;
        await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamAcknowledgeAsync(s.key, s.group, s.ids),
            (db: redis.GetDatabase(), key: keys.Events(role), group: (RedisValue)group, ids: ack.ToArray()),
            idempotent: true, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Last activity of each user (the transition time is the fallback: a push is not held back for it).</summary>
    private async Task<long?[]> LastActiveAsync(Role role, string[] ids, CancellationToken ct)
    {
        try
        {
            var scores = await resilience.ExecuteAsync(
                static (s, _) => s.db.SortedSetScoresAsync(s.key, s.members),
                (db: redis.GetDatabase(), key: keys.LastSeen(role), members: ids.Select(id => (RedisValue)id).ToArray()),
                idempotent: true, ct).ConfigureAwait(false);
            return [.. scores.Select(s => s is { } v ? (long?)v : null)];
        }
        catch (RedisUnavailableException)
        {
            return new long?[ids.Length];
        }
    }

    private static bool TryParse(StreamEntry entry, Role role, out string id, out string status, out long at)
    {
        id = entry["id"].ToString();
        status = entry["status"].ToString();
        var atText = entry["at"].ToString();
        var ok = UserId.IsValid(id)
            && entry["role"] == role.Name()
            && status is PresenceEventStatus.Online or PresenceEventStatus.Recent or PresenceEventStatus.Available or PresenceEventStatus.Unavailable
            && long.TryParse(atText, NumberStyles.None, CultureInfo.InvariantCulture, out _);
        at = ok ? long.Parse(atText, CultureInfo.InvariantCulture) : 0;
        return ok;
    }

    private async Task EnsureGroupsAsync(RedisValue position, CancellationToken ct)
    {
        var group = options.CurrentValue.ConsumerGroup;
        foreach (var role in Roles.All)
        {
            try
            {
                await resilience.ExecuteAsync(
                    static (s, _) => s.db.StreamCreateConsumerGroupAsync(s.key, s.group, s.position, createStream: true),
                    (db: redis.GetDatabase(), key: keys.Events(role), group: (RedisValue)group, position),
                    idempotent: true, ct).ConfigureAwait(false);
                LogGroupCreated(logger, group, role.Name(), position.ToString());
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                // Another instance (or an earlier start) created it.
            }
        }

        _groupsReady = true;
    }

    private async Task RecreateGroupsAsync(CancellationToken ct)
    {
        try
        {
            await EnsureGroupsAsync(StreamPosition.Beginning, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisUnavailableException)
        {
            // Retried by the loop, from the start of the stream too.
            _groupStart = StreamPosition.Beginning;
            _groupsReady = false;
            LogGroupsNotReady(logger, ex);
            await DelayQuietlyAsync(ErrorDelay, ct).ConfigureAwait(false);
        }
    }

    private static async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshPendingAsync(Role role, CancellationToken ct)
    {
        var info = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamPendingAsync(s.key, s.group),
            (db: redis.GetDatabase(), key: keys.Events(role), group: (RedisValue)options.CurrentValue.ConsumerGroup),
            idempotent: true, ct).ConfigureAwait(false);
        metrics.Pending(role, info.PendingMessageCount);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group} created on the {Role} event stream at {Position}")]
    private static partial void LogGroupCreated(ILogger logger, string group, string role, string position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event consumer groups not ready; retrying")]
    private static partial void LogGroupsNotReady(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The event consumer group is gone (Redis restarted?); recreating it")]
    private static partial void LogGroupLost(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event consumer loop failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed {Count} {Role} events left pending by a dead consumer")]
    private static partial void LogReclaimed(ILogger logger, int count, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed {Role} event {EntryId} acknowledged without a push")]
    private static partial void LogMalformed(ILogger logger, string entryId, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drain and forget this instance's consumer on shutdown; another instance reclaims what it left")]
    private static partial void LogConsumerNotRemoved(ILogger logger, Exception exception);
}
