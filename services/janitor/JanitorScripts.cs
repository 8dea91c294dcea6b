using Presence.Core;

namespace Presence.Janitor;

/// <summary>The janitor's Lua scripts (embedded in Presence.Core beside the store's, so every key rule lives in one place).</summary>
internal static class JanitorScripts
{
    public static readonly RedisScript Sweep = RedisScript.FromResource("janitor-sweep");
    public static readonly RedisScript RetentionTrim = RedisScript.FromResource("janitor-retention-trim");
    public static readonly RedisScript UserExpired = RedisScript.FromResource("janitor-user-expired");
    public static readonly RedisScript Lease = RedisScript.FromResource("janitor-lease");
    public static readonly RedisScript LeaseRelease = RedisScript.FromResource("janitor-lease-release");
}
