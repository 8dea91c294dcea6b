using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.RealtimeGateway.Hubs;
using Presence.RealtimeGateway.Watching;
using StackExchange.Redis;

namespace Presence.RealtimeGateway.Pushes;

/// <summary>
/// Reads every shard's event stream of every role as one consumer group shared by all gateway instances (each event is handled by
/// exactly one instance), sends each state event to its watchers' groups through <see cref="IHubContext{THub,T}"/>
/// (the backplane fans it out to the instances holding them), then acknowledges it. Entries left pending by a dead
/// consumer (a killed instance) are claimed after <see cref="GatewayOptions.ReclaimIdle"/>, and the dead consumer is
/// then removed from the group. An event older than the user's current version is acknowledged without a push: a
/// newer one exists and is (or was) pushed, so a reclaimed entry never overwrites a newer state (docs/architecture.md,
/// "Order").
/// </summary>
/// <remarks>
/// StackExchange.Redis does not issue blocking reads (a <c>BLOCK</c> would stall its one shared connection), so the
/// loop polls, waiting <see cref="GatewayOptions.EventPollDelay"/> after an empty read. Those waits are real time,
/// not the injected clock: they pace I/O, and a test's frozen clock must not stall deliveries. An entry whose send
/// failed stays pending on this consumer and is read again (id 0) before new ones; a malformed entry is logged and
/// acknowledged so that it cannot block the stream.
/// </remarks>
internal sealed partial class PresenceEventConsumer(
    PresenceEventStream stream,
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
    // Every (role, shard) stream, from the one Core list (docs/architecture.md, "Event streams").
    private readonly (PresenceRole Role, int Shard)[] _streams = [.. Roles.All.SelectMany(r => stream.Streams(r).Select(s => (r, s.Shard)))];
    private bool[]? _ownPending;
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

                // One XREADGROUP per shard stream (a stream is one slot), all issued at once: pipelined to every node.
                var read = await Task.WhenAll(Enumerable.Range(0, _streams.Length).Select(i => ReadAsync(i, stoppingToken))).ConfigureAwait(false);
                var handled = read.Sum();
                if (Stopwatch.GetElapsedTime(lastReclaim) >= options.CurrentValue.ReclaimInterval)
                {
                    lastReclaim = Stopwatch.GetTimestamp();
                    var reclaimed = await Task.WhenAll(Enumerable.Range(0, _streams.Length).Select(i => ReclaimAsync(i, stoppingToken))).ConfigureAwait(false);
                    handled += reclaimed.Sum();
                    await RefreshPendingAsync(stoppingToken).ConfigureAwait(false);
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
            await Task.WhenAll(Enumerable.Range(0, _streams.Length).Select(async i =>
            {
                OwnPending[i] = true;
                while (OwnPending[i] && await ReadAsync(i, drain.Token).ConfigureAwait(false) > 0)
                {
                }

                var (role, shard) = _streams[i];
                await stream.RemoveConsumerIfIdleAsync(role, shard, options.CurrentValue.ConsumerGroup, instance.Id, drain.Token).ConfigureAwait(false);
            })).ConfigureAwait(false);
        }
        // Best effort: the process is stopping, and the multiplexer may already be gone with it.
        catch (Exception ex) when (ex is RedisException or RedisUnavailableException or OperationCanceledException or TimeoutException or ObjectDisposedException)
        {
            LogConsumerNotRemoved(logger, ex);
        }
    }

    /// <summary>Per stream: read this consumer's own pending entries first (after a start or a failed send).</summary>
    private bool[] OwnPending => _ownPending ??= [.. _streams.Select(_ => true)];

    private async Task<int> ReadAsync(int index, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var (role, shard) = _streams[index];
        var own = OwnPending[index];
        var entries = await stream.ReadAsync(role, shard, o.ConsumerGroup, instance.Id, own, o.EventBatchSize, ct).ConfigureAwait(false);
        if (own && entries.Length < o.EventBatchSize)
        {
            OwnPending[index] = false;
        }

        if (entries.Length == 0)
        {
            return 0;
        }

        await DeliverAsync(index, entries, ct).ConfigureAwait(false);
        return entries.Length;
    }

    private async Task<int> ReclaimAsync(int index, CancellationToken ct)
    {
        var (role, shard) = _streams[index];
        var o = options.CurrentValue;
        var claimed = 0;
        RedisValue start = "0-0";
        // Bounded per pass; the next pass carries on.
        for (var round = 0; round < 10; round++)
        {
            var (entries, next) = await stream.ClaimAsync(role, shard, o.ConsumerGroup, instance.Id, o.ReclaimIdle, start, o.EventBatchSize, ct).ConfigureAwait(false);
            if (entries.Length > 0)
            {
                LogReclaimed(logger, entries.Length, role.Name());
                await DeliverAsync(index, entries, ct).ConfigureAwait(false);
                claimed += entries.Length;
            }

            start = next;
            if (start == "0-0")
            {
                break;
            }
        }

        return claimed;
    }

    private async Task DeliverAsync(int index, StreamedEvent[] entries, CancellationToken ct)
    {
        var (role, shard) = _streams[index];
        using var activity = GatewayMetrics.ActivitySource.StartActivity("push presence-changed", ActivityKind.Consumer);
        activity?.SetTag(PresenceTags.Role, role.Name());
        activity?.SetTag(PresenceTags.Events, entries.Length);
        var events = new List<(RedisValue EntryId, PresenceEvent Event)>(entries.Length);
        var ack = new List<RedisValue>(entries.Length);
        foreach (var entry in entries)
        {
            if (entry.Event is { } e)
            {
                events.Add((entry.EntryId, e));
            }
            else
            {
                LogMalformed(logger, entry.EntryId.ToString(), role.Name());
                ack.Add(entry.EntryId);
            }
        }

        if (events.Count > 0)
        {
            var current = await CurrentVersionsAsync(role, shard, events, ct).ConfigureAwait(false);
            // Issued in stream order on one connection, so watchers see one user's events in order.
            var sends = new List<Task>(events.Count);
            var sent = new List<(RedisValue EntryId, PresenceEvent Event)>(events.Count);
            for (var i = 0; i < events.Count; i++)
            {
                var (entryId, e) = events[i];
                if (e.Ver < current[i])
                {
                    metrics.DroppedStale(role);
                    ack.Add(entryId);
                    continue;
                }

                sends.Add(hub.Clients.Groups(Watchers.GroupsFor(role, e.Id)).PresenceChanged(PresenceChanged.From(e)));
                sent.Add(events[i]);
            }

            try
            {
                await Task.WhenAll(sends).ConfigureAwait(false);
            }
            catch
            {
                // Not acknowledged: read again from this consumer's pending entries once the backplane is back.
                OwnPending[index] = true;
                throw;
            }

            var now = time.GetUtcNow();
            foreach (var (entryId, e) in sent)
            {
                metrics.Pushed(role, e.Status, now - e.At);
                ack.Add(entryId);
            }
        }

        // Sent means done: a stop arriving now must not leave the entries pending on a consumer that is going away.
        await stream.AckAsync(role, shard, options.CurrentValue.ConsumerGroup, [.. ack], CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Each event's user's current version. When it cannot be read the events are pushed as they are (a push is not
    /// held back for it); clients drop stale versions themselves.
    /// </summary>
    private async Task<long[]> CurrentVersionsAsync(PresenceRole role, int shard, List<(RedisValue EntryId, PresenceEvent Event)> events, CancellationToken ct)
    {
        try
        {
            return await stream.CurrentVersionsAsync(role, shard, [.. events.Select(e => e.Event.Id)], ct).ConfigureAwait(false);
        }
        catch (RedisUnavailableException)
        {
            return new long[events.Count];
        }
    }

    private async Task EnsureGroupsAsync(RedisValue position, CancellationToken ct)
    {
        var group = options.CurrentValue.ConsumerGroup;
        var created = await Task.WhenAll(_streams.Select(s => stream.EnsureGroupAsync(s.Role, s.Shard, group, position, ct))).ConfigureAwait(false);
        // False when another instance (or an earlier start) created it.
        foreach (var role in Roles.All)
        {
            var count = _streams.Where((s, i) => s.Role == role && created[i]).Count();
            if (count > 0)
            {
                LogGroupCreated(logger, group, count, role.Name(), position.ToString());
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

    private async Task RefreshPendingAsync(CancellationToken ct)
    {
        var group = options.CurrentValue.ConsumerGroup;
        var pending = await Task.WhenAll(_streams.Select(s => stream.PendingCountAsync(s.Role, s.Shard, group, ct))).ConfigureAwait(false);
        // Consumers of crashed instances, whose entries were claimed above, leave the group.
        var removed = await Task.WhenAll(_streams.Select(s => stream.RemoveLapsedConsumersAsync(s.Role, s.Shard, group, options.CurrentValue.ReclaimIdle, ct))).ConfigureAwait(false);
        foreach (var role in Roles.All)
        {
            metrics.Pending(role, pending.Where((_, i) => _streams[i].Role == role).Sum());
            var removedOfRole = removed.Where((_, i) => _streams[i].Role == role).Sum();
            if (removedOfRole > 0)
            {
                LogConsumersRemoved(logger, removedOfRole, role.Name());
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer group {Group} created on {Count} {Role} shard event streams at {Position}")]
    private static partial void LogGroupCreated(ILogger logger, string group, int count, string role, string position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event consumer groups not ready; retrying")]
    private static partial void LogGroupsNotReady(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The event consumer group is gone (Redis restarted?); recreating it")]
    private static partial void LogGroupLost(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event consumer loop failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed {Count} {Role} events left pending by a dead consumer")]
    private static partial void LogReclaimed(ILogger logger, int count, string role);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} lapsed consumers from the {Role} event group")]
    private static partial void LogConsumersRemoved(ILogger logger, int count, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed {Role} event {EntryId} acknowledged without a push")]
    private static partial void LogMalformed(ILogger logger, string entryId, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drain and forget this instance's consumer on shutdown; another instance reclaims what it left")]
    private static partial void LogConsumerNotRemoved(ILogger logger, Exception exception);
}
