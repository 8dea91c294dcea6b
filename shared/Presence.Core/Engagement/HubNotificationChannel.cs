using System.Text.Json;
using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>
/// The receiving side of a gateway instance's hub channel (docs/architecture.md, "Watchlists and notifications");
/// <see cref="NotificationStore.PublishToHubAsync"/> is the sending side. Pub/sub: a note published while no instance
/// listens is gone, and the notifier then falls back to the webhook.
/// </summary>
public sealed class HubNotificationChannel(IConnectionMultiplexer redis, EngagementKeys keys)
{
    /// <summary>
    /// Listens on the instance's channel: each note is handed to <paramref name="onNote"/> in order; a payload that is
    /// not a note goes to <paramref name="onUnreadable"/> and is dropped.
    /// </summary>
    public async Task<Subscription> SubscribeAsync(string instanceId, Func<HubNotification, Task> onNote, Action<Exception> onUnreadable)
    {
        ArgumentNullException.ThrowIfNull(onNote);
        ArgumentNullException.ThrowIfNull(onUnreadable);
        UserId.EnsureValid(instanceId);
        var queue = await redis.GetSubscriber().SubscribeAsync(keys.HubNotifications(instanceId)).ConfigureAwait(false);
        queue.OnMessage(async message =>
        {
            HubNotification? note;
            try
            {
                note = JsonSerializer.Deserialize((string)message.Message!, EngagementJson.Default.HubNotification);
            }
            catch (JsonException ex)
            {
                onUnreadable(ex);
                return;
            }

            if (note is not null)
            {
                await onNote(note).ConfigureAwait(false);
            }
        });
        return new Subscription(queue);
    }

    /// <summary>One instance's listening; ended once, by <see cref="UnsubscribeAsync"/>.</summary>
    public sealed class Subscription(ChannelMessageQueue queue)
    {
        public Task UnsubscribeAsync() => queue.UnsubscribeAsync();
    }
}
