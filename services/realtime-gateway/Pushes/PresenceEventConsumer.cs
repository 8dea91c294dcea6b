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
            foreach (var role in Roles.All)
            {
                _readOwnPending[(int)role] = true;
                while (_readOwnPending[(int)role] && await ReadAsync(role, drain.Token).ConfigureAwait(false) > 0)
                {
                }

                await stream.RemoveConsumerIfIdleAsync(role, options.CurrentValue.ConsumerGroup, instance.Id, drain.Token).ConfigureAwait(false);
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
        var entries = await stream.ReadAsync(role, o.ConsumerGroup, instance.Id, own, o.EventBatchSize, ct).ConfigureAwait(false);
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
            var (entries, next) = await stream.ClaimAsync(role, o.ConsumerGroup, instance.Id, o.ReclaimIdle, start, o.EventBatchSize, ct).ConfigureAwait(false);
            if (entries.Length > 0)
            {
                LogReclaimed(logger, entries.Length, role.Name());
                await DeliverAsync(role, entries, ct).ConfigureAwait(false);
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

    private async Task DeliverAsync(Role role, StreamedEvent[] entries, CancellationToken ct)
    {
        using var activity = GatewayMetrics.ActivitySource.StartActivity("push presence-changed", ActivityKind.Consumer);
        activity?.SetTag("presence.role", role.Name());
        activity?.SetTag("presence.events", entries.Length);
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
            var current = await CurrentVersionsAsync(role, events, ct).ConfigureAwait(false);
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
                _readOwnPending[(int)role] = true;
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
        await stream.AckAsync(role, options.CurrentValue.ConsumerGroup, [.. ack], CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Each event's user's current version. When it cannot be read the events are pushed as they are (a push is not
    /// held back for it); clients drop stale versions themselves.
    /// </summary>
    private async Task<long[]> CurrentVersionsAsync(Role role, List<(RedisValue EntryId, PresenceEvent Event)> events, CancellationToken ct)
    {
        try
        {
            return await stream.CurrentVersionsAsync(role, [.. events.Select(e => e.Event.Id)], ct).ConfigureAwait(false);
        }
        catch (RedisUnavailableException)
        {
            return new long[events.Count];
        }
    }

    private async Task EnsureGroupsAsync(RedisValue position, CancellationToken ct)
    {
        var group = options.CurrentValue.ConsumerGroup;
        foreach (var role in Roles.All)
        {
            // False when another instance (or an earlier start) created it.
            if (await stream.EnsureGroupAsync(role, group, position, ct).ConfigureAwait(false))
            {
                LogGroupCreated(logger, group, role.Name(), position.ToString());
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
        var group = options.CurrentValue.ConsumerGroup;
        metrics.Pending(role, await stream.PendingCountAsync(role, group, ct).ConfigureAwait(false));
        // Consumers of crashed instances, whose entries were claimed above, leave the group.
        var removed = await stream.RemoveLapsedConsumersAsync(role, group, options.CurrentValue.ReclaimIdle, ct).ConfigureAwait(false);
        if (removed > 0)
        {
            LogConsumersRemoved(logger, removed, role.Name());
        }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} lapsed consumers from the {Role} event group")]
    private static partial void LogConsumersRemoved(ILogger logger, int count, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed {Role} event {EntryId} acknowledged without a push")]
    private static partial void LogMalformed(ILogger logger, string entryId, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drain and forget this instance's consumer on shutdown; another instance reclaims what it left")]
    private static partial void LogConsumerNotRemoved(ILogger logger, Exception exception);
}
