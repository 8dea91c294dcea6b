using Microsoft.AspNetCore.SignalR;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.RealtimeGateway.Hubs;
using StackExchange.Redis;

namespace Presence.RealtimeGateway.Notifications;

/// <summary>
/// Hands the janitor's <c>preferred-online</c> notes to this instance's connections (docs/architecture.md, "Watchlists
/// and notifications"). The notifier publishes on this instance's own channel with the connection ids it holds, so
/// each note is sent once, by the instance holding the connection; an instance that is gone has no subscriber, and
/// the notifier falls back to the webhook.
/// </summary>
internal sealed partial class PreferredOnlineRelay(
    HubNotificationChannel channel,
    GatewayInstance instance,
    IHubContext<PresenceHub, IPresenceClient> hub,
    EngagementMetrics metrics,
    ILogger<PreferredOnlineRelay> logger) : IHostedService
{
    private HubNotificationChannel.Subscription? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _subscription = await channel.SubscribeAsync(instance.Id, RelayAsync, ex => LogRelayFailed(logger, ex)).ConfigureAwait(false);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is null)
        {
            return;
        }

        try
        {
            await _subscription.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException || RedisErrors.IsRedisFailure(ex))
        {
            // Shutdown never fails on Redis: the multiplexer may be disposed first or Redis away; the subscription
            // ends with the connection anyway.
        }
    }

    private async Task RelayAsync(HubNotification note)
    {
        if (note.ConnectionIds.Length == 0)
        {
            return;
        }

        try
        {
            // This instance's connections: written locally, no backplane channel per connection (docs/architecture.md, "Hub").
            await hub.Clients.Clients(note.ConnectionIds).PreferredOnline(note.Message).ConfigureAwait(false);
            metrics.Notification("hub", "relayed");
        }
        catch (RedisException ex)
        {
            LogRelayFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A preferred-online note could not be relayed to this instance's connections.")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);
}
