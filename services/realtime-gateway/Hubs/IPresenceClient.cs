using Microsoft.AspNetCore.SignalR;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>What the server sends to clients (docs/architecture.md, "Hub"); the wire names are the seed's.</summary>
public interface IPresenceClient
{
    [HubMethodName(PresenceHub.HeartbeatAckMethod)]
    Task HeartbeatAck(HeartbeatAck ack);

    [HubMethodName(PresenceHub.PresenceChangedMethod)]
    Task PresenceChanged(PresenceChanged change);
}
