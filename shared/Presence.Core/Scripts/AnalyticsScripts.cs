namespace Presence.Core;

/// <summary>The analytics fold, embedded from the <c>.lua</c> file beside this one.</summary>
internal static class AnalyticsScripts
{
    public static readonly RedisScript Fold = RedisScript.FromResource("analytics-fold");
}
