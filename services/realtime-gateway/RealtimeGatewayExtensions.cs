using System.Security.Claims;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.Core.Intervals;
using Presence.RealtimeGateway.Notifications;
using Presence.RealtimeGateway.Connections;
using Presence.RealtimeGateway.Hubs;
using Presence.RealtimeGateway.Limits;
using Presence.RealtimeGateway.Pushes;
using Presence.RealtimeGateway.Watching;
using Presence.ServiceDefaults;
using Presence.ServiceDefaults.Authentication;
using StackExchange.Redis;

namespace Presence.RealtimeGateway;

public static class RealtimeGatewayExtensions
{
    public const string HubCorsPolicy = "hub";

    public static WebApplicationBuilder AddRealtimeGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // A hub connection presents its token once (negotiate and connect at most), and a cached entry outlived the
        // connection that never looked it up again: no validated-token cache unless configured (docs/architecture.md,
        // "Authentication"). The lowest-priority source, so appsettings and the environment still set it.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new($"{TokenCacheOptions.Section}:{nameof(TokenCacheOptions.Capacity)}", "0")],
        });
        services.AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.Section);
        services.TryAddSingleton<GatewayInstance>();
        services.TryAddSingleton<GatewayMetrics>();
        services.TryAddSingleton<HubSessions>();
        services.TryAddSingleton<PresenceSnapshots>();
        services.TryAddSingleton<SharedBoard>();
        services.TryAddSingleton<Watchers>();
        services.AddHeartbeatIntervals(builder.Configuration);
        services.TryAddSingleton<WatchMarks>();
        services.AddHostedService<WatchMarkRenewal>();
        services.AddEngagement();
        services.AddHostedService<PreferredOnlineRelay>();
        services.AddSingleton<PresenceHubFilter>();
        services.AddValidatedOptions<HubLimitsOptions, HubLimitsOptionsValidator>(HubLimitsOptions.Section);
        services.TryAddSingleton<ConnectionCaps>();
        services.AddSingleton<HubLimitsFilter>();
        services.AddHostedService<InstanceLease>();
        services.AddCompactHubPrincipal();
        services.AddHostedService<PresenceEventConsumer>();

        // Browsers on the frontend's or the board page's origin negotiate cross-origin (the JS client sends credentials).
        services.AddFrontendCors(builder.Configuration, HubCorsPolicy, policy => policy
            .WithMethods(HttpMethods.Get, HttpMethods.Post)
            .AllowAnyHeader()
            .AllowCredentials());
        // PresenceHubFilter first (outermost), so the limits' refusals are counted and traced like any other.
        services.AddSignalR(o =>
            {
                o.AddFilter<PresenceHubFilter>();
                o.AddFilter<HubLimitsFilter>();
            })
            .AddJsonProtocol(o => o.PayloadSerializerOptions.TypeInfoResolver =
                JsonTypeInfoResolver.Combine(GatewayJsonContext.Default, new DefaultJsonTypeInfoResolver()))
            .AddStackExchangeRedis();
        services.Replace(ServiceDescriptor.Singleton<IUserIdProvider, NoUserIdProvider>());
        // No Redis subscription per connection: the gateway sends only to its own connections (LocalConnectionsRedisHubLifetimeManager).
        services.AddSingleton<HubLifetimeManager<PresenceHub>, LocalConnectionsRedisHubLifetimeManager<PresenceHub>>();
        services.AddOptions<HubOptions>().Configure<IOptions<GatewayOptions>>((hub, gateway) =>
        {
            var o = gateway.Value;
            hub.KeepAliveInterval = o.KeepAliveInterval;
            hub.ClientTimeoutInterval = o.ClientTimeoutInterval;
            hub.MaximumReceiveMessageSize = o.MaximumReceiveMessageSize;
            // Errors reach clients only as the HubException messages the gateway writes itself.
            hub.EnableDetailedErrors = false;
        });
        // The backplane gets its own connection (pub/sub traffic apart from the store's commands), configured late
        // so test hosts' settings apply, with a channel prefix per deployment.
        services.TryAddSingleton<BackplaneHealth>();
        services.AddOptions<RedisOptions>().Configure<IConfiguration, IOptions<GatewayOptions>, IOptions<PresenceOptions>, BackplaneHealth>(
            (redis, configuration, gateway, presence, health) =>
            {
                var connectionString = configuration.GetConnectionString("redis")
                    ?? throw new InvalidOperationException("ConnectionStrings:redis is not set.");
                var options = ConfigurationOptions.Parse(connectionString);
                options.AbortOnConnectFail = false;
                options.ReconnectRetryPolicy = new LinearRetry(500);
                options.ClientName ??= "realtime-gateway-backplane";
                options.ChannelPrefix = RedisChannel.Literal(gateway.Value.EffectiveChannelPrefix(presence.Value.KeyPrefix));
                redis.Configuration = options;
                redis.ConnectionFactory = async log =>
                {
                    var multiplexer = await ConnectionMultiplexer.ConnectAsync(options, log).ConfigureAwait(false);
                    health.Attach(multiplexer);
                    return multiplexer;
                };
            });
        return builder;
    }

    public static WebApplication MapRealtimeGateway(this WebApplication app)
    {
        var path = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.HubPath;
        app.UseCors();
        app.UseWhen(ctx => ctx.Request.Path.StartsWithSegments(path, StringComparison.Ordinal), branch => branch.Use(HubRequestGate));
        app.MapHub<PresenceHub>(path, o =>
        {
            o.CloseOnAuthenticationExpiration = true;
            o.Transports = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;
        }).AllowAnonymous().RequireCors(HubCorsPolicy);
        return app;
    }

    /// <summary>
    /// The hub path's checks before SignalR. Not <c>async</c>: a WebSocket's request stays in the pipeline for the
    /// connection's whole life, and an awaiting middleware would keep its state machine (120 bytes) per connection
    /// (docs/benchmarks.md, "Gateway memory per connection (2026-11-30, sixth session)").
    /// </summary>
    private static Task HubRequestGate(HttpContext ctx, RequestDelegate next)
    {
        // A presented but invalid token is refused (401) rather than silently treated as anonymous.
        var presented = ctx.Request.Query.ContainsKey("access_token") || ctx.Request.Headers.Authorization.Count > 0;
        if (presented && ctx.User.Identity?.IsAuthenticated != true)
        {
            return ctx.ChallengeAsync();
        }

        // Over a connection cap: a 429 problem at negotiate already (the hub refuses the connection anyway).
        if (ctx.Request.Path.Value?.EndsWith("/negotiate", StringComparison.Ordinal) == true
            && ctx.RequestServices.GetRequiredService<ConnectionCaps>().Refusal(
                ctx.User.SubjectOf(),
                ctx.Connection.RemoteIpAddress?.ToString()) is { } refusal)
        {
            // Places free as connections close (a tab, a device): worth trying again after a few seconds, not at once.
            ctx.Response.SetRetryAfter(TimeSpan.FromSeconds(10));
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many connections", detail: refusal)
                .ExecuteAsync(ctx);
        }

        return next(ctx);
    }
}
