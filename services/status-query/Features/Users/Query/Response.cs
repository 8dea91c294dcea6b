namespace Presence.StatusQuery.Features.Users.Query;

public sealed class QueryResponse
{
    public required string Role { get; init; }

    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>One entry per distinct id asked, in the order asked.</summary>
    public required IReadOnlyList<PresenceView> Users { get; init; }
}
