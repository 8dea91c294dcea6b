namespace Presence.Core.Intervals;

/// <summary>
/// This instance's heartbeat rate over a sliding window, in one-second buckets on the injected clock. Counting is
/// in-process on purpose: load shedding must cost nothing, least of all a Redis call, when Redis is the bottleneck.
/// </summary>
public sealed class HeartbeatLoad
{
    private readonly TimeProvider _time;
    private readonly long[] _counts;
    private readonly long[] _seconds;
    private readonly Lock _lock = new();

    public HeartbeatLoad(TimeProvider time, TimeSpan window)
    {
        _time = time;
        var size = Math.Max(1, (int)window.TotalSeconds);
        _counts = new long[size];
        _seconds = new long[size];
    }

    public void Record()
    {
        var second = _time.GetUtcNow().ToUnixTimeSeconds();
        var slot = (int)(second % _counts.Length);
        lock (_lock)
        {
            if (_seconds[slot] != second)
            {
                _seconds[slot] = second;
                _counts[slot] = 0;
            }

            _counts[slot]++;
        }
    }

    /// <summary>Heartbeats per second over the window (the current second included).</summary>
    public double PerSecond()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        long total = 0;
        lock (_lock)
        {
            for (var i = 0; i < _counts.Length; i++)
            {
                if (now - _seconds[i] < _counts.Length)
                {
                    total += _counts[i];
                }
            }
        }

        return total / (double)_counts.Length;
    }
}
