namespace Presence.RealtimeGateway.Limits;

/// <summary>
/// A connection's token bucket on the injected clock (tests cross its edges with a fake one): a burst is fine, a flood
/// is not. The hub's guard for heartbeats (the REST min interval does not apply to the hub) and for watch-list calls.
/// </summary>
internal sealed class TokenBucket(int capacity, TimeSpan tokenPeriod, DateTimeOffset now)
{
    private readonly Lock _gate = new();
    private double _tokens = capacity;
    private DateTimeOffset _last = now;

    public bool TryTake(DateTimeOffset now, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            if (now > _last)
            {
                _tokens = Math.Min(capacity, _tokens + ((now - _last) / tokenPeriod));
                _last = now;
            }

            if (_tokens >= 1)
            {
                _tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = tokenPeriod * (1 - _tokens);
            return false;
        }
    }
}
