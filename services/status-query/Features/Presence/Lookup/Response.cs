namespace Presence.StatusQuery.Features.Presence.Lookup;

public sealed class LookupResponse
{
    public required string Role { get; init; }

    public required string Id { get; init; }

    public required string Status { get; init; }

    public required bool Available { get; init; }

    public required DateTimeOffset? LastActive { get; init; }

    public required string? LastActiveAgo { get; init; }
}
