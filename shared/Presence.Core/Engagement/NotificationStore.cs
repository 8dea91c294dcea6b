using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>A <c>preferred-online</c> notification: what the hub message and the webhook body carry.</summary>
/// <param name="Type">Always <c>preferred-online</c>.</param>
/// <param name="At">When the therapist's state changed (unix ms).</param>
/// <param name="Ver">The therapist's state version.</param>
public sealed record PreferredOnline(string Type, string TherapistId, string UserId, string Status, long At, long Ver)
{
    public const string TypeName = "preferred-online";
}

/// <summary>A <c>preferred-online</c> for the connections of one gateway instance (the pub/sub payload).</summary>
public sealed record HubNotification(string[] ConnectionIds, PreferredOnline Message);

/// <summary>
/// The notifier's Redis side (docs/architecture.md, "Watchlists and notifications"): the cooldown per (user,
/// therapist), the last state seen per therapist, the per-instance hub channel and the dead-letter stream.
/// </summary>
public sealed class NotificationStore(
    IConnectionMultiplexer redis,
    EngagementKeys keys,
    RedisResilience resilience,
    IOptionsMonitor<PresenceOptions> presence,
    TimeProvider time)
{
    /// <summary>How long the notifier remembers a therapist's last state (availability lapses after 12 h by default).</summary>
    private static readonly TimeSpan StateKept = TimeSpan.FromDays(2);

    /// <summary>True when (user, therapist) is outside its cooldown, or inside it for this same event id; starts the cooldown.</summary>
    public async Task<bool> TryStartCooldownAsync(string userId, string therapistId, string eventId, TimeSpan cooldown, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        UserId.EnsureValid(therapistId);
        RedisValue[] args = [time.GetUtcNow().ToUnixTimeMilliseconds(), (long)cooldown.TotalMilliseconds, eventId];
        var result = await resilience.ExecuteAsync(static (s, _) => NotificationScripts.Cooldown.EvaluateAsync(s.db, [s.key], s.args),
            (db: redis.GetDatabase(), key: keys.NotificationCooldown(userId, therapistId), args), idempotent: true, ct).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>The note for this event went out: a repeat of the same event within the cooldown is not sent again.</summary>
    public async Task MarkDeliveredAsync(string userId, string therapistId, string eventId, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        UserId.EnsureValid(therapistId);
        await resilience.ExecuteAsync(static (s, _) => NotificationScripts.Delivered.EvaluateAsync(s.db, [s.key], [s.eventId]),
            (db: redis.GetDatabase(), key: keys.NotificationCooldown(userId, therapistId), eventId), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a therapist's event as the notifier's last seen state and returns the availability before it, or null
    /// when the event is older than one already seen (stale). A redelivered event (same <c>ver</c>) gets the same answer.
    /// </summary>
    public async Task<bool?> ObserveTherapistAsync(string therapistId, long ver, bool available, CancellationToken ct)
    {
        UserId.EnsureValid(therapistId);
        RedisValue[] args = [ver, available ? "1" : "0", (long)StateKept.TotalMilliseconds];
        var result = (long)(await resilience.ExecuteAsync(static (s, _) => NotificationScripts.Observe.EvaluateAsync(s.db, [s.key], s.args),
            (db: redis.GetDatabase(), key: keys.NotifierState(therapistId), args), idempotent: true, ct).ConfigureAwait(false));
        return result < 0 ? null : result == 1;
    }

    /// <summary>Publishes to one gateway instance; the number of gateways that received it (0: it is gone).</summary>
    public async Task<long> PublishToHubAsync(string instanceId, HubNotification notification, CancellationToken ct)
    {
        var payload = JsonSerializer.Serialize(notification, EngagementJson.Default.HubNotification);
        return await resilience.ExecuteAsync(static (s, _) => s.redis.GetSubscriber().PublishAsync(s.channel, s.payload),
            (redis, channel: keys.HubNotifications(instanceId), payload), idempotent: false, ct).ConfigureAwait(false);
    }

    /// <summary>Keeps a notification whose last delivery attempt failed, for an operator to replay.</summary>
    public async Task DeadLetterAsync(string eventId, string body, string error, CancellationToken ct)
    {
        NameValueEntry[] fields = [new("id", eventId), new("body", body), new("error", error), new("at", time.GetUtcNow().ToUnixTimeMilliseconds())];
        await resilience.ExecuteAsync(static (s, _) => s.db.StreamAddAsync(s.key, s.fields, maxLength: s.max, useApproximateMaxLength: true),
            (db: redis.GetDatabase(), key: keys.NotificationDeadLetters, fields, max: presence.CurrentValue.EventStreamMaxLength), idempotent: true, ct)
            .ConfigureAwait(false);
    }
}
