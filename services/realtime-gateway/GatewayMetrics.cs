using System.Diagnostics;
using System.Diagnostics.Metrics;
using Presence.Core;

namespace Presence.RealtimeGateway;

/// <summary>
/// The gateway's instruments on the one <c>Presence</c> meter (docs/architecture.md, "Telemetry"), and its activity source.
/// Open hub connections are ASP.NET Core's own <c>signalr.server.active_connections</c> (meter
/// <c>Microsoft.AspNetCore.Http.Connections</c>, exported with the ASP.NET Core instrumentation), not a gauge of ours.
/// </summary>
public sealed class GatewayMetrics
{
    public const string ActivitySourceName = "Presence.RealtimeGateway";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly Counter<long> _messages;
    private readonly Counter<long> _pushes;
    private readonly Counter<long> _stale;
    private readonly Histogram<double> _pushLag;
    private readonly long[] _pending = new long[Roles.All.Count];

    public GatewayMetrics(PresenceMetrics presence)
    {
        var meter = presence.Meter;
        _messages = meter.CreateCounter<long>("presence.hub.messages", "{message}", "Hub invocations by method and outcome (ok, refused, unavailable, failed).");
        _pushes = meter.CreateCounter<long>("presence.hub.pushes", "{event}", "presence-changed events sent to watchers, by role and status.");
        _stale = meter.CreateCounter<long>("presence.hub.pushes.stale", "{event}",
            "Events acknowledged without a push because the user already has a newer version, by role.");
        _pushLag = meter.CreateHistogram<double>("presence.push.lag", "s", "Time from a transition (the event's 'at') to its send to watchers.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge("presence.events.pending", ObservePending, "{event}",
            "Entries of a role's event stream delivered to the gateway consumer group but not yet acknowledged.");
    }

    internal void Message(string method, string outcome) =>
        _messages.Add(1, new TagList { { PresenceTags.Method, method }, { PresenceTags.Outcome, outcome } });

    internal void Pushed(PresenceRole role, string status, TimeSpan lag)
    {
        var tags = new TagList { { PresenceTags.Role, role.Name() }, { PresenceTags.Status, status } };
        _pushes.Add(1, tags);
        _pushLag.Record(Math.Max(0, lag.TotalSeconds), tags);
    }

    internal void DroppedStale(PresenceRole role) => _stale.Add(1, new KeyValuePair<string, object?>(PresenceTags.Role, role.Name()));

    internal void Pending(PresenceRole role, long count) => Interlocked.Exchange(ref _pending[(int)role], count);

    private IEnumerable<Measurement<long>> ObservePending() =>
        Roles.All.Select(role => new Measurement<long>(Interlocked.Read(ref _pending[(int)role]), new KeyValuePair<string, object?>(PresenceTags.Role, role.Name())));
}

internal static class MessageOutcome
{
    public const string Ok = "ok";
    public const string Refused = "refused";
    public const string Unavailable = "unavailable";
    public const string Failed = "failed";
}
