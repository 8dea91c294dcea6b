using Microsoft.AspNetCore.SignalR;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>What the server sends to clients (docs/architecture.md, "Hub"); the wire names are the seed's.</summary>
public interface IPresenceClient
{
    [HubMethodName(PresenceHub.HeartbeatAckMethod)]
    Task HeartbeatAck(HeartbeatAck ack);

    [HubMethodName(PresenceHub.PresenceChangedMethod)]
    Task PresenceChanged(PresenceChanged change);

    /// <summary>A therapist on the community user's watchlist became online or available (docs/engagement.md, "Notifications").</summary>
    [HubMethodName(Presence.Core.Engagement.PreferredOnline.TypeName)]
    Task PreferredOnline(Presence.Core.Engagement.PreferredOnline note);
}
