namespace Presence.HeartbeatApi.Features.Availability;

public sealed class AvailabilityResponse
{
    public required bool Available { get; init; }

    /// <summary>False when the flag already had this value (the call is idempotent).</summary>
    public required bool Changed { get; init; }
}
