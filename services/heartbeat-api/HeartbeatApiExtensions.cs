using System.Diagnostics;
using FastEndpoints;
using FastEndpoints.Swagger;
using Presence.Core.Engagement;
using Presence.Core.Intervals;

namespace Presence.HeartbeatApi;

public static class HeartbeatApiExtensions
{
    public const string ActivitySourceName = "Presence.HeartbeatApi";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    public static WebApplicationBuilder AddHeartbeatApi(this WebApplicationBuilder builder)
    {
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
            };
        });
        return builder;
    }
}
