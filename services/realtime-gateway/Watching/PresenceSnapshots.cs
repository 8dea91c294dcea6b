using Presence.Core;
using Presence.RealtimeGateway.Hubs;

namespace Presence.RealtimeGateway.Watching;

/// <summary>A watcher's first view, read through the shared <see cref="PresenceReader"/> (the board's own buckets).</summary>
internal sealed class PresenceSnapshots(PresenceReader reader, TimeProvider time)
{
    /// <summary>Every therapist that is online, recent or available, in board order.</summary>
    public async Task<PresenceSnapshot> AllTherapistsAsync(CancellationToken ct)
    {
        var board = await reader.GetBoardAsync(PresenceRole.Therapist, ct).ConfigureAwait(false);
        return new PresenceSnapshot { GeneratedAt = board.At, Entries = [.. board.Entries.Select(e => Map(PresenceRole.Therapist, e))] };
    }

    /// <summary>The named users of a role, each with its bucket (<c>offline</c> included), in the order asked.</summary>
    public async Task<PresenceSnapshot> UsersAsync(PresenceRole role, IReadOnlyList<UserId> ids, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var entries = await reader.GetManyAsync(role, ids, ct).ConfigureAwait(false);
        return new PresenceSnapshot { GeneratedAt = now, Entries = [.. entries.Select(e => Map(role, e))] };
    }

    private static SnapshotEntry Map(PresenceRole role, PresenceEntry entry) => new()
    {
        Role = role.Name(),
        Id = entry.Id,
        Status = entry.Status.Name(),
        Available = entry.Available,
        LastActive = entry.LastActive,
        AvailableUntil = entry.AvailableUntil,
        Specialties = entry.Specialties ?? [],
        Ver = entry.Ver,
    };
}
