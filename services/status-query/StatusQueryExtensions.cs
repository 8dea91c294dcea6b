using Presence.Core.Engagement;
using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
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
        builder.Services.AddOutputCache();
        builder.Services.AddFrontendCors(builder.Configuration, policyName: null, policy => policy
            .WithMethods(HttpMethods.Get, HttpMethods.Post)
            .WithHeaders("Authorization", "Content-Type", "If-None-Match")
            .WithExposedHeaders("ETag", "Age", "Retry-After", BoardEndpoint.StaleHeader));
        builder.Services.AddPresenceEndpoints(typeof(StatusQueryExtensions).Assembly, "Presence status query");
        return builder;
    }
}
