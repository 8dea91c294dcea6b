using System.Globalization;
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
    private static readonly string[] SmallNumbers = [.. Enumerable.Range(0, 64).Select(i => i.ToString(CultureInfo.InvariantCulture))];
    private (long Seconds, string Header) _cacheControl = (-1, "");

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
        response.Headers.ETag = rendered.ETag;
        response.Headers.CacheControl = CacheControl();
        // As the output cache answers a hit: the age of the content it holds.
        response.Headers.Age = Number((long)Math.Max(0, (time.GetUtcNow() - snapshot.ReadAt).TotalSeconds));
        metrics.Cache(Resource, hit: true);
        if (ETags.IfNoneMatchMatches(request, rendered.ETag))
        {
            metrics.NotModified(Resource);
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = rendered.Body.Length;
        return response.Body.WriteAsync(rendered.Body, context.RequestAborted).AsTask();
    }

    private string CacheControl()
    {
        var seconds = (long)options.CurrentValue.ClientMaxAge.TotalSeconds;
        var current = _cacheControl;
        if (current.Seconds != seconds)
        {
            current = (seconds, "public, max-age=" + seconds.ToString(CultureInfo.InvariantCulture));
            _cacheControl = current;
        }

        return current.Header;
    }

    private static string Number(long value) => value < SmallNumbers.Length ? SmallNumbers[value] : value.ToString(CultureInfo.InvariantCulture);
}
