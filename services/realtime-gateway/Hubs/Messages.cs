using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>The <c>heartbeat</c> payload (may be <c>{}</c> or null). The timestamp is only compared, never used for ordering.</summary>
public sealed class HeartbeatMessage
{
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Therapists only: sets or clears "accepting sessions" in the same round trip.</summary>
    public bool? Available { get; init; }

    /// <summary>False when the page is hidden or the app idle: the ack's interval is longer (null counts as visible).</summary>
    public bool? Visible { get; init; }
}

/// <summary><c>heartbeat-ack</c>: sent to the caller and also returned as the invocation's result.</summary>
public sealed class HeartbeatAck
{
    public required DateTimeOffset ServerTime { get; init; }

    public required int NextHeartbeatSeconds { get; init; }

    /// <summary>Client timestamp minus server time, only when further off than the report threshold.</summary>
    public double? ClockSkewSeconds { get; init; }
}

/// <summary>The <c>joinAsTherapist</c> payload.</summary>
public sealed class JoinTherapistRequest
{
    /// <summary>Must equal the token's <c>sub</c>.</summary>
    public string? TherapistId { get; init; }

    /// <summary>Allow-listed, few; stored on the user hash as <c>specialties</c> (comma-separated).</summary>
    public string[]? Specialties { get; init; }

    /// <summary>When set, also sets or clears "accepting sessions".</summary>
    public bool? Available { get; init; }
}

/// <summary><c>presence-changed</c>: one transition from a role's event stream.</summary>
/// <remarks>
/// <c>status</c> is the transition as recorded: <c>online</c>, <c>recent</c> (online ended), <c>available</c> or
/// <c>unavailable</c> (the therapist's flag changed; the online/recent bucket did not).
/// </remarks>
public sealed class PresenceChanged
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    /// <summary>The user's last activity (falls back to the transition time when it cannot be read).</summary>
    public DateTimeOffset? LastActive { get; init; }
}

/// <summary>What a <c>watch</c> call answers: the current statuses, read after the subscription took effect.</summary>
public sealed class PresenceSnapshot
{
    public required DateTimeOffset GeneratedAt { get; init; }

    public required IReadOnlyList<SnapshotEntry> Entries { get; init; }
}

/// <summary>One user in a snapshot; <c>status</c> is the bucket: <c>online</c>, <c>recent</c>, <c>available</c> or <c>offline</c>.</summary>
public sealed class SnapshotEntry
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public required bool Available { get; init; }

    public DateTimeOffset? LastActive { get; init; }
}

/// <summary>What goes onto the wire at volume is serialized without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HeartbeatMessage))]
[JsonSerializable(typeof(HeartbeatAck))]
[JsonSerializable(typeof(JoinTherapistRequest))]
[JsonSerializable(typeof(PresenceChanged))]
[JsonSerializable(typeof(PresenceSnapshot))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
