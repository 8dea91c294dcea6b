using Microsoft.Extensions.Options;
using Presence.Core;

namespace Presence.Janitor.Sweeping;

/// <summary>What one sweep tick did.</summary>
/// <param name="OnlineRemoved">Users whose online-until passed and who left (timeout, or the end of the leave grace).</param>
/// <param name="Transitions">Events appended, by every kind of this tick.</param>
/// <param name="LastSeenTrimmed">Last-seen entries older than the retention removed.</param>
/// <param name="RecentEnded">Users whose recent window ended (status offline, reason <c>window-ended</c>).</param>
/// <param name="AvailabilityLapsed">Therapists whose availability lapsed (reason <c>expired</c>).</param>
/// <param name="InstancesRemoved">Gateway instances whose lease lapsed, removed with their sessions.</param>
/// <param name="CaughtUp">False when a kind hit <see cref="JanitorOptions.MaxBatchesPerTick"/>: the next tick goes on.</param>
internal sealed record SweepReport(
    long OnlineRemoved, long Transitions, long LastSeenTrimmed, long RecentEnded, long AvailabilityLapsed, long InstancesRemoved, bool CaughtUp);

/// <summary>
/// One tick of the janitor's work (docs/architecture.md, "Sweeps"): users whose online-until passed leave (reason
/// <c>timeout</c>, or <c>signoff</c> when a leave grace ended), gateway instances whose lease lapsed lose their
/// sessions (<c>lost-instance</c>), recent windows end (<c>window-ended</c>), availability lapses (<c>expired</c>),
/// last-seen entries past the retention are trimmed, the event streams are capped, and the bucket counts are taken.
/// Every kind runs by score in bounded batches, per shard of each role (all shards at once), until a batch comes back short or the per-tick bound is hit,
/// so a tick that follows an outage catches up on everything that lapsed meanwhile. Safe from two replicas at once:
/// each settle re-checks the score and a removal returning 1 decides who emits, so nothing is emitted twice.
/// </summary>
internal sealed class Sweeper(
    PresenceStore store,
    PresenceReader reader,
    PresenceEventStream events,
    PresenceKeys keys,
    ConnectionStore connections,
    IOptionsMonitor<JanitorOptions> janitorOptions,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    JanitorMetrics metrics,
    UserCountGauge gauge,
    RedisOutageWatch outages,
    TimeProvider time)
{
    /// <summary>When the last tick ended well (a <see cref="TimeProvider"/> timestamp; 0: none yet in this process).</summary>
    private long _lastTickEnd;

    /// <summary>Set when a tick starts after a gap; the tick's success starts the hold.</summary>
    private bool _resuming = true;

    /// <summary>Lapsed instances are not removed before this timestamp (docs/reliability.md, "Stalls").</summary>
    private long _instancesHeldUntil = long.MaxValue;

    /// <summary>Whether the last tick held the online sweep (for the metric: counted once per hold).</summary>
    private bool _heldOnline;

    /// <summary>
    /// Whether lapsed online-until scores are left alone for now: for one <see cref="PresenceOptions.HeartbeatInterval"/>
    /// plus one <see cref="PresenceOptions.InstanceLease"/> after this process last failed to reach Redis (away, frozen
    /// or refusing writes). Clients could not land a heartbeat either, so their sessions get that long, once Redis
    /// answers again, to beat before a timeout counts. A gap with Redis fine (this process paused, a new leader) holds
    /// nothing: heartbeats kept landing and the scores are true.
    /// </summary>
    public bool HoldingOnline
    {
        get
        {
            var p = presenceOptions.CurrentValue;
            return outages.Within(p.HeartbeatInterval + p.InstanceLease);
        }
    }

    /// <summary>
    /// Whether lapsed gateway instances are left alone for now: after this replica (re)starts sweeping, or sweeps
    /// again after a gap longer than a gateway's renewal pace (Redis away, this process paused, leadership regained),
    /// gateways get one <see cref="PresenceOptions.InstanceLease"/> to renew before any is taken for dead. The lease
    /// scores were written on the gateways' clocks while this replica could not see them; only renewals seen after the
    /// gap tell a live gateway from a dead one.
    /// </summary>
    public bool HoldingInstances => time.GetTimestamp() < _instancesHeldUntil;

    /// <summary>Runs one tick. Throws <see cref="RedisUnavailableException"/> (or a Redis exception) when Redis fails; the caller backs off.</summary>
    public async Task<SweepReport> SweepOnceAsync(CancellationToken ct)
    {
        try
        {
            return await SweepTickAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && outages.Note(e))
        {
            throw;
        }
    }

    private async Task<SweepReport> SweepTickAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        NoteGap();
        var o = janitorOptions.CurrentValue;
        long transitions = 0, trimmed = 0, recentEnded = 0, lapsed = 0;
        var caughtUp = true;

        // Online first: it is the one a person waits for (the goal is about a second past the window).
        var (onlineRemoved, onlineDone) = await SweepOnlineAsync(o, ct).ConfigureAwait(false);
        transitions += onlineRemoved;
        caughtUp &= onlineDone;

        var (instances, lostLeft, instancesDone) = await RemoveLapsedInstancesAsync(o, ct).ConfigureAwait(false);
        transitions += lostLeft;
        caughtUp &= instancesDone;
        metrics.Transitions(null, PresenceEventStatus.Recent, JanitorMetrics.KindInstances, lostLeft);

        foreach (var role in Roles.All)
        {
            var (ended, recentDone) = await SettleDueAsync(DueIndex.Recent, role, o, ct).ConfigureAwait(false);
            recentEnded += ended;
            transitions += ended;
            caughtUp &= recentDone;
            metrics.Transitions(role, PresenceEventStatus.Offline, JanitorMetrics.KindRecent, ended);

            var (expired, availableDone) = await SettleDueAsync(DueIndex.Available, role, o, ct).ConfigureAwait(false);
            lapsed += expired;
            transitions += expired;
            caughtUp &= availableDone;
            metrics.Transitions(role, PresenceReason.Expired, JanitorMetrics.KindAvailable, expired);

            var (trimmedRole, trimDone) = await InBatchesAsync(
                async shard =>
                {
                    var removed = await store.TrimLastSeenAsync(role, shard, o.BatchSize, ct).ConfigureAwait(false);
                    return (removed, removed);
                },
                o).ConfigureAwait(false);
            trimmed += trimmedRole;
            caughtUp &= trimDone;
        }

        // Every writer appends with MAXLEN ~ already; this is the backstop for a stream that outgrew a lowered cap.
        foreach (var role in Roles.All)
        {
            await ShardFanOut.AllAsync(keys, async shard =>
            {
                await events.TrimAsync(role, shard, ct).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        gauge.Publish(await CountAsync(ct).ConfigureAwait(false));

        var tickEnd = time.GetTimestamp();
        if (_resuming)
        {
            // Redis answered a whole tick: from here, gateways have one lease to renew.
            _resuming = false;
            var lease = presenceOptions.CurrentValue.InstanceLease;
            _instancesHeldUntil = tickEnd + (long)(lease.TotalSeconds * time.TimestampFrequency);
            metrics.InstanceHoldStarted();
        }

        _lastTickEnd = tickEnd;
        var report = new SweepReport(onlineRemoved, transitions, trimmed, recentEnded, lapsed, instances, caughtUp);
        metrics.Sweep(time.GetElapsedTime(started), report);
        return report;
    }

    /// <summary>
    /// Only the online index of every role: users whose online-until passed leave. The worker calls it between whole
    /// ticks when someone's online-until comes before the next tick (<see cref="SweepWorker"/>).
    /// </summary>
    public async Task<(long Removed, bool CaughtUp)> SweepOnlineAsync(CancellationToken ct)
    {
        try
        {
            return await SweepOnlineAsync(janitorOptions.CurrentValue, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && outages.Note(e))
        {
            throw;
        }
    }

    private async Task<(long Removed, bool CaughtUp)> SweepOnlineAsync(JanitorOptions o, CancellationToken ct)
    {
        var hold = HoldingOnline;
        if (hold && !_heldOnline)
        {
            metrics.OnlineHoldStarted();
        }

        _heldOnline = hold;
        if (hold)
        {
            return (0, true);
        }

        long removed = 0;
        var caughtUp = true;
        foreach (var role in Roles.All)
        {
            var (emitted, done) = await SettleDueAsync(DueIndex.Online, role, o, ct).ConfigureAwait(false);
            removed += emitted;
            caughtUp &= done;
            metrics.Transitions(role, PresenceEventStatus.Recent, JanitorMetrics.KindOnline, emitted);
        }

        return (removed, caughtUp);
    }

    /// <summary>Users of the role due in <paramref name="index"/> settled, in batches; how many transitions were emitted.</summary>
    private Task<(long Emitted, bool Done)> SettleDueAsync(DueIndex index, PresenceRole role, JanitorOptions o, CancellationToken ct) =>
        InBatchesAsync(
            async shard =>
            {
                var due = await store.DueAsync(index, role, shard, o.BatchSize, ct).ConfigureAwait(false);
                // Issued together: one pipelined round trip per batch; each settle is atomic and re-checks its score.
                var settled = await Task.WhenAll(due.Where(UserId.IsValid).Select(id => store.SettleAsync(index, role, id, ct))).ConfigureAwait(false);
                return (due.Length, settled.Count(s => s));
            },
            o);

    /// <summary>
    /// The sweep's one batch loop (docs/architecture.md, "Sweeps over shards"): every shard at once, each repeating
    /// <paramref name="batch"/> until one takes fewer than <see cref="JanitorOptions.BatchSize"/> members (caught up) or
    /// <see cref="JanitorOptions.MaxBatchesPerTick"/> is reached (the next tick goes on). A batch returns the members it
    /// took and what it counted; the counts of every batch and shard are summed.
    /// </summary>
    private async Task<(long Counted, bool Done)> InBatchesAsync(Func<int, Task<(long Taken, long Counted)>> batch, JanitorOptions o)
    {
        var shards = await ShardFanOut.AllAsync(keys, async shard =>
        {
            long counted = 0;
            for (var i = 0; i < o.MaxBatchesPerTick; i++)
            {
                var (taken, count) = await batch(shard).ConfigureAwait(false);
                counted += count;
                if (taken < o.BatchSize)
                {
                    return (counted, true);
                }
            }

            return (counted, false);
        }).ConfigureAwait(false);
        return (shards.Sum(s => s.Item1), shards.All(s => s.Item2));
    }

    /// <summary>A gap since the last good tick (also one that opened inside this tick: a stall mid-tick) starts a new hold.</summary>
    private void NoteGap()
    {
        if (_lastTickEnd == 0 || time.GetElapsedTime(_lastTickEnd) > connections.LapseMargin)
        {
            _resuming = true;
            _instancesHeldUntil = long.MaxValue;
        }
    }

    private async Task<(long Instances, long Left, bool Done)> RemoveLapsedInstancesAsync(JanitorOptions o, CancellationToken ct)
    {
        NoteGap();
        if (time.GetTimestamp() < _instancesHeldUntil)
        {
            metrics.InstanceRemovalHeld();
            return (0, 0, true);
        }

        // One cap for every lapsed instance together, so a dead gateway with many sessions costs each tick at most this
        // much and the online sweep of the next tick is never later than one tick (docs/reliability.md, "Bounded cleanup").
        long instances = 0, left = 0;
        var budget = o.MaxLostSessionsPerTick;
        var lapsed = await connections.LapsedInstancesAsync(o.BatchSize, ct).ConfigureAwait(false);
        foreach (var instanceId in lapsed)
        {
            if (budget <= 0)
            {
                return (instances, left, false);
            }

            var (userLeft, ended, done) = await connections.RemoveLapsedInstanceAsync(instanceId, budget, ct).ConfigureAwait(false);
            metrics.LostSessionsEnded(ended);
            budget -= ended;
            left += userLeft;
            if (!done)
            {
                return (instances, left, false);
            }

            instances++;
        }

        return (instances, left, lapsed.Length < o.BatchSize);
    }

    /// <summary>Bucket counts per role, by score: the reader's counts, as the stats endpoint answers them.</summary>
    private async Task<RoleCounts[]> CountAsync(CancellationToken ct)
    {
        var counts = new RoleCounts[Roles.All.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = new RoleCounts(Roles.All[i], await reader.CountAsync(Roles.All[i], ct).ConfigureAwait(false));
        }

        return counts;
    }
}
