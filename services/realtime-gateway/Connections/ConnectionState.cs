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
    /// <summary>Set by the first heartbeat or join: from then on the connection is recorded in Redis.</summary>
    public PresenceRole? JoinedRole { get; set; }

    public string? JoinedUserId { get; set; }

    public TokenBucket Heartbeats { get; } = heartbeats;

    public bool WatchesAllTherapists { get; set; }

    // Created by the first watch of their role: most connections only heartbeat, and two empty sets are 128 bytes of
    // every connection (docs/benchmarks.md, "Gateway memory per connection (2026-11-30, sixth session)").
    private HashSet<string>? _watchedTherapists;
    private HashSet<string>? _watchedCommunity;

    /// <summary>Therapists watched by id (empty until the first <see cref="Watched"/> of therapists).</summary>
    public IReadOnlyCollection<string> WatchedTherapists => _watchedTherapists ?? (IReadOnlyCollection<string>)[];

    public int WatchedCount => (_watchedTherapists?.Count ?? 0) + (_watchedCommunity?.Count ?? 0);

    /// <summary>The ids of <paramref name="role"/> this connection watches, to read or change.</summary>
    public HashSet<string> Watched(PresenceRole role) => role == PresenceRole.Therapist
        ? _watchedTherapists ??= new(StringComparer.Ordinal)
        : _watchedCommunity ??= new(StringComparer.Ordinal);

    // A feature of the connection rather than an entry of HubCallerContext.Items: Items is a ConcurrentDictionary SignalR
    // creates on first use (about 400 bytes a connection), the connection's feature collection exists anyway and has
    // room (docs/benchmarks.md, "Gateway memory per connection (2026-11-30, sixth session)").
    public static ConnectionState Of(HubCallerContext context) =>
        context.Features.Get<ConnectionState>()
            ?? throw new InvalidOperationException("The connection has no state: OnConnectedAsync did not run.");

    public void AttachTo(HubCallerContext context) => context.Features.Set(this);
}
