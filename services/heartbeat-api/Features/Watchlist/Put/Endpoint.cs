using FastEndpoints;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.Watchlist.Put;

/// <summary><c>PUT /v1/community/watchlist</c>: replaces the calling community user's preferred therapists (own list only).</summary>
public sealed class Endpoint(Watchlists watchlists) : Endpoint<Request, WatchlistResponse>
{
    public override void Configure()
    {
        Put("/v1/community/watchlist");
        Roles(PresenceRole.Community.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        Description(b => b.ProducesProblemDetails(400).ProducesProblemDetails(503));
        Summary(s => s.Summary = $"Replaces the calling community user's preferred therapists (at most {Watchlists.MaxTherapists}).");
    }

    public override async Task HandleAsync(Request req, CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("watchlist.put");
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        var ids = await watchlists.ReplaceAsync(userId, req.TherapistIds!, ct);
        activity?.SetTag(PresenceTags.WatchlistCount, ids.Count);
        await Send.OkAsync(new WatchlistResponse { TherapistIds = ids }, ct);
    }
}
