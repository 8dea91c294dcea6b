using FastEndpoints;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.Watchlist.Get;

/// <summary><c>GET /v1/community/watchlist</c>: the calling community user's preferred therapists (own list only).</summary>
public sealed class Endpoint(Watchlists watchlists) : EndpointWithoutRequest<WatchlistResponse>
{
    public override void Configure()
    {
        Get("/v1/community/watchlist");
        Roles(PresenceRole.Community.Name());
        Description(b => b.ProducesProblemDetails(503));
        Summary(s => s.Summary = "The calling community user's preferred therapists; the id comes from the token.");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("watchlist.get");
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        var ids = await watchlists.GetAsync(userId, ct);
        activity?.SetTag(PresenceTags.WatchlistCount, ids.Count);
        await Send.OkAsync(new WatchlistResponse { TherapistIds = ids }, ct);
    }
}
