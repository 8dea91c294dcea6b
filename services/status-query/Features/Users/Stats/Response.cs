namespace Presence.StatusQuery.Features.Users.Stats;

public sealed class StatsResponse
{
    public required DateTimeOffset GeneratedAt { get; init; }

    public required ThresholdsView Thresholds { get; init; }

    /// <summary>Keyed by role name (<c>therapist</c>, <c>community</c>).</summary>
    public required IReadOnlyDictionary<string, CountsView> Roles { get; init; }
}
