using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Presence.Core.Engagement;

namespace Presence.Core.Intervals;

public static class IntervalExtensions
{
    /// <summary>The adaptive interval policy and its signals, for a process that answers heartbeats.</summary>
    public static IServiceCollection AddHeartbeatIntervals(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<HeartbeatIntervalOptions, HeartbeatIntervalOptionsValidator>(configuration.GetSection(HeartbeatIntervalOptions.Section));
        services.TryAddSingleton<EngagementKeys>();
        services.TryAddSingleton(sp => new HeartbeatLoad(
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<HeartbeatIntervalOptions>>().Value.LoadWindow));
        services.TryAddSingleton<WatchedTherapists>();
        services.TryAddSingleton(sp => new HeartbeatIntervalPolicy(
            sp.GetRequiredService<IOptionsMonitor<PresenceOptions>>(),
            sp.GetRequiredService<IOptionsMonitor<HeartbeatIntervalOptions>>(),
            sp.GetRequiredService<HeartbeatLoad>(),
            sp.GetRequiredService<WatchedTherapists>(),
            sp.GetRequiredService<PresenceMetrics>(),
            Random.Shared));
        services.AddHostedService<WatchedTherapistsRefresher>();
        return services;
    }
}
