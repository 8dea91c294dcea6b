namespace Presence.HeartbeatApi.Features.Heartbeats;

/// <summary>The optional heartbeat body. The timestamp is only compared, never used for ordering.</summary>
public sealed class HeartbeatRequest
{
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Therapists only: sets or clears "accepting sessions" in the same round trip.</summary>
    public bool? Available { get; init; }

    /// <summary>False when the page is hidden or the app idle: the answer's interval is longer (null counts as visible).</summary>
    public bool? Visible { get; init; }
}
