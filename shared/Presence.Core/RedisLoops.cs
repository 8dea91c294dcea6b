namespace Presence.Core;

/// <summary>
/// The background loops that talk to Redis, as the <c>loop</c> tag of <c>presence.redis.errors</c> names them, and
/// the backoff they share. A loop catches every Redis failure (<see cref="RedisErrors.IsRedisFailure"/>), logs it
/// with its class, counts it and tries again later: no Redis answer ever stops a host.
/// </summary>
public static class RedisLoops
{
    public const string GatewayLease = "gateway-lease";
    public const string GatewayEvents = "gateway-events";
    public const string JanitorLeader = "janitor-leader";
    public const string JanitorSweep = "janitor-sweep";
    public const string JanitorExpiry = "janitor-expiry";
    public const string JanitorEngagement = "janitor-engagement";

    /// <summary>
    /// The wait after the <paramref name="failures"/>-th failure in a row: doubling from <paramref name="initial"/> up to
    /// <paramref name="max"/>, with up to a fifth taken off at random so that replicas do not retry in step.
    /// </summary>
    public static TimeSpan Backoff(int failures, TimeSpan initial, TimeSpan max)
    {
        var doubled = initial.Ticks * Math.Pow(2, Math.Clamp(failures - 1, 0, 16));
        var capped = Math.Min(doubled, max.Ticks);
        return TimeSpan.FromTicks((long)(capped * (1 - (Random.Shared.NextDouble() * 0.2))));
    }
}
