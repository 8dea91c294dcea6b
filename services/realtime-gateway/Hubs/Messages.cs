using Presence.Core;
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

    /// <summary>Allow-listed (<c>Presence:Specialties</c>), few; readable on the board, lookups and snapshots.</summary>
    public string[]? Specialties { get; init; }

    /// <summary>When set, also sets or clears "accepting sessions".</summary>
    public bool? Available { get; init; }
}

/// <summary>
/// <c>presence-changed</c>: one state event (docs/architecture.md, "Events"): the user's whole state after a transition.
/// A client keeps, per user, the event with the highest <c>ver</c> and drops older ones.
/// </summary>
public sealed class PresenceChanged
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    /// <summary>The user's version after this change; higher is newer.</summary>
    public required long Ver { get; init; }

    /// <summary>When the transition happened (server time).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary><c>online</c>, <c>recent</c> or <c>offline</c>.</summary>
    public required string Status { get; init; }

    public required bool Available { get; init; }

    /// <summary>The explicit end of the availability, when the therapist gave one.</summary>
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The user's last activity, when known.</summary>
    public DateTimeOffset? LastActive { get; init; }

    /// <summary>What caused it: heartbeat, join, signoff, timeout, lost-instance, window-ended, set or expired.</summary>
    public required string Reason { get; init; }

    public static PresenceChanged From(Presence.Core.PresenceEvent e) => new()
    {
        Role = e.Role.Name(),
        Id = e.Id,
        Ver = e.Ver,
        At = e.At,
        Status = e.Status,
        Available = e.Available,
        AvailableUntil = e.AvailableUntil,
        LastActive = e.LastActive,
        Reason = e.Reason,
    };
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

    /// <summary>The explicit end of the availability, when one was given.</summary>
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The therapist's specialties (empty when none).</summary>
    public IReadOnlyList<string> Specialties { get; init; } = [];

    /// <summary>The version of the user's latest event when read: a push below it is older than this snapshot.</summary>
    public long Ver { get; init; }
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
