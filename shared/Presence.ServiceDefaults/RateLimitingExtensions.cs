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
        private readonly Func<Writer, TokenBucketRateLimiterOptions> _bucket;

        public WritesPolicy(IOptions<WriteRateLimitOptions> options)
        {
            var o = options.Value;
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.Burst,
                TokensPerPeriod = o.PerMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            };
            _bucket = _ => bucket;
        }

        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (ctx, _) =>
        {
            ctx.HttpContext.Response.SetRetryAfter(ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60));
            await ProblemDetailsExtensions.WriteProblemAsync(ctx.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
                "This client sent too many write requests; retry after the Retry-After delay.").ConfigureAwait(false);
        };

        public RateLimitPartition<Writer> GetPartition(HttpContext httpContext) =>
            RateLimitPartition.GetTokenBucketLimiter(
                httpContext.User.SubjectOf() is { } sub ? new Writer(sub, null) : new Writer(null, httpContext.Connection.RemoteIpAddress),
                _bucket);
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
