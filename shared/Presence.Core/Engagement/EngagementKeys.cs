using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>
/// Key names of the engagement features (watched therapists, watchlists, notification cooldowns, analytics),
/// built in this one place beside <see cref="PresenceKeys"/> and under the same prefix. None of these keys is
/// touched by a presence script together with a role's keys, so they carry no role hash tag and stay correct
/// when a role's keys are split into shards. Ids must have passed <see cref="UserId.IsValid"/> before they get here.
/// </summary>
public sealed class EngagementKeys(PresenceKeys keys)
{
    private readonly string _prefix = keys.Prefix;

    /// <summary>ZSET of therapists someone watches by id on a gateway, score = watched-until (unix ms).</summary>
    public RedisKey WatchedTherapists => _prefix + ":watch:therapists";

    /// <summary>SET of the therapist ids a community user keeps as preferred.</summary>
    public RedisKey Watchlist(string userId) => _prefix + ":watchlist:" + userId;

    /// <summary>SET of the community users who keep a therapist on their watchlist (the reverse index the notifier reads).</summary>
    public RedisKey Watchers(string therapistId) => _prefix + ":watchers:" + therapistId;

    /// <summary>STRING <c>{until}|{eventId}</c>: a notification for (user, therapist) went out; PX only cleans up.</summary>
    public RedisKey NotificationCooldown(string userId, string therapistId) => _prefix + ":notify:cooldown:" + userId + ":" + therapistId;

    /// <summary>STRING <c>{ver}|{available}|{available before}</c>: the last event of a therapist the notifier saw.</summary>
    public RedisKey NotifierState(string therapistId) => _prefix + ":notify:state:" + therapistId;

    /// <summary>STREAM of webhook deliveries that failed after the last retry.</summary>
    public RedisKey NotificationDeadLetters => _prefix + ":notify:dead";

    /// <summary>Pub/sub channel one gateway instance listens on for <c>preferred-online</c> deliveries to its connections.</summary>
    public RedisChannel HubNotifications(string instanceId) => RedisChannel.Literal(_prefix + ":notify:hub:" + instanceId);

    /// <summary>
    /// Analytics keys: <c>{prefix}:{analytics}:{name}:{bucket}</c>, one hash tag so the fold script is one call on
    /// Redis Cluster; figures expire after the retention (90 days).
    /// </summary>
    public RedisKey Analytics(string name, string bucket) => _prefix + ":{analytics}:" + name + ":" + bucket;

    /// <summary>Per-user analytics scratch (session start), short-lived and deleted when the session ends.</summary>
    public RedisKey AnalyticsSession(string role, string userId) => _prefix + ":{analytics}:session:" + role + ":" + userId;
}
