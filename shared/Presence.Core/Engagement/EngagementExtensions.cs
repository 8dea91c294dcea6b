using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Presence.Core.Engagement;

public static class EngagementExtensions
{
    /// <summary>Engagement keys, metrics and the watchlist store (expects <see cref="PresenceCoreExtensions.AddPresenceCore"/>).</summary>
    public static IServiceCollection AddEngagement(this IServiceCollection services)
    {
        services.TryAddSingleton<EngagementKeys>();
        services.TryAddSingleton<EngagementMetrics>();
        services.TryAddSingleton<Watchlists>();
        services.TryAddSingleton<NotificationStore>();
        services.TryAddSingleton<HubNotificationChannel>();
        services.TryAddSingleton<Analytics>();
        return services;
    }
}
