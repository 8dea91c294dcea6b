using Presence.Core;

namespace Presence.Janitor.Sweeping;

/// <summary>
/// When this janitor process last failed to reach Redis, from any of its loops (the leader lease runs on followers
/// too, so a replica that becomes leader after an outage knows of it). The sweep reads it to hold timeouts after an
/// outage (docs/reliability.md, "Stalls").
/// </summary>
internal sealed class RedisOutageWatch(TimeProvider time)
{
    private long _lastFailure;

    /// <summary>Notes a failure when <paramref name="ex"/> is a Redis one; returns whether it was.</summary>
    public bool Note(Exception ex)
    {
        if (!RedisErrors.IsRedisFailure(ex))
        {
            return false;
        }

        Interlocked.Exchange(ref _lastFailure, time.GetTimestamp());
        return true;
    }

    /// <summary>Whether the last failure is less than <paramref name="span"/> ago.</summary>
    public bool Within(TimeSpan span)
    {
        var last = Interlocked.Read(ref _lastFailure);
        return last != 0 && time.GetElapsedTime(last) < span;
    }
}
