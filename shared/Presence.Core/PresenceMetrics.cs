using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Presence.Core;

/// <summary>
/// The instruments of the shared model on the one <c>Presence</c> meter (docs/architecture.md, "Telemetry"). Services add
/// their own instruments to the same meter; the service is told apart by <c>service.name</c>.
/// </summary>
public sealed class PresenceMetrics
{
    public const string MeterName = "Presence";

    private readonly Counter<long> _heartbeats;
    private readonly Histogram<double> _storeDuration;
    private readonly Counter<long> _redisErrors;

    public PresenceMetrics(IMeterFactory meterFactory, RedisResilience resilience)
    {
        Meter = meterFactory.Create(MeterName);
        _heartbeats = Meter.CreateCounter<long>("presence.heartbeats", "{heartbeat}", "Heartbeats by role, transport and outcome (accepted, throttled, rejected).");
        _storeDuration = Meter.CreateHistogram<double>("presence.store.duration", "s", "Duration of presence store calls to Redis.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        _redisErrors = Meter.CreateCounter<long>("presence.redis.errors", "{error}",
            "Redis calls that failed, were refused by the server or by the open circuit, by class and by store operation or background loop.");
        Meter.CreateObservableGauge("presence.redis.circuit_open", () => resilience.CircuitState is Polly.CircuitBreaker.CircuitState.Open or Polly.CircuitBreaker.CircuitState.Isolated ? 1 : 0,
            description: "1 while the Redis circuit breaker is open.");
    }

    public Meter Meter { get; }

    public void Heartbeat(PresenceRole role, HeartbeatTransport transport, string outcome) =>
        _heartbeats.Add(1, new TagList { { PresenceTags.Role, role.Name() }, { PresenceTags.Transport, transport.Name() }, { PresenceTags.Outcome, outcome } });

    public void StoreCall(string operation, TimeSpan elapsed) =>
        _storeDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(PresenceTags.Operation, operation));

    public void RedisError(string operation, RedisErrorClass errorClass) =>
        _redisErrors.Add(1, new TagList { { PresenceTags.Operation, operation }, { PresenceTags.Class, errorClass.Name() } });

    /// <summary>A background loop (<see cref="RedisLoops"/>) met a Redis failure and carries on after a backoff.</summary>
    public void RedisLoopError(string loop, Exception ex) =>
        _redisErrors.Add(1, new TagList { { PresenceTags.Loop, loop }, { PresenceTags.Class, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name() } });
}

public static class HeartbeatOutcome
{
    public const string Accepted = "accepted";
    public const string Throttled = "throttled";
    public const string Rejected = "rejected";
}
