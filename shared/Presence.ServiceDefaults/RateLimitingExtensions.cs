using System.Diagnostics;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Presence.ServiceDefaults;

/// <summary>The per-writer token bucket of REST writes (policy <see cref="Extensions.WritesRateLimitPolicy"/>).</summary>
public static class RateLimitingExtensions
{
    public static void AddWriteRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<WriteRateLimitOptions>().BindConfiguration(WriteRateLimitOptions.Section)
            .Validate(o => o.PerMinute > 0 && o.Burst > 0, "RateLimiting:Writes:PerMinute and Burst must be positive.")
            .ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy<Writer, WritesPolicy>(Extensions.WritesRateLimitPolicy);
        });
    }

    /// <summary>A writer: the token's user when authenticated, else the client address (no string is built per request).</summary>
    private readonly record struct Writer(string? User, IPAddress? Address);

    /// <summary>One noisy client cannot starve the others: a bucket per <see cref="Writer"/>, options read once.</summary>
    private sealed class WritesPolicy : IRateLimiterPolicy<Writer>
    {
        private readonly Func<Writer, RateLimiter> _bucket;

        public WritesPolicy(IOptions<WriteRateLimitOptions> options)
        {
            var o = options.Value;
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.Burst,
                TokensPerPeriod = o.PerMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = false,
            };
            _bucket = _ => new LazyTokenBucketLimiter(bucket);
        }

        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (ctx, _) =>
        {
            ctx.HttpContext.Response.SetRetryAfter(ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60));
            await ProblemDetailsExtensions.WriteProblemAsync(ctx.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
                "This client sent too many write requests; retry after the Retry-After delay.").ConfigureAwait(false);
        };

        public RateLimitPartition<Writer> GetPartition(HttpContext httpContext) =>
            RateLimitPartition.Get(
                httpContext.User.SubjectOf() is { } sub ? new Writer(sub, null) : new Writer(null, httpContext.Connection.RemoteIpAddress),
                _bucket);
    }
}

/// <summary>
/// A token bucket refilled when it is asked (<see cref="TokenBucketRateLimiter"/> without auto-replenishment, which
/// adds tokens for the time elapsed), not by the partitioned limiter's 100 ms timer: that timer replenished every
/// partition under its lock ten times a second, one per writer seen in the idle window (a tenth of heartbeat-api's
/// CPU samples under load, docs/benchmarks.md). It is idle, and may be dropped by the partitioned limiter, from the
/// moment it is full again, which it computes from the tokens it handed out: each takes one refill interval to come
/// back (docs/architecture.md, "Service defaults").
/// </summary>
public sealed class LazyTokenBucketLimiter : RateLimiter
{
    private readonly TokenBucketRateLimiter _bucket;
    private readonly long _ticksPerToken;
    private readonly Lock _gate = new();
    private long _fullAt;

    public LazyTokenBucketLimiter(TokenBucketRateLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AutoReplenishment)
        {
            throw new ArgumentException("The bucket is replenished when asked: AutoReplenishment must be false.", nameof(options));
        }

        _bucket = new TokenBucketRateLimiter(options);
        // Stopwatch ticks for one token to come back, at least one.
        _ticksPerToken = Math.Max(1, (long)(options.ReplenishmentPeriod.TotalSeconds * Stopwatch.Frequency / options.TokensPerPeriod));
        _fullAt = Stopwatch.GetTimestamp();
    }

    public override TimeSpan? IdleDuration
    {
        get
        {
            var now = Stopwatch.GetTimestamp();
            // Written under the lock (a read-modify-write), read without it.
            var fullAt = Interlocked.Read(ref _fullAt);
            return now > fullAt ? Stopwatch.GetElapsedTime(fullAt, now) : null;
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        _bucket.TryReplenish();
        return _bucket.GetStatistics();
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        _bucket.TryReplenish();
        return Count(_bucket.AttemptAcquire(permitCount), permitCount);
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        _bucket.TryReplenish();
        var lease = _bucket.AcquireAsync(permitCount, cancellationToken);
        return lease.IsCompletedSuccessfully ? ValueTask.FromResult(Count(lease.Result, permitCount)) : CountAsync(lease, permitCount);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bucket.Dispose();
        }

        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore() => _bucket.DisposeAsync();

    private async ValueTask<RateLimitLease> CountAsync(ValueTask<RateLimitLease> lease, int permitCount) =>
        Count(await lease.ConfigureAwait(false), permitCount);

    /// <summary>Tokens handed out push the moment the bucket is full again: one refill interval each, from now or later.</summary>
    private RateLimitLease Count(RateLimitLease lease, int permitCount)
    {
        if (lease.IsAcquired && permitCount > 0)
        {
            var now = Stopwatch.GetTimestamp();
            lock (_gate)
            {
                _fullAt = Math.Max(_fullAt, now) + (permitCount * _ticksPerToken);
            }
        }

        return lease;
    }
}

public sealed class WriteRateLimitOptions
{
    public const string Section = "RateLimiting:Writes";

    /// <summary>Sustained write requests per user (or client address) per minute.</summary>
    public int PerMinute { get; set; } = 30;

    /// <summary>Requests allowed in a burst before the sustained rate applies.</summary>
    public int Burst { get; set; } = 10;
}
