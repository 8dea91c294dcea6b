using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Presence.Client;

/// <summary>Settings of <see cref="PresenceHubClient"/>.</summary>
public sealed class PresenceHubClientOptions
{
    /// <summary>The token (sent as <c>access_token</c> on WebSockets); null or returning null: anonymous (may only watch therapists).</summary>
    public PresenceTokenProvider? AccessTokenProvider { get; set; }

    /// <summary>Reconnect delays, also used between failed first connects. Default: <see cref="JitteredRetryPolicy"/>, for ever.</summary>
    public IRetryPolicy RetryPolicy { get; set; } = new JitteredRetryPolicy();

    /// <summary>Transport settings (handlers for tests, headers, transports).</summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }

    /// <summary>Logs of the connection and of this client.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
