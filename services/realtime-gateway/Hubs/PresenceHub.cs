using Microsoft.AspNetCore.SignalR;
using Presence.Core;
using Presence.RealtimeGateway.Connections;
using Presence.RealtimeGateway.Watching;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>
/// <c>/hubs/presence</c> (docs/architecture.md, "Hub"). Thin: the work is in <see cref="HubSessions"/> and <see cref="Watchers"/>;
/// errors become <see cref="HubException"/>s in <see cref="PresenceHubFilter"/>. Anonymous connections are
/// allowed and may only watch therapists.
/// </summary>
internal sealed class PresenceHub(HubSessions sessions, Watchers watchers) : Hub<IPresenceClient>
{
    public const string HeartbeatAckMethod = "heartbeat-ack";
    public const string PresenceChangedMethod = "presence-changed";

    public override Task OnConnectedAsync()
    {
        sessions.NewConnection().AttachTo(Context);
        return Task.CompletedTask;
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        watchers.Forget(ConnectionState.Of(Context));
        await sessions.DisconnectedAsync(ConnectionState.Of(Context), Context.ConnectionId);
    }

    /// <summary>Answers on the invocation and with a <c>heartbeat-ack</c> message, for clients that only send (the seed's emit style).</summary>
    [HubMethodName("heartbeat")]
    public async Task<HeartbeatAck> Heartbeat(HeartbeatMessage? message)
    {
        var ack = await sessions.HeartbeatAsync(ConnectionState.Of(Context), Context, message);
        await Clients.Caller.HeartbeatAck(ack);
        return ack;
    }

    [HubMethodName("joinAsTherapist")]
    public Task<HeartbeatAck> JoinAsTherapist(JoinTherapistRequest? request) =>
        sessions.JoinAsTherapistAsync(ConnectionState.Of(Context), Context, request);

    [HubMethodName("joinAsUser")]
    public Task<HeartbeatAck> JoinAsUser() => sessions.JoinAsUserAsync(ConnectionState.Of(Context), Context);

    [HubMethodName("watchTherapists")]
    public Task<PresenceSnapshot> WatchTherapists() => watchers.WatchAllTherapistsAsync(ConnectionState.Of(Context), Context);

    [HubMethodName("unwatchTherapists")]
    public Task UnwatchTherapists() => watchers.UnwatchAllTherapistsAsync(ConnectionState.Of(Context), Context);

    /// <summary>Watches therapists by id.</summary>
    [HubMethodName("watch")]
    public Task<PresenceSnapshot> Watch(string[]? ids) => watchers.WatchAsync(ConnectionState.Of(Context), Context, PresenceRole.Therapist, ids);

    [HubMethodName("unwatch")]
    public Task Unwatch(string[]? ids) => watchers.UnwatchAsync(ConnectionState.Of(Context), Context, PresenceRole.Therapist, ids);

    /// <summary>Watches community users by id: therapists, or a community user watching itself.</summary>
    [HubMethodName("watchCommunity")]
    public Task<PresenceSnapshot> WatchCommunity(string[]? ids) => watchers.WatchAsync(ConnectionState.Of(Context), Context, PresenceRole.Community, ids);

    [HubMethodName("unwatchCommunity")]
    public Task UnwatchCommunity(string[]? ids) => watchers.UnwatchAsync(ConnectionState.Of(Context), Context, PresenceRole.Community, ids);
}
