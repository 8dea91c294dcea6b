using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Presence.Core.Intervals;

/// <summary>What the policy knows about one accepted heartbeat.</summary>
/// <param name="Visible">False when the client says it is hidden or idle; null (not sent) counts as visible.</param>
/// <param name="Watched">A therapist whom someone watches by id.</param>
/// <param name="LoadFactor">This instance's heartbeat rate over its capacity (1 = at capacity).</param>
public readonly record struct IntervalSignals(bool Visible, bool Watched, double LoadFactor);

/// <summary>
/// The one rule for <c>nextHeartbeatSeconds</c> on REST and the hub (docs/architecture.md, "Adaptive heartbeat
/// interval"): hidden clients beat less often, a visible watched therapist more often, everyone less often past
/// the instance's capacity (with jitter, so a reconnect storm spreads out); always at least a second over the min
/// interval (an obedient client is never refused) and at most a share of the online window (never past the configured
/// interval either way when the windows leave no room) (a late beat still
/// keeps the user online).
/// </summary>
public sealed class HeartbeatIntervalPolicy(
    IOptionsMonitor<PresenceOptions> presence,
    IOptionsMonitor<HeartbeatIntervalOptions> options,
    HeartbeatLoad load,
    WatchedTherapists watched,
    PresenceMetrics metrics,
    Random random)
{
    private readonly Histogram<int> _advertised = metrics.Meter.CreateHistogram<int>(
        "presence.heartbeat.next_interval", "s", "The nextHeartbeatSeconds answered, by role and rule.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [10, 15, 20, 30, 45, 60, 90, 120] });

    /// <summary>Counts the accepted heartbeat towards this instance's load and decides the next interval.</summary>
    public int NextHeartbeatSeconds(PresenceRole role, string userId, bool? visible)
    {
        load.Record();
        var o = options.CurrentValue;
        var signals = new IntervalSignals(
            visible ?? true,
            role == PresenceRole.Therapist && watched.IsWatched(userId),
            load.PerSecond() / o.CapacityPerSecond);
        var seconds = Decide(presence.CurrentValue, o, signals, random.NextDouble());
        _advertised.Record(seconds, new KeyValuePair<string, object?>(PresenceTags.Role, role.Name()),
            new KeyValuePair<string, object?>(PresenceTags.Rule, !signals.Visible ? "hidden" : signals.Watched ? "watched" : "plain"),
            new KeyValuePair<string, object?>(PresenceTags.Shedding, signals.LoadFactor > 1));
        return seconds;
    }

    /// <summary>The rule itself, pure: <paramref name="unitRandom"/> in [0, 1) drives the jitter.</summary>
    public static int Decide(PresenceOptions presence, HeartbeatIntervalOptions o, IntervalSignals signals, double unitRandom)
    {
        var seconds = presence.HeartbeatInterval.TotalSeconds;
        if (!signals.Visible)
        {
            // Hidden wins over watched: a watcher learns nothing sooner from a tab nobody looks at.
            seconds *= o.HiddenFactor;
        }
        else if (signals.Watched)
        {
            seconds *= o.WatchedFactor;
        }

        if (signals.LoadFactor > 1)
        {
            seconds *= Math.Min(o.MaxLoadStretch, signals.LoadFactor);
            seconds *= 1 + (o.JitterShare * ((2 * unitRandom) - 1));
        }

        var configured = presence.HeartbeatInterval.TotalSeconds;
        var min = Math.Min(configured, Math.Ceiling(presence.MinHeartbeatInterval.TotalSeconds) + 1);
        var max = Math.Max(configured, Math.Floor(presence.OnlineWindow.TotalSeconds * o.MaxShareOfOnlineWindow));
        return (int)Math.Clamp(Math.Round(seconds), min, max);
    }
}
