namespace Presence.HeartbeatApi.Features.Availability;

public sealed class AvailabilityResponse
{
    public required bool Available { get; init; }

    /// <summary>The explicit end, when one was given.</summary>
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>When the availability lapses unless renewed (the explicit end, or now + the availability TTL).</summary>
    public DateTimeOffset? LapsesAt { get; init; }

    /// <summary>False when the state already was this (the call is idempotent; it still renews the TTL).</summary>
    public required bool Changed { get; init; }
}
