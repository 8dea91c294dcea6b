using Microsoft.Extensions.DependencyInjection.Extensions;
using Presence.Core;
using Presence.Janitor.Engagement;
using Presence.Janitor.Expiry;
using Presence.Janitor.Leadership;
using Presence.Janitor.Notifications;
using Presence.Janitor.Sweeping;

namespace Presence.Janitor;

public static class JanitorExtensions
{
    public const string ActivitySourceName = "Presence.Janitor";

    /// <summary>The janitor's workers: leader election, the sweep, and keyspace expiry.</summary>
    public static WebApplicationBuilder AddJanitor(this WebApplicationBuilder builder)
    {
        builder.Services.AddJanitorServices(builder.Configuration);
        // Registered first so it stops last: the sweep ends before the lease is released.
        builder.Services.AddHostedService<LeaderElectionWorker>();
        builder.Services.AddHostedService<SweepWorker>();
        builder.Services.AddHostedService<KeyspaceExpiryWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EngagementWorker>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CoverageSampler>());
        return builder;
    }

    /// <summary>Everything but the hosted workers, so tests can drive a sweep or a lease attempt directly.</summary>
    internal static IServiceCollection AddJanitorServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<JanitorOptions, JanitorOptionsValidator>(configuration.GetSection(JanitorOptions.Section));
        services.TryAddSingleton<JanitorMetrics>();
        services.TryAddSingleton<RedisOutageWatch>();
        services.TryAddSingleton<LeaderLeaseStore>();
        services.TryAddSingleton<LeaderLease>();
        services.TryAddSingleton<UserCountGauge>();
        services.TryAddSingleton<Sweeper>();
        services.TryAddSingleton<DueTimes>();
        services.TryAddSingleton<UserExpiry>();
        services.TryAddSingleton<ServerConfig>();
        services.TryAddSingleton<ExpiredKeyEvents>();
        services.TryAddSingleton<KeyspaceEventsSetting>();
        services.AddNotifications(configuration);
        services.AddValidatedOptions<EngagementOptions, EngagementOptionsValidator>(configuration.GetSection(EngagementOptions.Section));
        services.TryAddSingleton<StateEventConsumer>();
        services.TryAddSingleton<EngagementWorker>();
        services.TryAddSingleton<CoverageSampler>();
        return services;
    }
}
