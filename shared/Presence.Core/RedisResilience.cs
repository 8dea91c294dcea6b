using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
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
    private readonly ResiliencePipeline _breaker;
    private readonly ResiliencePipeline _core;
    private readonly ResiliencePipeline _idempotent;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeSpan _breakDuration;
    private readonly TimeSpan _timeout;

    // Timeouts, backoff and break durations run on the real clock on purpose: the injected TimeProvider is
    // presence time (tests move it to cross windows), and a frozen test clock must not freeze retries.
    public RedisResilience(IOptions<RedisResilienceOptions> options)
    {
        var o = options.Value;
        _breakDuration = o.BreakDuration;
        _timeout = o.Timeout;
        var transient = new PredicateBuilder().Handle<Exception>(IsTransient);
        // The breaker is a pipeline of its own so that a call run beside the pipeline can hand it its outcome without
        // a timeout around the hand-over; _core is the breaker around the timeout, as one pipeline.
        _breaker = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = o.FailureRatio,
                MinimumThroughput = o.MinimumThroughput,
                SamplingDuration = o.SamplingDuration,
                BreakDuration = o.BreakDuration,
                StateProvider = _state,
            })
            .Build();
        _core = new ResiliencePipelineBuilder()
            .AddPipeline(_breaker)
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
    public ValueTask<T> ExecuteAsync<T, TState>(
        Func<TState, CancellationToken, Task<T>> call, TState state, bool idempotent, CancellationToken ct) =>
        ExecuteAsync(call, state, idempotent, default, ct);

    /// <summary>Runs a Redis call, timed and its outage answers counted by <paramref name="timing"/>.</summary>
    /// <remarks>
    /// A call that is not retried, made while the breaker is closed (the steady state), runs without the pipeline
    /// (docs/architecture.md, "Failure behaviour"): the same timeout around it, and its outcome handed to the breaker
    /// afterwards through a synchronous pass of the breaker, so it counts exactly what it would have counted. Every
    /// other call (retried, breaker open, half-open or isolated) goes through the pipeline. The timing is done here
    /// rather than in an async method around this one: one state machine per call instead of two.
    /// </remarks>
    public ValueTask<T> ExecuteAsync<T, TState>(
        Func<TState, CancellationToken, Task<T>> call, TState state, bool idempotent, RedisCallTiming timing, CancellationToken ct) =>
        !idempotent && _state.CircuitState == CircuitState.Closed
            ? ExecuteClosedAsync(call, state, timing, ct)
            : ExecutePipelineAsync(call, state, idempotent ? _idempotent : _core, timing, ct);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> ExecutePipelineAsync<T, TState>(
        Func<TState, CancellationToken, Task<T>> call, TState state, ResiliencePipeline pipeline, RedisCallTiming timing, CancellationToken ct)
    {
        var started = timing.Start();
        try
        {
            return await pipeline.ExecuteAsync(
                // No async lambda: the pipeline awaits the task itself (one state machine fewer per call).
                static (ctx, token) => new ValueTask<T>(ctx.call(ctx.state, token).WaitAsync(token)),
                (call, state),
                ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unavailable(ex, ct) is { } unavailable)
        {
            timing.Failed(unavailable);
            throw unavailable;
        }
        finally
        {
            timing.Done(started);
        }
    }

    /// <summary>
    /// The call without the pipeline's async layers (five state machines per call): the pipeline's timeout as a
    /// <see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>, then the outcome recorded in the breaker.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> ExecuteClosedAsync<T, TState>(
        Func<TState, CancellationToken, Task<T>> call, TState state, RedisCallTiming timing, CancellationToken ct)
    {
        var started = timing.Start();
        Task<T>? task = null;
        T result;
        try
        {
            task = call(state, ct);
            result = await task.WaitAsync(_timeout, ct).ConfigureAwait(false);
        }
        catch (Exception caught)
        {
            var ex = Record(AsPipelineException(caught, task));
            if (Unavailable(ex, ct) is { } unavailable)
            {
                timing.Failed(unavailable);
                throw unavailable;
            }

            if (ReferenceEquals(ex, caught))
            {
                throw;
            }

            throw ex;
        }
        finally
        {
            timing.Done(started);
        }

        RecordSuccess();
        return result;
    }

    /// <summary>What the pipeline would have thrown: its timeout leaves as <see cref="TimeoutRejectedException"/>.</summary>
    private Exception AsPipelineException(Exception caught, Task? task) =>
        caught is TimeoutException && task is not null && !(task.IsFaulted && ReferenceEquals(task.Exception?.InnerException, caught))
            ? new TimeoutRejectedException($"The operation didn't complete within the allowed timeout of '{_timeout}'.", _timeout, caught)
            : caught;

    /// <summary>
    /// Hands a call's exception to the breaker (a synchronous pass of the breaker that throws it: the breaker's own
    /// predicate decides whether it counts as a failure) and returns it.
    /// </summary>
    private Exception Record(Exception ex)
    {
        try
        {
            _breaker.Execute(static failure => ExceptionDispatchInfo.Throw(failure), ex);
        }
        catch (Exception recorded) when (ReferenceEquals(recorded, ex) || recorded is BrokenCircuitException)
        {
            // Thrown back as recorded; or the breaker opened meanwhile (as for a call the pipeline had let in): the
            // call's own failure stands.
        }

        return ex;
    }

    /// <summary>Hands a call's success to the breaker while it is closed (open, it ignores successes).</summary>
    private void RecordSuccess()
    {
        if (_state.CircuitState == CircuitState.Closed)
        {
            try
            {
                _breaker.Execute(static () => { });
            }
            catch (BrokenCircuitException)
            {
                // Opened between the check and the pass: a success is ignored by an open breaker anyway.
            }
        }
    }

    /// <summary>The outage answer for a Redis failure, or null when the exception should leave as it is.</summary>
    private RedisUnavailableException? Unavailable(Exception ex, CancellationToken ct)
    {
        if (ex is RedisUnavailableException || ct.IsCancellationRequested)
        {
            return null;
        }

        if (IsTransient(ex) || RedisErrors.IsRefusal(ex))
        {
            // A refusal lasts until an operator (or expiring keys) fixes it: callers come back after a break, as for an outage.
            var retryAfter = ex is BrokenCircuitException broken && broken.RetryAfter is { } after ? after : _breakDuration;
            return new RedisUnavailableException(AtLeastOneSecond(retryAfter), RedisErrors.Classify(ex)!.Value, ex);
        }

        // Not the caller's cancellation: StackExchange.Redis cancels pending commands when the connection is torn
        // down under it (seen with Redis SIGSTOPped, docs/reliability.md "Chaos and soak"). That is an outage of
        // the store, not a reason for a background loop or a request to fail with anything but the outage answer.
        return ex is OperationCanceledException ? new RedisUnavailableException(AtLeastOneSecond(_breakDuration), RedisErrorClass.Timeout, ex) : null;
    }

    private static TimeSpan AtLeastOneSecond(TimeSpan retryAfter) => retryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retryAfter;

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

/// <summary>Who times a Redis call and counts its outage answers, by store operation; the default times nothing.</summary>
public readonly record struct RedisCallTiming(PresenceMetrics? Metrics, string Operation)
{
    internal long Start() => Metrics is null ? 0 : Stopwatch.GetTimestamp();

    internal void Failed(RedisUnavailableException ex) => Metrics?.RedisError(Operation, ex.Class);

    internal void Done(long started) => Metrics?.StoreCall(Operation, Stopwatch.GetElapsedTime(started));
}
