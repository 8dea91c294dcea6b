using StackExchange.Redis;

namespace Presence.Core;

/// <summary>Runs a store script through the resilience pipelines, timing it and counting Redis errors per operation.</summary>
public sealed class ScriptRunner(IConnectionMultiplexer redis, RedisResilience resilience, PresenceMetrics metrics)
{
    /// <remarks>
    /// No async layer of its own (docs/architecture.md, "The steady heartbeat"): the resilience call times it and
    /// counts its outage answers. Await the answer once, as every caller does.
    /// </remarks>
    public ValueTask<RedisResult> RunAsync(
        string operation, RedisScript script, RedisKey[] keys, RedisValue[] args, bool idempotent, CancellationToken ct) =>
        resilience.ExecuteAsync(
            static (s, _) => s.script.EvaluateAsync(s.db, s.keys, s.args),
            (script, db: redis.GetDatabase(), keys, args),
            idempotent,
            new RedisCallTiming(metrics, operation),
            ct);
}
