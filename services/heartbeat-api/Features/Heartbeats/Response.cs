using System.Text.Json.Serialization;

namespace Presence.HeartbeatApi.Features.Heartbeats;

public sealed class HeartbeatResponse
{
    public required bool Accepted { get; init; }

    public required DateTimeOffset ServerTime { get; init; }

    public required int NextHeartbeatSeconds { get; init; }

    /// <summary>Client timestamp minus server time, only when further off than the report threshold.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ClockSkewSeconds { get; init; }
}
