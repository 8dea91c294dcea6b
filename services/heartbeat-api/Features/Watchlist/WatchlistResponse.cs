namespace Presence.HeartbeatApi.Features.Watchlist;

/// <summary>A community user's preferred therapists, sorted.</summary>
public sealed class WatchlistResponse
{
    public required IReadOnlyList<string> TherapistIds { get; init; }
}
