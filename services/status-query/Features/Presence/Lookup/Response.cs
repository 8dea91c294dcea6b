namespace Presence.StatusQuery.Features.Presence.Lookup;

public sealed class LookupResponse
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public required bool Available { get; init; }

    public required DateTimeOffset? LastActive { get; init; }

    public required string? LastActiveAgo { get; init; }

    /// <summary>The explicit end of the availability, when the therapist gave one.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The therapist's allow-listed specialties (empty when none).</summary>
    public IReadOnlyList<string> Specialties { get; init; } = [];

    /// <summary>The version of the user's latest event (docs/architecture.md, "Versions").</summary>
    public long Ver { get; init; }
}
