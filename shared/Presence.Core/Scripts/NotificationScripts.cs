namespace Presence.Core;

/// <summary>The preferred-therapist notification scripts, embedded from the <c>.lua</c> files beside this one.</summary>
internal static class NotificationScripts
{
    /// <summary>
    /// The cooldown compares the service's clock (as the heartbeat throttle does), so every replica and test clock
    /// shares one timeline; the key's PX only cleans up. The same event id passes again: a redelivered stream entry
    /// whose first attempt was cut short still gets delivered (at least once).
    /// </summary>
    public static readonly RedisScript Cooldown = RedisScript.FromResource("notify-cooldown");

    public static readonly RedisScript Delivered = RedisScript.FromResource("notify-delivered");

    public static readonly RedisScript Observe = RedisScript.FromResource("notify-observe");
}
