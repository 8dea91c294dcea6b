namespace Presence.Core;

/// <summary>The store's hot-path scripts (status writes and heartbeats), embedded from the <c>.lua</c> files beside this one.</summary>
internal static class PresenceScripts
{
    public static readonly RedisScript Presence = RedisScript.FromResource("presence");

    public static readonly RedisScript Beat = RedisScript.FromResource("beat");

    /// <summary>What <see cref="ScriptPreloader"/> loads at start-up: the scripts a request runs.</summary>
    public static IEnumerable<RedisScript> All => [Beat, Presence];
}
