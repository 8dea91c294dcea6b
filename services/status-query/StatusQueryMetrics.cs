using System.Diagnostics.Metrics;
using Presence.Core;

namespace Presence.StatusQuery;

/// <summary>The service's instruments on the one <c>Presence</c> meter (docs/architecture.md, "Telemetry").</summary>
public sealed class StatusQueryMetrics
{
    private readonly Histogram<double> _boardBuild;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _notModified;
    private readonly Counter<long> _stale;

    public StatusQueryMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(PresenceMetrics.MeterName);
        _boardBuild = Meter.CreateHistogram<double>("presence.board.build.duration", "s", "Duration of board builds from Redis (one per refresh interval at most).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] });
        _cache = Meter.CreateCounter<long>("presence.query.cache", "{request}", "Cacheable reads by resource (board, stats) and result (hit, miss).");
        _notModified = Meter.CreateCounter<long>("presence.query.not_modified", "{response}", "304 answers to If-None-Match by resource.");
        _stale = Meter.CreateCounter<long>("presence.board.stale", "{response}", "Boards served from the last good copy while Redis was unavailable.");
    }

    public Meter Meter { get; }

    public void BoardBuilt(TimeSpan elapsed, string outcome) =>
        _boardBuild.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(PresenceTags.Outcome, outcome));

    public void Cache(string resource, bool hit) =>
        _cache.Add(1, new KeyValuePair<string, object?>(PresenceTags.Resource, resource), new KeyValuePair<string, object?>(PresenceTags.Result, hit ? "hit" : "miss"));

    public void NotModified(string resource) => _notModified.Add(1, new KeyValuePair<string, object?>(PresenceTags.Resource, resource));

    public void StaleAnswer() => _stale.Add(1);
}
