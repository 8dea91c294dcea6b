using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;

namespace Presence.Janitor.Notifications;

/// <summary>
/// Turns "a listed therapist became online or available" into at most one note per (user, therapist, cooldown)
/// (docs/architecture.md, "Watchlists and notifications"). Became online: an <c>online</c> event of a heartbeat or a
/// join (one per transition). Became available: <c>available</c> flipped from 0 to 1 since the therapist's previous
/// event. An event older than one seen before, or than the therapist's current <c>ver</c> (superseded while the
/// stream was behind), sends nothing. Delivery goes to the user's live hub connections when it has any (through the
/// gateway instance holding each), otherwise a signed webhook. At least once: the cooldown is taken with a
/// stable event id, so a redelivered event whose delivery did not complete (the stream consumer acknowledges only after
/// this returns) passes its own cooldown and is sent again, and the receiver de-duplicates by <c>webhook-id</c>.
/// </summary>
internal sealed partial class PreferredTherapistNotifier(
    Watchlists watchlists,
    NotificationStore store,
    ConnectionStore connections,
    PresenceEventStream events,
    WebhookSender webhooks,
    IOptionsMonitor<NotificationOptions> options,
    EngagementMetrics metrics,
    ILogger<PreferredTherapistNotifier> logger)
{
    public const string HubChannel = "hub";
    public const string WebhookChannel = "webhook";

    public async Task HandleAsync(PresenceEvent change, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (change.Role != PresenceRole.Therapist)
        {
            return;
        }

        // Every event updates the last state seen, so "flipped" compares with the event just before, in stream order.
        var before = await store.ObserveTherapistAsync(change.Id, change.Ver, change.Available, ct).ConfigureAwait(false);
        var cameOnline = change.Status == PresenceEventStatus.Online && change.Reason is PresenceReason.Heartbeat or PresenceReason.Join;
        var becameAvailable = change.Available && before == false;
        if (before is null || !(cameOnline || becameAvailable))
        {
            if (before is null)
            {
                metrics.Notification("none", "stale");
            }

            return;
        }

        if (await events.CurrentVersionAsync(PresenceRole.Therapist, change.Id, ct).ConfigureAwait(false) > change.Ver)
        {
            metrics.Notification("none", "stale");
            return;
        }

        using var activity = EngagementMetrics.ActivitySource.StartActivity("notify.preferred-online");
        activity?.SetTag(PresenceTags.Therapist, change.Id);
        var users = await watchlists.WatchersOfAsync(change.Id, ct).ConfigureAwait(false);
        activity?.SetTag(PresenceTags.NotifyCandidates, users.Count);
        var o = options.CurrentValue;
        var at = change.At.ToUnixTimeMilliseconds();
        foreach (var userId in users)
        {
            var eventId = EventId(change, userId);
            if (!await store.TryStartCooldownAsync(userId, change.Id, eventId, o.Cooldown, ct).ConfigureAwait(false))
            {
                metrics.Notification("none", "cooldown");
                continue;
            }

            var message = new PreferredOnline(PreferredOnline.TypeName, change.Id, userId, becameAvailable ? "available" : change.Status, at, change.Ver);
            if (await TryHubAsync(userId, message, ct).ConfigureAwait(false))
            {
                metrics.Notification(HubChannel, "delivered");
            }
            else if (!await SendWebhookAsync(eventId, message, o, ct).ConfigureAwait(false))
            {
                // Dead-lettered or nowhere to send: a redelivery of this event may try again.
                continue;
            }

            await store.MarkDeliveredAsync(userId, change.Id, eventId, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stable per (therapist, ver, user): the same event always carries the same <c>webhook-id</c>.</summary>
    public static string EventId(PresenceEvent change, string userId) =>
        "msg_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{change.Id}|{change.Ver}|{userId}")).AsSpan(0, 16));

    private async Task<bool> TryHubAsync(string userId, PreferredOnline message, CancellationToken ct)
    {
        var delivered = false;
        foreach (var (instance, held) in await connections.LiveHubConnectionsAsync(PresenceRole.Community, userId, ct).ConfigureAwait(false))
        {
            // A gateway that is gone has no subscriber (0 receivers): the note then goes out as a webhook.
            delivered |= await store.PublishToHubAsync(instance, new HubNotification(held, message), ct).ConfigureAwait(false) > 0;
        }

        return delivered;
    }

    private async Task<bool> SendWebhookAsync(string eventId, PreferredOnline message, NotificationOptions o, CancellationToken ct)
    {
        if (o.WebhookUrl is null)
        {
            metrics.Notification(WebhookChannel, "unconfigured");
            return false;
        }

        var body = JsonSerializer.Serialize(message, EngagementJson.Default.PreferredOnline);
        try
        {
            await webhooks.SendAsync(eventId, body, ct).ConfigureAwait(false);
            metrics.Notification(WebhookChannel, "delivered");
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            LogDeadLettered(logger, eventId, ex);
            await store.DeadLetterAsync(eventId, body, ex.Message, ct).ConfigureAwait(false);
            metrics.Notification(WebhookChannel, "dead-lettered");
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} failed after the last attempt; dead-lettered.")]
    private static partial void LogDeadLettered(ILogger logger, string eventId, Exception exception);
}
