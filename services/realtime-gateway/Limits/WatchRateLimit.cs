namespace Presence.RealtimeGateway.Limits;

/// <summary>A connection's token bucket for watch-list calls, on the injected clock (tests cross its edges with a fake one).</summary>
internal sealed class WatchRateLimit(int capacity, TimeSpan tokenPeriod, DateTimeOffset now)
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
