using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.RealtimeGateway.Connections;
using Presence.RealtimeGateway.Hubs;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway.Watching;

/// <summary>
/// Watch lists: SignalR groups per watched user and one for all therapists, which the event consumer sends to.
/// A connection watching all therapists is kept out of the per-therapist groups, so no push reaches it twice.
/// Each watch answers a snapshot read after the subscription took effect: a change is then either in the
/// snapshot or pushed afterwards (or both; a push carries its time), never lost in between.
/// </summary>
internal sealed class Watchers(
    IHubContext<PresenceHub, IPresenceClient> hub, PresenceSnapshots snapshots, SharedBoard board, IOptionsMonitor<GatewayOptions> options, WatchMarks marks)
{
    public const string AllTherapistsGroup = "all:therapist";

    public static string UserGroup(PresenceRole role, string id) => "w:" + role.Name() + ":" + id;

    /// <summary>Groups a transition of this user is sent to.</summary>
    public static IReadOnlyList<string> GroupsFor(PresenceRole role, string id) =>
        role == PresenceRole.Therapist ? [AllTherapistsGroup, UserGroup(role, id)] : [UserGroup(role, id)];

    public async Task<PresenceSnapshot> WatchAllTherapistsAsync(ConnectionState state, HubCallerContext context)
    {
        var ct = context.ConnectionAborted;
        if (!state.WatchesAllTherapists)
        {
            await hub.Groups.AddToGroupAsync(context.ConnectionId, AllTherapistsGroup, ct).ConfigureAwait(false);
            state.WatchesAllTherapists = true;
            await Task.WhenAll(state.WatchedTherapists.Select(id => hub.Groups.RemoveFromGroupAsync(context.ConnectionId, UserGroup(PresenceRole.Therapist, id), ct)))
                .ConfigureAwait(false);
        }

        // Shared with the other callers of this instance that subscribed before the read starts (see SharedBoard).
        return await board.GetAsync(ct).ConfigureAwait(false);
    }

    public async Task UnwatchAllTherapistsAsync(ConnectionState state, HubCallerContext context)
    {
        var ct = context.ConnectionAborted;
        if (!state.WatchesAllTherapists)
        {
            return;
        }

        // Individually watched therapists stay watched: back into their own groups first, so nothing is missed.
        await Task.WhenAll(state.WatchedTherapists.Select(id => hub.Groups.AddToGroupAsync(context.ConnectionId, UserGroup(PresenceRole.Therapist, id), ct)))
            .ConfigureAwait(false);
        await hub.Groups.RemoveFromGroupAsync(context.ConnectionId, AllTherapistsGroup, ct).ConfigureAwait(false);
        state.WatchesAllTherapists = false;
    }

    public async Task<PresenceSnapshot> WatchAsync(ConnectionState state, HubCallerContext context, PresenceRole role, string[]? ids)
    {
        var requested = ParseIds(ids);
        if (role == PresenceRole.Community)
        {
            EnsureMayWatchCommunity(context, requested);
        }

        var watched = state.Watched(role);
        var added = requested.Where(id => !watched.Contains(id.Value)).ToArray();
        var max = options.CurrentValue.MaxWatchedIds;
        if (state.WatchedCount + added.Length > max)
        {
            throw new HubException($"A connection may watch at most {max.ToString(CultureInfo.InvariantCulture)} ids; unwatch some first.");
        }

        var ct = context.ConnectionAborted;
        if (role == PresenceRole.Community || !state.WatchesAllTherapists)
        {
            await Task.WhenAll(added.Select(id => hub.Groups.AddToGroupAsync(context.ConnectionId, UserGroup(role, id), ct))).ConfigureAwait(false);
        }

        watched.UnionWith(added.Select(id => id.Value));
        if (role == PresenceRole.Therapist)
        {
            await marks.AddAsync(added, ct).ConfigureAwait(false);
        }

        return await snapshots.UsersAsync(role, requested, ct).ConfigureAwait(false);
    }

    public async Task UnwatchAsync(ConnectionState state, HubCallerContext context, PresenceRole role, string[]? ids)
    {
        var requested = ParseIds(ids);
        var watched = state.Watched(role);
        var removed = requested.Select(id => id.Value).Where(watched.Contains).ToArray();
        var ct = context.ConnectionAborted;
        if (role == PresenceRole.Community || !state.WatchesAllTherapists)
        {
            await Task.WhenAll(removed.Select(id => hub.Groups.RemoveFromGroupAsync(context.ConnectionId, UserGroup(role, id), ct))).ConfigureAwait(false);
        }

        watched.ExceptWith(removed);
        if (role == PresenceRole.Therapist)
        {
            marks.Remove(removed);
        }
    }

    /// <summary>The connection closed: its watches no longer count towards the watched signal.</summary>
    public void Forget(ConnectionState state) => marks.Remove(state.WatchedTherapists);

    /// <summary>Privacy (docs/architecture.md, "Privacy"): a community user's status is visible to therapists and to that user only.</summary>
    private static void EnsureMayWatchCommunity(HubCallerContext context, UserId[] ids)
    {
        if (!context.User.TryGetUser(out var role, out var self))
        {
            throw new HubException("Sign in to watch community users; anonymous connections may only watch therapists.");
        }

        if (role != PresenceRole.Therapist && ids.Any(id => id != self))
        {
            throw new HubException("A community user's status is visible to therapists and to that user only.");
        }
    }

    /// <summary>The hub's watch ids parsed where they enter: a HubException for any id that is not a <see cref="UserId"/>.</summary>
    private UserId[] ParseIds(string[]? ids)
    {
        if (ids is null || ids.Length == 0)
        {
            throw new HubException("ids must be a non-empty array of user ids.");
        }

        var max = options.CurrentValue.MaxWatchedIds;
        if (ids.Length > max)
        {
            throw new HubException($"At most {max.ToString(CultureInfo.InvariantCulture)} ids per call.");
        }

        var parsed = new UserId[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            if (!UserId.TryParse(ids[i], out parsed[i]))
            {
                throw new HubException("Every id must match " + UserId.Pattern + ".");
            }
        }

        return [.. parsed.Distinct()];
    }
}
