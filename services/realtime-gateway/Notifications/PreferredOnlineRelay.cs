using System.Text.Json;
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
    IConnectionMultiplexer redis,
    EngagementKeys keys,
    GatewayInstance instance,
    IHubContext<PresenceHub, IPresenceClient> hub,
    EngagementMetrics metrics,
    ILogger<PreferredOnlineRelay> logger) : IHostedService
{
    private ChannelMessageQueue? _queue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _queue = await redis.GetSubscriber().SubscribeAsync(keys.HubNotifications(instance.Id)).ConfigureAwait(false);
        _queue.OnMessage(RelayAsync);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is null)
        {
            return;
        }

        try
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException || RedisErrors.IsRedisFailure(ex))
        {
            // Shutdown never fails on Redis: the multiplexer may be disposed first or Redis away; the subscription
            // ends with the connection anyway.
        }
    }

    private async Task RelayAsync(ChannelMessage message)
    {
        try
        {
            var note = JsonSerializer.Deserialize((string)message.Message!, EngagementJson.Default.HubNotification);
            if (note is null || note.ConnectionIds.Length == 0)
            {
                return;
            }

            await hub.Clients.Clients(note.ConnectionIds).PreferredOnline(note.Message).ConfigureAwait(false);
            metrics.Notification("hub", "relayed");
        }
        catch (Exception ex) when (ex is JsonException or RedisException)
        {
            LogRelayFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A preferred-online note could not be relayed to this instance's connections.")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);
}
