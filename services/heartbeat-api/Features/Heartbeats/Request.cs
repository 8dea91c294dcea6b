namespace Presence.HeartbeatApi.Features.Heartbeats;

/// <summary>The optional heartbeat body. The timestamp is only compared, never used for ordering.</summary>
public sealed class HeartbeatRequest
{
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Therapists only: sets or clears "accepting sessions" in the same round trip; <c>true</c> also renews it.</summary>
    public bool? Available { get; init; }

    /// <summary>False when the page is hidden or the app idle: the answer's interval is longer (null counts as visible).</summary>
    public bool? Visible { get; init; }

    /// <summary>The REST session (device) this beat keeps alive; else the <c>X-Presence-Device</c> header, else the default one.</summary>
    public string? DeviceId { get; init; }

    /// <summary>Therapists only: allow-listed specialties to store (replaces the stored list).</summary>
    public string[]? Specialties { get; init; }
}
