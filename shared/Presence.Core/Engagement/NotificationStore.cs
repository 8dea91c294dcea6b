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
/// therapist), the user's live hub connections, the per-instance hub channel and the dead-letter stream.
/// </summary>
public sealed class NotificationStore(
    IConnectionMultiplexer redis,
    EngagementKeys keys,
    PresenceKeys presenceKeys,
    RedisResilience resilience,
    IOptionsMonitor<PresenceOptions> presence,
    TimeProvider time)
{
    /// <summary>
    /// The cooldown compares the service's clock (as the heartbeat throttle does), so every replica and test clock
    /// shares one timeline; the key's PX only cleans up. The same event id passes again: a redelivered stream entry
    /// whose first attempt was cut short still gets delivered (at least once).
    /// </summary>
    private static readonly RedisScript Cooldown = RedisScript.FromResource("notify-cooldown");
    private static readonly RedisScript Delivered = RedisScript.FromResource("notify-delivered");

    /// <summary>True when (user, therapist) is outside its cooldown, or inside it for this same event id; starts the cooldown.</summary>
    public async Task<bool> TryStartCooldownAsync(string userId, string therapistId, string eventId, TimeSpan cooldown, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        UserId.EnsureValid(therapistId);
        RedisValue[] args = [time.GetUtcNow().ToUnixTimeMilliseconds(), (long)cooldown.TotalMilliseconds, eventId];
        var result = await resilience.ExecuteAsync(static (s, _) => Cooldown.EvaluateAsync(s.db, [s.key], s.args),
            (db: redis.GetDatabase(), key: keys.NotificationCooldown(userId, therapistId), args), idempotent: true, ct).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>The note for this event went out: a repeat of the same event within the cooldown is not sent again.</summary>
    public async Task MarkDeliveredAsync(string userId, string therapistId, string eventId, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        UserId.EnsureValid(therapistId);
        await resilience.ExecuteAsync(static (s, _) => Delivered.EvaluateAsync(s.db, [s.key], [s.eventId]),
            (db: redis.GetDatabase(), key: keys.NotificationCooldown(userId, therapistId), eventId), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>The community user's live hub connections, grouped by gateway instance.</summary>
    public async Task<IReadOnlyDictionary<string, string[]>> LiveHubConnectionsAsync(string userId, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var members = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, s.nowMs, double.PositiveInfinity, Exclude.Start),
            (db: redis.GetDatabase(), key: presenceKeys.Connections(Role.Community, userId), nowMs), idempotent: false, ct).ConfigureAwait(false);
        return members.Select(m => m.ToString().Split('|', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(p => p[1]).ToArray(), StringComparer.Ordinal);
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
