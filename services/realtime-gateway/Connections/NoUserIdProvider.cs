using Microsoft.AspNetCore.SignalR;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// No SignalR user identifier for any connection (docs/architecture.md, "Hub"): the gateway never sends to
/// <c>Clients.User</c>, and with an identifier the Redis backplane subscribes every connection to its user's channel
/// besides its own (a second subscription, about 3 KB a connection). The hub reads the user from its principal
/// (<see cref="HubSessions.RequireUser"/>), never from <c>Context.UserIdentifier</c>.
/// </summary>
internal sealed class NoUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => null;
}
