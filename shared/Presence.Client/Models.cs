using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.Client;

/// <summary>The two roles of DESIGN.md §1, with their names on the wire.</summary>
public enum PresenceRole
{
    Therapist,
    Community,
}

public static class PresenceRoles
{
    /// <summary><c>therapist</c> or <c>community</c>: the <c>role</c> claim, the lookup path and the query body.</summary>
    public static string Name(this PresenceRole role) => role switch
    {
        PresenceRole.Therapist => "therapist",
        PresenceRole.Community => "community",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    /// <summary>The plural path segment of the write endpoints: <c>therapists</c> or <c>community</c>.</summary>
    public static string RouteSegment(this PresenceRole role) => role switch
    {
        PresenceRole.Therapist => "therapists",
        PresenceRole.Community => "community",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };
}

/// <summary>The optional heartbeat body; the timestamp is only used by the server to report clock skew.</summary>
public sealed record HeartbeatRequest
{
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Therapists only: sets or clears "accepting sessions" in the same round trip.</summary>
    public bool? Available { get; init; }

    /// <summary>False while the app is hidden or idle: the server answers a longer <c>nextHeartbeatSeconds</c>.</summary>
    public bool? Visible { get; init; }
}

/// <summary>An accepted heartbeat (REST answer or hub <c>heartbeat-ack</c>).</summary>
public sealed record HeartbeatAck
{
    public bool Accepted { get; init; } = true;

    public required DateTimeOffset ServerTime { get; init; }

    /// <summary>When to send the next one: the server's advertised interval, obeyed by <see cref="HeartbeatLoop"/>.</summary>
    public required int NextHeartbeatSeconds { get; init; }

    /// <summary>Client timestamp minus server time, only when further off than the server's report threshold.</summary>
    public double? ClockSkewSeconds { get; init; }
}

public sealed record AvailabilityResult
{
    public required bool Available { get; init; }

    /// <summary>False when the flag already had this value.</summary>
    public required bool Changed { get; init; }
}

/// <summary>One user's status: <c>online</c>, <c>recent</c>, <c>available</c> or <c>offline</c>.</summary>
public sealed record PresenceStatus
{
    /// <summary>Set by the single lookup; the board and the batch carry the role once for all entries.</summary>
    public string? Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public required bool Available { get; init; }

    public DateTimeOffset? LastActive { get; init; }

    /// <summary><c>just now</c>, <c>5m ago</c>, <c>1h ago</c>, computed by the server.</summary>
    public string? LastActiveAgo { get; init; }
}

public sealed record PresenceThresholds
{
    public required int OnlineSeconds { get; init; }

    public required int RecentSeconds { get; init; }
}

public sealed record PresenceCounts
{
    public required int Online { get; init; }

    public required int Recent { get; init; }

    public required int Available { get; init; }
}

/// <summary>The therapists' board (<c>GET /v1/therapists/status/realtime</c>).</summary>
public sealed record Board
{
    public required DateTimeOffset GeneratedAt { get; init; }

    public required PresenceThresholds Thresholds { get; init; }

    public required PresenceCounts Counts { get; init; }

    public required IReadOnlyList<PresenceStatus> Therapists { get; init; }

    public string? NextCursor { get; init; }
}

/// <summary>Optional filters of the board: buckets (<c>online</c>, <c>recent</c>, <c>available</c>), page size and cursor.</summary>
public sealed record BoardQuery
{
    public IReadOnlyList<string>? Statuses { get; init; }

    public int? Limit { get; init; }

    public string? Cursor { get; init; }
}

/// <summary>
/// A board read: <see cref="NotModified"/> when the <c>If-None-Match</c> ETag still matched (then <see cref="Board"/> is null);
/// <see cref="Stale"/> when the server could not reach Redis and served its last good board, <see cref="Age"/> old.
/// </summary>
public sealed record BoardResult
{
    public Board? Board { get; init; }

    public string? ETag { get; init; }

    public bool NotModified { get; init; }

    public bool Stale { get; init; }

    public TimeSpan? Age { get; init; }
}

public sealed record PresenceQueryResult
{
    public required string Role { get; init; }

    public required DateTimeOffset GeneratedAt { get; init; }

    public required IReadOnlyList<PresenceStatus> Users { get; init; }
}

public sealed record PresenceStats
{
    public required DateTimeOffset GeneratedAt { get; init; }

    public required PresenceThresholds Thresholds { get; init; }

    /// <summary>Keyed by role name.</summary>
    public required IReadOnlyDictionary<string, PresenceCounts> Roles { get; init; }
}

/// <summary>A hub <c>presence-changed</c>: <c>online</c>, <c>recent</c> (online ended), <c>available</c> or <c>unavailable</c>.</summary>
public sealed record PresenceChange
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public DateTimeOffset? LastActive { get; init; }
}

/// <summary>What a hub <c>watch</c> answers: the statuses read after the subscription took effect.</summary>
public sealed record PresenceSnapshot
{
    public required DateTimeOffset GeneratedAt { get; init; }

    public required IReadOnlyList<PresenceStatus> Entries { get; init; }
}

internal sealed record QueryBody(string Role, IReadOnlyList<string> Ids);

internal sealed record AvailabilityBody(bool Available);

internal sealed record JoinTherapistBody
{
    public required string TherapistId { get; init; }

    public required IReadOnlyList<string> Specialties { get; init; }

    public bool? Available { get; init; }
}

/// <summary>An RFC 9457 problem as the services write it (FastEndpoints adds <c>errors</c> for validation failures).</summary>
internal sealed record ProblemBody
{
    public string? Type { get; init; }

    public string? Title { get; init; }

    public int? Status { get; init; }

    public string? Detail { get; init; }

    public string? Instance { get; init; }

    public JsonElement? Errors { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(HeartbeatAck))]
[JsonSerializable(typeof(AvailabilityResult))]
[JsonSerializable(typeof(AvailabilityBody))]
[JsonSerializable(typeof(PresenceStatus))]
[JsonSerializable(typeof(Board))]
[JsonSerializable(typeof(PresenceQueryResult))]
[JsonSerializable(typeof(QueryBody))]
[JsonSerializable(typeof(PresenceStats))]
[JsonSerializable(typeof(PresenceChange))]
[JsonSerializable(typeof(PresenceSnapshot))]
[JsonSerializable(typeof(JoinTherapistBody))]
[JsonSerializable(typeof(ProblemBody))]
internal sealed partial class PresenceClientJsonContext : JsonSerializerContext;
