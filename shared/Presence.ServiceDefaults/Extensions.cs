using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Presence.ServiceDefaults;

/// <summary>
/// What every Presence host calls once, by concern: telemetry (<see cref="TelemetryExtensions"/>), the Redis
/// connection (<see cref="RedisConnectionExtensions"/>), health, problem details, authentication
/// (<see cref="AuthenticationExtensions"/>) and write rate limits (<see cref="RateLimitingExtensions"/>). Each service
/// registers Presence.Core itself.
/// </summary>
public static class Extensions
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";
    public const string HealthLivePath = "/health/live";
    public const string HealthReadyPath = "/health/ready";
    public const string WritesRateLimitPolicy = "writes";
    public const string RedisHealthCheckName = "redis";
    public const string DrainingHealthCheckName = "draining";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.AddPresenceTelemetry();
        builder.Services.AddPresenceRedis();
        // Liveness never depends on Redis: restarting a pod cannot fix a Redis outage. Readiness fits the failure
        // (docs/operations.md, "Readiness"): with Redis down every endpoint still answers correctly, a fast 503
        // problem with Retry-After or a stale board, so Redis down is Degraded (HTTP 200, still ready). Taking every
        // pod out of its Service would only swap those answers for the ingress's own 503 page and block node drains.
        // A pod that is shutting down is not ready.
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck<RedisHealthCheck>(RedisHealthCheckName, failureStatus: HealthStatus.Degraded, tags: [ReadyTag])
            .AddCheck<DrainingHealthCheck>(DrainingHealthCheckName, tags: [ReadyTag]);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<PresenceExceptionHandler>();
        builder.Services.AddPresenceAuthentication();
        builder.Services.AddWriteRateLimiting();
        builder.Services.AddOptions<HttpLimitsOptions>().Bind(builder.Configuration.GetSection(HttpLimitsOptions.Section));
        return builder;
    }

    /// <summary>The request pipeline every service shares, in order: errors as problem details, body limit, auth, rate limits.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthLivePath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) }).AllowAnonymous();
        app.MapHealthChecks(HealthReadyPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag) }).AllowAnonymous();
        if (app.Configuration.GetValue<bool>("Telemetry:Prometheus"))
        {
            app.MapPrometheusScrapingEndpoint().AllowAnonymous();
        }

        return app;
    }
}

public sealed class HttpLimitsOptions
{
    public const string Section = "Http";

    /// <summary>Largest request body accepted; larger ones get 413 before anything reads them.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4096;

    /// <summary>
    /// Paths under this prefix are hub transports, exempt from <see cref="MaxRequestBodyBytes"/>: the hub limits each
    /// message itself (<c>Gateway:MaximumReceiveMessageSize</c>). The same prefix the token is read from the query under.
    /// </summary>
    public string HubPathPrefix { get; set; } = HubPaths.Prefix;
}
