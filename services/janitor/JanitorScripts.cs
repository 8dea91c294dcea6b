using Presence.Core;

namespace Presence.Janitor;

/// <summary>The janitor's own Lua scripts (the leader lease), embedded in Presence.Core beside the model's.</summary>
internal static class JanitorScripts
{
    public static readonly RedisScript Lease = RedisScript.FromResource("janitor-lease");
    public static readonly RedisScript LeaseRelease = RedisScript.FromResource("janitor-lease-release");
}
