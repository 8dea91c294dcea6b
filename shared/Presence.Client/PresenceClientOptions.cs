namespace Presence.Client;

/// <summary>Settings of <see cref="PresenceClient"/>.</summary>
public sealed class PresenceClientOptions
{
    /// <summary>
    /// Gives the bearer token for each call (null: anonymous). Called per request, so a refreshed token is picked up
    /// without rebuilding the client.
    /// </summary>
    public PresenceTokenProvider? AccessTokenProvider { get; set; }

    /// <summary>
    /// How many times a 503 is retried after the server's <c>Retry-After</c> before <see cref="PresenceUnavailableException"/>
    /// is thrown (<see cref="PresenceResilience"/>). 429 is never retried: the caller (or <see cref="HeartbeatLoop"/>)
    /// decides when to come back.
    /// </summary>
    public int UnavailableRetries { get; set; } = 2;

    /// <summary>A <c>Retry-After</c> longer than this is not waited for inside a call; the exception carries it instead.</summary>
    public TimeSpan MaxRetryAfterWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Used for the waits between retries (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Options with a fixed token (null: anonymous).</summary>
    public static PresenceClientOptions WithToken(string? token) =>
        new() { AccessTokenProvider = _ => ValueTask.FromResult(token) };
}
