namespace Presence.Core;

/// <summary>The leader lease's scripts, embedded from the <c>.lua</c> files beside this one.</summary>
internal static class LeaseScripts
{
    public static readonly RedisScript AcquireOrRenew = RedisScript.FromResource("janitor-lease");

    public static readonly RedisScript Release = RedisScript.FromResource("janitor-lease-release");
}
