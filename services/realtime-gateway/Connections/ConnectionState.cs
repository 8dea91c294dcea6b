using Microsoft.AspNetCore.SignalR;
using Presence.Core;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// What the gateway remembers about one hub connection. SignalR runs one invocation of a connection at a time
/// (MaximumParallelInvocationsPerClient = 1), and OnDisconnected after the last, so this needs no locks.
/// </summary>
internal sealed class ConnectionState(HeartbeatBucket heartbeats)
{
    private static readonly object Key = new();

    /// <summary>Set by the first heartbeat or join: from then on the connection is recorded in Redis.</summary>
    public Role? JoinedRole { get; set; }

    public string? JoinedUserId { get; set; }

    public HeartbeatBucket Heartbeats { get; } = heartbeats;

    public bool WatchesAllTherapists { get; set; }

    public HashSet<string> WatchedTherapists { get; } = new(StringComparer.Ordinal);

    public HashSet<string> WatchedCommunity { get; } = new(StringComparer.Ordinal);

    public int WatchedCount => WatchedTherapists.Count + WatchedCommunity.Count;

    public HashSet<string> Watched(Role role) => role == Role.Therapist ? WatchedTherapists : WatchedCommunity;

    public static ConnectionState Of(HubCallerContext context) =>
        context.Items.TryGetValue(Key, out var state) && state is ConnectionState s
            ? s
            : throw new InvalidOperationException("The connection has no state: OnConnectedAsync did not run.");

    public void AttachTo(HubCallerContext context) => context.Items[Key] = this;
}

/// <summary>
/// A token bucket on the injected clock: a burst of hub heartbeats is fine, a flood is not. The REST min interval
/// does not apply to the hub (one connection is one user's one tab), so this is the hub's guard.
/// </summary>
internal sealed class HeartbeatBucket(int capacity, TimeSpan tokenPeriod, DateTimeOffset now)
{
    private double _tokens = capacity;
    private DateTimeOffset _last = now;

    public bool TryTake(DateTimeOffset now, out TimeSpan retryAfter)
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
