using Microsoft.Extensions.Options;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery.Features.Board;

/// <summary>
/// The whole board, polled without a query, answered from the fresh snapshot's rendered bytes ahead of the rest of
/// the pipeline (docs/architecture.md, "Board polls"): the answer the endpoint or the output cache would give (the
/// same bytes, ETag, Cache-Control, a 304 to a matching If-None-Match), without authentication, rate limiting or the
/// output cache's per-hit copy of its stored entry, none of which changes this anonymous, unlimited, shared answer.
/// Placed after CORS (its headers are set) and after routing (the request span and metrics keep the route). Any other
/// request, and any poll while no fresh board is held (the first, after the refresh interval, during an outage),
/// goes on through the pipeline unchanged: the endpoint rebuilds, marks stale answers and validates queries.
/// </summary>
internal sealed class BoardFastPath(RequestDelegate next, BoardCache cache, IOptionsMonitor<StatusQueryOptions> options, StatusQueryMetrics metrics, TimeProvider time)
{
    private const string Resource = "board";
    private static readonly BoardQuery WholeBoard = new BoardRequest().ToQuery();

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) || request.QueryString.HasValue
            || !string.Equals(request.Path.Value, BoardEndpoint.Route, StringComparison.Ordinal)
            || !cache.TryGetFresh(out var snapshot))
        {
            return next(context);
        }

        var rendered = snapshot.Render(WholeBoard);
        var response = context.Response;
        BoardAnswer.SetHeaders(response, rendered, options.CurrentValue);
        // As the output cache answers a hit: the age of the content it holds.
        response.Headers.Age = BoardAnswer.Age(snapshot, time.GetUtcNow());
        metrics.Cache(Resource, hit: true);
        if (ETags.IfNoneMatchMatches(request, rendered.ETag))
        {
            metrics.NotModified(Resource);
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        return BoardAnswer.WriteBodyAsync(response, rendered, context.RequestAborted);
    }
}
