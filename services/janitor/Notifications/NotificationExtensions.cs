using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;

namespace Presence.Janitor.Notifications;

internal static class NotificationExtensions
{
    /// <summary>The notifier and its webhook sender; the stream consumer that feeds it runs under the janitor's leadership.</summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<NotificationOptions, NotificationOptionsValidator>(configuration.GetSection(NotificationOptions.Section));
        services.AddEngagement();
        // One sender per process: its token bucket paces each endpoint across all deliveries.
        services.AddHttpClient(nameof(WebhookSender));
        services.TryAddSingleton(sp => new WebhookSender(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(WebhookSender)),
            sp.GetRequiredService<IOptionsMonitor<NotificationOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<WebhookSender>>()));
        services.TryAddSingleton<PreferredTherapistNotifier>();
        return services;
    }
}
