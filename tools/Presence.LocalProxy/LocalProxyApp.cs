using Yarp.ReverseProxy.Model;

namespace Presence.LocalProxy;

/// <summary>
/// The production ingress on one local origin (docs/architecture.md, "One origin"): heartbeats, availability and
/// sign-off to heartbeat-api, <c>/hubs</c> (WebSockets included) to the gateway, everything else to status-query;
/// probe and scrape paths are refused as the ingress refuses them. The route table is the <c>ReverseProxy</c>
/// section of appsettings.json; the cluster destinations are the services' local ports.
/// </summary>
public static class LocalProxyApp
{
    /// <summary>Route metadata marking a path the ingress denies to every client.</summary>
    public const string DenyMetadata = "Deny";

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        var app = builder.Build();
        app.MapReverseProxy(pipeline => pipeline.Use(async (context, next) =>
        {
            var route = context.GetReverseProxyFeature().Route.Config;
            if (route.Metadata?.TryGetValue(DenyMetadata, out var deny) == true && deny == "true")
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await next().ConfigureAwait(false);
        }));
        return app;
    }
}
