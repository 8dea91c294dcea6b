namespace Presence.Client;

/// <summary>
/// Gives the bearer token for the next call or (re)connect, or null for anonymous. The one token shape of this package:
/// <see cref="PresenceClient"/> asks it for every request and <see cref="PresenceHubClient"/> for every (re)connect, so a
/// refreshed token is used at once and never needs a new client.
/// </summary>
public delegate ValueTask<string?> PresenceTokenProvider(CancellationToken cancellationToken);
