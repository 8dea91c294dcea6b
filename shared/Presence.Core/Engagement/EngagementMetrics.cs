using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Presence.Core.Engagement;

/// <summary>The engagement instruments, on the one <c>Presence</c> meter (docs/architecture.md, "Watchlists and notifications").</summary>
public sealed class EngagementMetrics
{
    public const string ActivitySourceName = "Presence.Engagement";

    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly Counter<long> _watchlistWrites;
    private readonly Counter<long> _notifications;
    private readonly Counter<long> _analyticsEvents;
    private readonly Histogram<double> _sessionLength;
    private readonly Histogram<double> _timeToAvailable;

    public EngagementMetrics(PresenceMetrics metrics)
    {
        Meter = metrics.Meter;
        _watchlistWrites = Meter.CreateCounter<long>("presence.watchlist.writes", "{write}", "Watchlist replacements by community users.");
        _notifications = Meter.CreateCounter<long>("presence.notifications", "{notification}",
            "Preferred-therapist notifications by channel (hub, webhook) and outcome (delivered, cooldown, retried, dead-lettered, unlisted).");
        _analyticsEvents = Meter.CreateCounter<long>("presence.analytics.events", "{event}", "State events folded into analytics, by role and outcome (folded, duplicate).");
        InstrumentAdvice<double> minutes = new() { HistogramBucketBoundaries = [60, 300, 900, 1800, 3600, 7200, 14400] };
        _sessionLength = Meter.CreateHistogram<double>("presence.analytics.session.duration", "s", "Length of ended sessions, by role (as folded).", advice: minutes);
        _timeToAvailable = Meter.CreateHistogram<double>("presence.analytics.time_to_available", "s",
            "From a community user coming online to a therapist being available (0 when one already was).", advice: minutes);
    }

    public Meter Meter { get; }

    public void WatchlistWritten() => _watchlistWrites.Add(1);

    public void Notification(string channel, string outcome) =>
        _notifications.Add(1, new TagList { { PresenceTags.Channel, channel }, { PresenceTags.Outcome, outcome } });

    public void SessionEnded(string role, TimeSpan length) =>
        _sessionLength.Record(length.TotalSeconds, new KeyValuePair<string, object?>(PresenceTags.Role, role));

    public void WaitedForAvailable(TimeSpan wait) => _timeToAvailable.Record(wait.TotalSeconds);

    public void AnalyticsEvent(string role, string outcome) =>
        _analyticsEvents.Add(1, new TagList { { PresenceTags.Role, role }, { PresenceTags.Outcome, outcome } });
}
