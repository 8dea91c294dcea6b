using Microsoft.Extensions.Options;
using Presence.Core;
using Role = Presence.Core.Role;

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
/// Every kind runs by score in bounded batches, per role, until a batch comes back short or the per-tick bound is hit,
/// so a tick that follows an outage catches up on everything that lapsed meanwhile. Safe from two replicas at once:
/// each settle re-checks the score and a removal returning 1 decides who emits, so nothing is emitted twice.
/// </summary>
internal sealed class Sweeper(
    PresenceStore store,
    PresenceReader reader,
    PresenceEventStream events,
    ConnectionStore connections,
    IOptionsMonitor<JanitorOptions> janitorOptions,
    JanitorMetrics metrics,
    UserCountGauge gauge,
    TimeProvider time)
{
    /// <summary>Runs one tick. Throws <see cref="RedisUnavailableException"/> (or a Redis exception) when Redis fails; the caller backs off.</summary>
    public async Task<SweepReport> SweepOnceAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var o = janitorOptions.CurrentValue;
        long onlineRemoved = 0, transitions = 0, trimmed = 0, recentEnded = 0, lapsed = 0;
        var caughtUp = true;

        // Online first: it is the one a person waits for (the goal is about a second past the window).
        foreach (var role in Roles.All)
        {
            var (_, emitted, done) = await SettleDueAsync(DueIndex.Online, role, o, ct).ConfigureAwait(false);
            onlineRemoved += emitted;
            transitions += emitted;
            caughtUp &= done;
            metrics.Transitions(role, PresenceEventStatus.Recent, JanitorMetrics.KindOnline, emitted);
        }

        var (instances, lostLeft, instancesDone) = await RemoveLapsedInstancesAsync(o, ct).ConfigureAwait(false);
        transitions += lostLeft;
        caughtUp &= instancesDone;
        metrics.Transitions(null, PresenceEventStatus.Recent, JanitorMetrics.KindInstances, lostLeft);

        foreach (var role in Roles.All)
        {
            var (_, ended, recentDone) = await SettleDueAsync(DueIndex.Recent, role, o, ct).ConfigureAwait(false);
            recentEnded += ended;
            transitions += ended;
            caughtUp &= recentDone;
            metrics.Transitions(role, PresenceEventStatus.Offline, JanitorMetrics.KindRecent, ended);

            var (_, expired, availableDone) = await SettleDueAsync(DueIndex.Available, role, o, ct).ConfigureAwait(false);
            lapsed += expired;
            transitions += expired;
            caughtUp &= availableDone;
            metrics.Transitions(role, PresenceReason.Expired, JanitorMetrics.KindAvailable, expired);

            var (trimmedRole, trimDone) = await TrimLastSeenAsync(role, o, ct).ConfigureAwait(false);
            trimmed += trimmedRole;
            caughtUp &= trimDone;
        }

        // Every writer appends with MAXLEN ~ already; this is the backstop for a stream that outgrew a lowered cap.
        foreach (var role in Roles.All)
        {
            await events.TrimAsync(role, ct).ConfigureAwait(false);
        }

        gauge.Publish(await CountAsync(ct).ConfigureAwait(false));

        var report = new SweepReport(onlineRemoved, transitions, trimmed, recentEnded, lapsed, instances, caughtUp);
        metrics.Sweep(time.GetElapsedTime(started), report);
        return report;
    }

    private async Task<(long Due, long Emitted, bool Done)> SettleDueAsync(DueIndex index, Role role, JanitorOptions o, CancellationToken ct)
    {
        long dueCount = 0, emitted = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var due = await store.DueAsync(index, role, o.BatchSize, ct).ConfigureAwait(false);
            // Issued together: one pipelined round trip per batch; each settle is atomic and re-checks its score.
            var settled = await Task.WhenAll(due.Where(UserId.IsValid).Select(id => store.SettleAsync(index, role, id, ct))).ConfigureAwait(false);
            dueCount += due.Length;
            emitted += settled.Count(s => s);
            if (due.Length < o.BatchSize)
            {
                return (dueCount, emitted, true);
            }
        }

        return (dueCount, emitted, false);
    }

    private async Task<(long Trimmed, bool Done)> TrimLastSeenAsync(Role role, JanitorOptions o, CancellationToken ct)
    {
        long trimmed = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var removed = await store.TrimLastSeenAsync(role, o.BatchSize, ct).ConfigureAwait(false);
            trimmed += removed;
            if (removed < o.BatchSize)
            {
                return (trimmed, true);
            }
        }

        return (trimmed, false);
    }

    private async Task<(long Instances, long Left, bool Done)> RemoveLapsedInstancesAsync(JanitorOptions o, CancellationToken ct)
    {
        long instances = 0, left = 0;
        for (var batch = 0; batch < o.MaxBatchesPerTick; batch++)
        {
            var lapsed = await connections.LapsedInstancesAsync(o.BatchSize, ct).ConfigureAwait(false);
            foreach (var instanceId in lapsed)
            {
                left += await connections.RemoveInstanceAsync(instanceId, lost: true, ct).ConfigureAwait(false);
                instances++;
            }

            if (lapsed.Length < o.BatchSize)
            {
                return (instances, left, true);
            }
        }

        return (instances, left, false);
    }

    /// <summary>Bucket counts per role, by score (the reader's counts: online, recent, available only).</summary>
    private async Task<BucketCounts[]> CountAsync(CancellationToken ct)
    {
        var counts = new BucketCounts[Roles.All.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            var role = Roles.All[i];
            var c = await reader.CountAsync(role, ct).ConfigureAwait(false);
            counts[i] = new BucketCounts(role, c.Online, c.Recent, c.Available);
        }

        return counts;
    }
}
