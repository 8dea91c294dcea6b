using System.Diagnostics;
using FastEndpoints;
using FastEndpoints.Swagger;
using NJsonSchema;
using NJsonSchema.Generation.TypeMappers;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.Core.Intervals;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi;

public static class HeartbeatApiExtensions
{
    public const string ActivitySourceName = "Presence.HeartbeatApi";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    /// <summary>The header a browser names its device (session) with, besides the body's <c>deviceId</c>.</summary>
    public const string DeviceHeader = "X-Presence-Device";

    public static WebApplicationBuilder AddHeartbeatApi(this WebApplicationBuilder builder)
    {
        // A frontend on another origin sends heartbeats with a Bearer token, never cookies: no credentials are
        // allowed, and a preflight is cached (docs/architecture.md, "Browsers and CORS").
        builder.Services.AddFrontendCors(builder.Configuration, policyName: null, policy => policy
            .WithMethods(HttpMethods.Post, HttpMethods.Put)
            .WithHeaders("Authorization", "Content-Type", DeviceHeader)
            .WithExposedHeaders("Retry-After"));
        // Only this assembly's endpoints: FastEndpoints otherwise scans every loaded assembly, and a process
        // hosting two services (the deployment tests boot all four) would map the other's endpoints too.
        builder.Services.AddFastEndpoints(o =>
        {
            o.DisableAutoDiscovery = true;
            o.Assemblies = [typeof(HeartbeatApiExtensions).Assembly];
        });
        builder.Services.AddHeartbeatIntervals(builder.Configuration);
        builder.Services.AddEngagement();
        builder.Services.SwaggerDocument(o =>
        {
            o.DocumentSettings = s =>
            {
                s.DocumentName = "v1";
                s.Title = "Presence heartbeat API";
                s.Version = "v1";
                s.SchemaSettings.TypeMappers.Add(new PrimitiveTypeMapper(typeof(UserId), schema => schema.Type = JsonObjectType.String));
            };
        });
        return builder;
    }
}
