using Presence.Core.Engagement;
using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Presence.Core;
using Presence.Endpoints;
using Presence.ServiceDefaults;
using Presence.StatusQuery.Features.Board;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery;

public static class StatusQueryExtensions
{
    public const string ActivitySourceName = "Presence.StatusQuery";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    /// <summary>Kestrel's memory pool meter, whose per-block instruments this service does not collect.</summary>
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>
    /// The memory pool's instruments recorded on every 4 KiB block rented and returned (docs/architecture.md,
    /// "Telemetry"): a board answer is ~40 blocks, so ~120 measurements per poll; the pool's growth
    /// (<c>aspnetcore.memory_pool.allocated</c>) and eviction (<c>aspnetcore.memory_pool.evicted</c>) stay.
    /// </summary>
    public static readonly IReadOnlySet<string> PerBlockInstruments = new HashSet<string>(StringComparer.Ordinal)
    {
        "aspnetcore.memory_pool.rented",
        "aspnetcore.memory_pool.pooled",
    };

    public static WebApplicationBuilder AddStatusQuery(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<StatusQueryOptions, StatusQueryOptionsValidator>(StatusQueryOptions.Section);
        builder.Services.AddSingleton<StatusQueryMetrics>();
        builder.Services.AddSingleton<BoardCache>();
        builder.Services.AddEngagement();
        builder.Services.Configure<HealthCheckServiceOptions>(o =>
        {
            var redis = o.Registrations.Single(r => r.Name == Presence.ServiceDefaults.Extensions.RedisHealthCheckName);
            var inner = redis.Factory;
            redis.Factory = sp => new StaleTolerantReadiness(inner(sp), sp.GetRequiredService<BoardCache>());
        });
        // Per-block memory pool instruments dropped: not listened to at all, so Kestrel records nothing per block.
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddView(instrument =>
            instrument.Meter.Name == MemoryPoolMeter && PerBlockInstruments.Contains(instrument.Name) ? MetricStreamConfiguration.Drop : null));
        builder.Services.AddOutputCache();
        builder.Services.AddFrontendCors(builder.Configuration, policyName: null, policy => policy
            .WithMethods(HttpMethods.Get, HttpMethods.Post)
            .WithHeaders("Authorization", "Content-Type", "If-None-Match")
            .WithExposedHeaders("ETag", "Age", "Retry-After", BoardEndpoint.StaleHeader));
        builder.Services.AddPresenceEndpoints(typeof(StatusQueryExtensions).Assembly, "Presence status query");
        return builder;
    }
}
