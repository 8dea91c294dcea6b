using System.Diagnostics;
using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>Runs a store script through the resilience pipelines, timing it and counting Redis errors per operation.</summary>
public sealed class ScriptRunner(IConnectionMultiplexer redis, RedisResilience resilience, PresenceMetrics metrics)
{
    /// <remarks>
    /// A pooled state machine (docs/architecture.md, "The steady heartbeat"): the heartbeat's script call allocates no
    /// box for this layer. Await the answer once, as every caller does.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RedisResult> RunAsync(
        string operation, RedisScript script, RedisKey[] keys, RedisValue[] args, bool idempotent, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await resilience.ExecuteAsync(
                static (s, _) => s.script.EvaluateAsync(s.db, s.keys, s.args),
                (script, db: redis.GetDatabase(), keys, args),
                idempotent,
                ct).ConfigureAwait(false);
        }
        catch (RedisUnavailableException ex)
        {
            metrics.RedisError(operation, ex.Class);
            throw;
        }
        finally
        {
            metrics.StoreCall(operation, Stopwatch.GetElapsedTime(started));
        }
    }
}
