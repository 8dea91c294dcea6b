namespace Presence.Core;

/// <summary>The janitor's sweep and expiry scripts, embedded from the <c>.lua</c> files beside this one.</summary>
internal static class SweepScripts
{
    public static readonly RedisScript RetentionTrim = RedisScript.FromResource("janitor-retention-trim");

    public static readonly RedisScript UserExpired = RedisScript.FromResource("janitor-user-expired");
}
