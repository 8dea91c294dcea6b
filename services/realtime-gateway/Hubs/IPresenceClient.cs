using Microsoft.AspNetCore.SignalR;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>What the server sends to clients (DESIGN.md §5); the wire names are the seed's.</summary>
public interface IPresenceClient
{
    [HubMethodName(PresenceHub.HeartbeatAckMethod)]
    Task HeartbeatAck(HeartbeatAck ack);

    [HubMethodName(PresenceHub.PresenceChangedMethod)]
    Task PresenceChanged(PresenceChanged change);
}
