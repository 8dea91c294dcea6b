using System.Diagnostics;
using Presence.Core;
using Presence.Endpoints;
using Presence.Core.Engagement;
using Presence.Core.Intervals;
using Presence.HeartbeatApi.Features.Heartbeats;
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
        builder.Services.AddPresenceEndpoints(typeof(HeartbeatApiExtensions).Assembly, "Presence heartbeat API");
        // Heartbeat writes are traced at Telemetry:HeartbeatTraceRatio (docs/architecture.md, "Telemetry").
        foreach (var role in Roles.All)
        {
            builder.Services.AddHeartbeatTraceRoute(HeartbeatEndpoint.Route(role));
        }

        builder.Services.AddHeartbeatIntervals(builder.Configuration);
        builder.Services.AddEngagement();
        return builder;
    }
}
