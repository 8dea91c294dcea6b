using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.Client;

/// <summary>The two roles (docs/architecture.md, "The model (shared/Presence.Core)"), with their names on the wire.</summary>
public enum PresenceRole
{
    /// <summary>A therapist (path segment <c>therapists</c>).</summary>
    Therapist,
    /// <summary>A community user (path segment <c>community</c>).</summary>
    Community,
}

/// <summary>The wire names of <see cref="PresenceRole"/>.</summary>
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
    /// <summary>The client's clock, only used by the server to report skew.</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Therapists only: sets or clears "accepting sessions" in the same round trip.</summary>
    public bool? Available { get; init; }

    /// <summary>False while the app is hidden or idle: the server answers a longer <c>nextHeartbeatSeconds</c>.</summary>
    public bool? Visible { get; init; }
}

/// <summary>An accepted heartbeat (REST answer or hub <c>heartbeat-ack</c>).</summary>
public sealed record HeartbeatAck
{
    /// <summary>Always true on a 200.</summary>
    public bool Accepted { get; init; } = true;

    /// <summary>The server's clock when it recorded the heartbeat.</summary>
    public required DateTimeOffset ServerTime { get; init; }

    /// <summary>When to send the next one: the server's advertised interval, obeyed by <see cref="HeartbeatLoop"/>.</summary>
    public required int NextHeartbeatSeconds { get; init; }

    /// <summary>Client timestamp minus server time, only when further off than the server's report threshold.</summary>
    public double? ClockSkewSeconds { get; init; }
}

/// <summary>The answer to <c>PUT /v1/therapists/availability</c>.</summary>
public sealed record AvailabilityResult
{
    /// <summary>Whether the therapist now accepts sessions.</summary>
    public required bool Available { get; init; }

    /// <summary>False when the flag already had this value.</summary>
    public required bool Changed { get; init; }
}

/// <summary>One user's status: <c>online</c>, <c>recent</c>, <c>available</c> or <c>offline</c>.</summary>
public sealed record PresenceStatus
{
    /// <summary>Set by the single lookup; the board and the batch carry the role once for all entries.</summary>
    public string? Role { get; init; }

    /// <summary>The user id.</summary>
    public required string Id { get; init; }

    /// <summary><c>online</c>, <c>recent</c>, <c>available</c> or <c>offline</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Therapists: accepting sessions.</summary>
    public required bool Available { get; init; }

    /// <summary>The last activity, when known.</summary>
    public DateTimeOffset? LastActive { get; init; }

    /// <summary><c>just now</c>, <c>5m ago</c>, <c>1h ago</c>, computed by the server.</summary>
    public string? LastActiveAgo { get; init; }

    /// <summary>The explicit end of the therapist's availability, when one was given.</summary>
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The therapist's specialties.</summary>
    public IReadOnlyList<string>? Specialties { get; init; }

    /// <summary>The version of the user's latest event when this was read; a push at or below it is older.</summary>
    public long Ver { get; init; }
}

/// <summary>The windows the buckets are computed with.</summary>
public sealed record PresenceThresholds
{
    /// <summary>A heartbeat keeps a user online this long.</summary>
    public required int OnlineSeconds { get; init; }

    /// <summary>After online, a user is recent this long.</summary>
    public required int RecentSeconds { get; init; }
}

/// <summary>How many users are in each bucket.</summary>
public sealed record PresenceCounts
{
    /// <summary>Online now.</summary>
    public required int Online { get; init; }

    /// <summary>Recently active.</summary>
    public required int Recent { get; init; }

    /// <summary>Available (accepting sessions) without being online or recent.</summary>
    public required int Available { get; init; }
}

/// <summary>The therapists' board (<c>GET /v1/therapists/status/realtime</c>).</summary>
public sealed record Board
{
    /// <summary>When the board was read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The windows in force.</summary>
    public required PresenceThresholds Thresholds { get; init; }

    /// <summary>The counts of the whole board.</summary>
    public required PresenceCounts Counts { get; init; }

    /// <summary>Online first, then recent by recency, then available.</summary>
    public required IReadOnlyList<PresenceStatus> Therapists { get; init; }

    /// <summary>The cursor of the next page, when there is one.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>Optional filters of the board: buckets (<c>online</c>, <c>recent</c>, <c>available</c>), page size and cursor.</summary>
public sealed record BoardQuery
{
    /// <summary>Only these buckets (online, recent, available).</summary>
    public IReadOnlyList<string>? Statuses { get; init; }

    /// <summary>At most this many therapists per page.</summary>
    public int? Limit { get; init; }

    /// <summary>The cursor of the page to read.</summary>
    public string? Cursor { get; init; }
}

/// <summary>
/// A board read: <see cref="NotModified"/> when the <c>If-None-Match</c> ETag still matched (then <see cref="Board"/> is null);
/// <see cref="Stale"/> when the server could not reach Redis and served its last good board, <see cref="Age"/> old.
/// </summary>
public sealed record BoardResult
{
    /// <summary>The board; null when <see cref="NotModified"/>.</summary>
    public Board? Board { get; init; }

    /// <summary>The board's ETag, for the next <c>If-None-Match</c>.</summary>
    public string? ETag { get; init; }

    /// <summary>The board did not change since the ETag given.</summary>
    public bool NotModified { get; init; }

    /// <summary>The server could not reach Redis and answered its last good board.</summary>
    public bool Stale { get; init; }

    /// <summary>How old a stale board is.</summary>
    public TimeSpan? Age { get; init; }
}

/// <summary>The answer to a batch query.</summary>
public sealed record PresenceQueryResult
{
    /// <summary>The role asked for.</summary>
    public required string Role { get; init; }

    /// <summary>When the statuses were read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>One entry per distinct id, in the order asked.</summary>
    public required IReadOnlyList<PresenceStatus> Users { get; init; }
}

/// <summary>Counts per role and bucket.</summary>
public sealed record PresenceStats
{
    /// <summary>When the counts were read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The windows in force.</summary>
    public required PresenceThresholds Thresholds { get; init; }

    /// <summary>Keyed by role name.</summary>
    public required IReadOnlyDictionary<string, PresenceCounts> Roles { get; init; }
}

/// <summary>
/// A hub <c>presence-changed</c>: the user's whole state after a transition. <c>status</c> is <c>online</c>,
/// <c>recent</c> or <c>offline</c>; a higher <c>ver</c> is newer (the hub client drops older ones).
/// </summary>
public sealed record PresenceChange
{
    /// <summary><c>therapist</c> or <c>community</c>.</summary>
    public required string Role { get; init; }

    /// <summary>The user id.</summary>
    public required string Id { get; init; }

    /// <summary>The user's transition counter; keep the highest (<see cref="PresenceVersions"/>). Absent: 0.</summary>
    public long Ver { get; init; }

    /// <summary>When the transition happened.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary><c>online</c>, <c>recent</c> or <c>offline</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Therapists: accepting sessions.</summary>
    public bool Available { get; init; }

    /// <summary>When "accepting sessions" lapses, if it does.</summary>
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The user's last activity.</summary>
    public DateTimeOffset? LastActive { get; init; }

    /// <summary><c>heartbeat</c>, <c>join</c>, <c>signoff</c>, <c>timeout</c>, <c>lost-instance</c>, <c>window-ended</c>, <c>set</c> or <c>expired</c>.</summary>
    public string? Reason { get; init; }
}

/// <summary>What a hub <c>watch</c> answers: the statuses read after the subscription took effect.</summary>
public sealed record PresenceSnapshot
{
    /// <summary>When the statuses were read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The watched users' statuses.</summary>
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
