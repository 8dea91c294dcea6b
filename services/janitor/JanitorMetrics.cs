using System.Diagnostics;
using System.Diagnostics.Metrics;
using Presence.Core;
using Presence.Janitor.Sweeping;

namespace Presence.Janitor;

/// <summary>The janitor's instruments, on the one <c>Presence</c> meter (docs/architecture.md, "Telemetry").</summary>
internal sealed class JanitorMetrics
{
    public const string KindOnline = "online";
    public const string KindLastSeen = "lastseen";
    public const string KindRecent = "recent";
    public const string KindAvailable = "available";
    public const string KindInstances = "instances";

    private readonly Histogram<double> _sweepDuration;
    private readonly Histogram<long> _sweepRemoved;
    private readonly Counter<long> _transitions;
    private readonly Counter<long> _expiryEvents;
    private readonly Counter<long> _leaderChanges;
    private readonly Counter<long> _instanceHolds;
    private readonly Counter<long> _onlineHolds;
    private readonly Counter<long> _instanceHeldTicks;
    private readonly Counter<long> _lostSessions;

    private readonly PresenceMetrics _presence;

    public JanitorMetrics(PresenceMetrics presence)
    {
        _presence = presence;
        var meter = presence.Meter;
        _sweepDuration = meter.CreateHistogram<double>("presence.janitor.sweep.duration", "s", "Duration of one sweep tick of the leader.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _sweepRemoved = meter.CreateHistogram<long>("presence.janitor.sweep.removals", "{entry}",
            "Entries one sweep removed, by kind (online, recent, available, lastseen, instances).");
        _transitions = meter.CreateCounter<long>("presence.janitor.transitions", "{transition}",
            "Presence transitions the janitor appended to the event streams, by role, status and source (online, recent, available, instances).");
        _expiryEvents = meter.CreateCounter<long>("presence.janitor.expiry_events", "{event}",
            "Expired user-hash notifications handled by the leader, by role and outcome (removed, active).");
        _leaderChanges = meter.CreateCounter<long>("presence.janitor.leader_changes", "{change}",
            "Leadership changes of this replica (acquired, lost, released).");
        _instanceHolds = meter.CreateCounter<long>("presence.janitor.instance_holds", "{hold}",
            "Times the leader started sweeping again (start, leadership, a gap after a stall) and gave gateways one lease to renew.");
        _onlineHolds = meter.CreateCounter<long>("presence.janitor.online_holds", "{hold}",
            "Times the leader held the online sweep after failing to reach Redis, so clients could land a heartbeat first.");
        _instanceHeldTicks = meter.CreateCounter<long>("presence.janitor.instance_held_ticks", "{tick}",
            "Sweep ticks that left lapsed gateway instances alone while gateways had their lease to renew.");
        _lostSessions = meter.CreateCounter<long>("presence.janitor.lost_sessions", "{session}",
            "Hub sessions of lapsed gateway instances ended (capped per tick by Janitor:MaxLostSessionsPerTick).");
    }

    public void Sweep(TimeSpan elapsed, SweepReport report)
    {
        _sweepDuration.Record(elapsed.TotalSeconds);
        _sweepRemoved.Record(report.OnlineRemoved, new KeyValuePair<string, object?>(PresenceTags.Kind, KindOnline));
        _sweepRemoved.Record(report.LastSeenTrimmed, new KeyValuePair<string, object?>(PresenceTags.Kind, KindLastSeen));
        _sweepRemoved.Record(report.RecentEnded, new KeyValuePair<string, object?>(PresenceTags.Kind, KindRecent));
        _sweepRemoved.Record(report.AvailabilityLapsed, new KeyValuePair<string, object?>(PresenceTags.Kind, KindAvailable));
        _sweepRemoved.Record(report.InstancesRemoved, new KeyValuePair<string, object?>(PresenceTags.Kind, KindInstances));
    }

    /// <summary>Transitions appended; <paramref name="role"/> is null for sign-offs of a lapsed gateway instance (it spans roles).</summary>
    public void Transitions(PresenceRole? role, string status, string source, long count)
    {
        if (count > 0)
        {
            _transitions.Add(count, new TagList { { PresenceTags.Role, role?.Name() }, { PresenceTags.Status, status }, { PresenceTags.Source, source } });
        }
    }

    public void ExpiryEvent(PresenceRole role, bool removed) =>
        _expiryEvents.Add(1, new TagList { { PresenceTags.Role, role.Name() }, { PresenceTags.Outcome, removed ? "removed" : "active" } });

    /// <summary>A janitor loop (<see cref="RedisLoops"/>) met a Redis failure: <c>presence.redis.errors</c> {loop, class}.</summary>
    public void RedisLoopError(string loop, Exception ex) => _presence.RedisLoopError(loop, ex);

    public void InstanceHoldStarted() => _instanceHolds.Add(1);

    public void OnlineHoldStarted() => _onlineHolds.Add(1);

    public void InstanceRemovalHeld() => _instanceHeldTicks.Add(1);

    public void LostSessionsEnded(long count)
    {
        if (count > 0)
        {
            _lostSessions.Add(count);
        }
    }

    public void LeaderChange(string change) => _leaderChanges.Add(1, new KeyValuePair<string, object?>(PresenceTags.Change, change));
}
