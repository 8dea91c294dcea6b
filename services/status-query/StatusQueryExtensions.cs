using Presence.Core.Engagement;
using System.Diagnostics;
using FastEndpoints;
using FastEndpoints.Swagger;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NJsonSchema;
using NJsonSchema.Generation.TypeMappers;
using Presence.Core;
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
        // Only this assembly's endpoints: FastEndpoints otherwise scans every loaded assembly, and a process
        // hosting two services (the deployment tests boot all four) would map the other's endpoints too.
        builder.Services.AddFastEndpoints(o =>
        {
            o.DisableAutoDiscovery = true;
            o.Assemblies = [typeof(StatusQueryExtensions).Assembly];
        });
        builder.Services.SwaggerDocument(o =>
        {
            o.DocumentSettings = s =>
            {
                s.DocumentName = "v1";
                s.Title = "Presence status query";
                s.Version = "v1";
                // An id is a JSON string on the wire (UserId.JsonConverter), not the struct's shape.
                s.SchemaSettings.TypeMappers.Add(new PrimitiveTypeMapper(typeof(UserId), schema => schema.Type = JsonObjectType.String));
            };
        });
        return builder;
    }
}
