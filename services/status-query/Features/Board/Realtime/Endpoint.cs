using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.StatusQuery.Features.Board;

namespace Presence.StatusQuery.Features.Board.Realtime;

/// <summary>
/// <c>GET /v1/therapists/status/realtime</c>: every therapist who is online, recent or available. Thousands of
/// pollers cost Redis one read per refresh interval: the output cache answers repeats (and 304s) per URL, and
/// <see cref="BoardCache"/> shares one read among all URLs and keeps the last good board through an outage.
/// </summary>
public sealed class BoardEndpoint(BoardCache cache, IOptionsMonitor<StatusQueryOptions> options, TimeProvider time)
    : Endpoint<BoardRequest, BoardResponse>
{
    public const string Route = "/v1/therapists/status/realtime";
    public const string StaleHeader = "X-Presence-Stale";

    public override void Configure()
    {
        Get(Route);
        AllowAnonymous();
        Options(b => b.CacheOutput(new PublicReadCachePolicy("board", "status", "limit", "cursor", "specialty")));
        Description(b => b.Produces(304).ProducesProblemDetails(400).ProducesProblemDetails(503));
        Summary(s =>
        {
            s.Summary = "The therapists' board: online first, then recent by recency, then available.";
            s.Description = "Strong ETag (If-None-Match gets 304) and a short public Cache-Control. While Redis is unavailable the last good "
                + "board is served with X-Presence-Stale: true and its Age.";
        });
    }

    public override async Task HandleAsync(BoardRequest req, CancellationToken ct)
    {
        var read = await cache.GetAsync(ct);
        var rendered = read.Snapshot.Render(req.ToQuery());
        var response = HttpContext.Response;
        BoardAnswer.SetHeaders(response, rendered, options.CurrentValue);
        if (read.Stale)
        {
            PublicReadCachePolicy.DoNotStore(HttpContext);
            response.Headers[StaleHeader] = "true";
            response.Headers.Age = BoardAnswer.Age(read.Snapshot, time.GetUtcNow());
        }

        if (ETags.IfNoneMatchMatches(HttpContext.Request, rendered.ETag))
        {
            // A 304 made here is not stored: the output cache stores the 200 and answers later 304s itself.
            PublicReadCachePolicy.DoNotStore(HttpContext);
            await Send.NotModifiedAsync(ct);
            return;
        }

        await BoardAnswer.WriteBodyAsync(response, rendered, ct);
    }
}
