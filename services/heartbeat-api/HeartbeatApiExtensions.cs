using System.Diagnostics;
using FastEndpoints;
using FastEndpoints.Swagger;

namespace Presence.HeartbeatApi;

public static class HeartbeatApiExtensions
{
    public const string ActivitySourceName = "Presence.HeartbeatApi";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    public static WebApplicationBuilder AddHeartbeatApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddFastEndpoints();
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
