using Microsoft.AspNetCore.SignalR;
using Presence.Core;
using Presence.RealtimeGateway.Limits;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// What the gateway remembers about one hub connection. SignalR runs one invocation of a connection at a time
/// (MaximumParallelInvocationsPerClient = 1), and OnDisconnected after the last, so this needs no locks.
/// </summary>
internal sealed class ConnectionState(TokenBucket heartbeats)
{
    private static readonly object Key = new();

    /// <summary>Set by the first heartbeat or join: from then on the connection is recorded in Redis.</summary>
    public PresenceRole? JoinedRole { get; set; }

    public string? JoinedUserId { get; set; }

    public TokenBucket Heartbeats { get; } = heartbeats;

    public bool WatchesAllTherapists { get; set; }

    public HashSet<string> WatchedTherapists { get; } = new(StringComparer.Ordinal);

    public HashSet<string> WatchedCommunity { get; } = new(StringComparer.Ordinal);

    public int WatchedCount => WatchedTherapists.Count + WatchedCommunity.Count;

    public HashSet<string> Watched(PresenceRole role) => role == PresenceRole.Therapist ? WatchedTherapists : WatchedCommunity;

    public static ConnectionState Of(HubCallerContext context) =>
        context.Items.TryGetValue(Key, out var state) && state is ConnectionState s
            ? s
            : throw new InvalidOperationException("The connection has no state: OnConnectedAsync did not run.");

    public void AttachTo(HubCallerContext context) => context.Items[Key] = this;
}
