using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>Options of the Redis resilience pipelines (section <c>Redis:Resilience</c>).</summary>
public sealed class RedisResilienceOptions
{
    public const string Section = "Redis:Resilience";

    /// <summary>Longest a single Redis call may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Retries of idempotent writes (jittered exponential backoff).</summary>
    public int RetryAttempts { get; set; } = 2;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    public double FailureRatio { get; set; } = 0.5;

    public int MinimumThroughput { get; set; } = 4;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the circuit stays open before one call probes Redis again (half-open); also the <c>Retry-After</c>
    /// clients are given. Short, so the first heartbeat after Redis returns is accepted within about this long.
    /// </summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Redis is unreachable, failing or refusing the command: callers answer 503 with <see cref="RetryAfter"/>.</summary>
public sealed class RedisUnavailableException(TimeSpan retryAfter, RedisErrorClass errorClass, Exception inner)
    : Exception($"Redis is unavailable ({errorClass.Name()}).", inner)
{
    public TimeSpan RetryAfter { get; } = retryAfter;

    /// <summary>What went wrong (<see cref="RedisErrors"/>): the tag of logs and metrics, and the 503's detail.</summary>
    public RedisErrorClass Class { get; } = errorClass;
}

/// <summary>
/// Every Redis call goes through here: a timeout and one circuit breaker shared by all calls of the
/// process, and a jittered retry in front of them for idempotent writes only. A transient failure, and a
/// refusal (<c>OOM</c>, <c>MISCONF</c>, <c>NOPERM</c>: see <see cref="RedisErrors"/>), leave as
/// <see cref="RedisUnavailableException"/>, so hosts map them to a fast 503 and loops back off.
/// </summary>
public sealed class RedisResilience
{
    private readonly ResiliencePipeline _core;
    private readonly ResiliencePipeline _idempotent;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeSpan _breakDuration;

    // Timeouts, backoff and break durations run on the real clock on purpose: the injected TimeProvider is
    // presence time (tests move it to cross windows), and a frozen test clock must not freeze retries.
    public RedisResilience(IOptions<RedisResilienceOptions> options)
    {
        var o = options.Value;
        _breakDuration = o.BreakDuration;
        var transient = new PredicateBuilder().Handle<Exception>(IsTransient);
        _core = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = o.FailureRatio,
                MinimumThroughput = o.MinimumThroughput,
                SamplingDuration = o.SamplingDuration,
                BreakDuration = o.BreakDuration,
                StateProvider = _state,
            })
            .AddTimeout(o.Timeout)
            .Build();
        _idempotent = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => IsTransient(ex) && ex is not BrokenCircuitException),
                MaxRetryAttempts = o.RetryAttempts,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddPipeline(_core)
            .Build();
    }

    public CircuitState CircuitState => _state.CircuitState;

    /// <summary>Runs a Redis call; <paramref name="idempotent"/> calls may be retried.</summary>
    public async ValueTask<T> ExecuteAsync<T, TState>(
        Func<TState, CancellationToken, Task<T>> call, TState state, bool idempotent, CancellationToken ct)
    {
        var pipeline = idempotent ? _idempotent : _core;
        try
        {
            return await pipeline.ExecuteAsync(
                // No async lambda: the pipeline awaits the task itself (one state machine fewer per call).
                static (ctx, token) => new ValueTask<T>(ctx.call(ctx.state, token).WaitAsync(token)),
                (call, state),
                ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RedisUnavailableException && (IsTransient(ex) || RedisErrors.IsRefusal(ex)) && !ct.IsCancellationRequested)
        {
            // A refusal lasts until an operator (or expiring keys) fixes it: callers come back after a break, as for an outage.
            var retryAfter = ex is BrokenCircuitException broken && broken.RetryAfter is { } after ? after : _breakDuration;
            throw new RedisUnavailableException(
                retryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retryAfter, RedisErrors.Classify(ex)!.Value, ex);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            // Not the caller's cancellation: StackExchange.Redis cancels pending commands when the connection is torn
            // down under it (seen with Redis SIGSTOPped, docs/reliability.md "Chaos and soak"). That is an outage of
            // the store, not a reason for a background loop or a request to fail with anything but the outage answer.
            throw new RedisUnavailableException(_breakDuration < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : _breakDuration, RedisErrorClass.Timeout, ex);
        }
    }

    public static bool IsTransient(Exception ex) => ex is not RedisUnavailableException && RedisErrors.IsTransient(ex);

    /// <summary>
    /// Replies a Redis Cluster gives while a primary fails over (docs/architecture.md, "Redis Cluster"): the slot is
    /// not served until a replica takes over (<c>CLUSTERDOWN</c>), or the client's slot map is stale and the
    /// redirect could not be followed (<c>MOVED</c>, <c>ASK</c>). Each clears within the cluster node timeout plus
    /// the election, so they are a 503 with Retry-After, never a 500: <see cref="RedisErrors"/> classes them
    /// <see cref="RedisErrorClass.Failover"/>, with <c>MASTERDOWN</c> and <c>TRYAGAIN</c>.
    /// </summary>
    public static bool IsClusterFailover(RedisServerException ex) => RedisErrors.Classify(ex) is RedisErrorClass.Failover
        && (ex.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            || ex.Message.StartsWith("MOVED ", StringComparison.Ordinal)
            || ex.Message.StartsWith("ASK ", StringComparison.Ordinal));
}
