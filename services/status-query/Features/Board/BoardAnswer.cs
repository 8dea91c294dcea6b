using System.Globalization;

namespace Presence.StatusQuery.Features.Board;

/// <summary>
/// The headers and body of a board answer, written once for <see cref="Realtime.BoardEndpoint"/> and
/// <see cref="BoardFastPath"/>, which must answer alike: the same bytes, strong <c>ETag</c>, public
/// <c>Cache-Control</c> and, where sent, the <c>Age</c> of the content.
/// </summary>
internal static class BoardAnswer
{
    private static readonly string[] SmallNumbers = [.. Enumerable.Range(0, 64).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    public static void SetHeaders(HttpResponse response, RenderedBoard rendered, StatusQueryOptions options)
    {
        response.Headers.ETag = rendered.ETag;
        response.Headers.CacheControl = options.PublicCacheControl;
    }

    /// <summary>The <c>Age</c> header of <paramref name="snapshot"/> at <paramref name="now"/>: whole seconds since Redis confirmed it.</summary>
    public static string Age(BoardSnapshot snapshot, DateTimeOffset now)
    {
        var seconds = (long)Math.Max(0, (now - snapshot.ReadAt).TotalSeconds);
        return seconds < SmallNumbers.Length ? SmallNumbers[seconds] : seconds.ToString(CultureInfo.InvariantCulture);
    }

    public static Task WriteBodyAsync(HttpResponse response, RenderedBoard rendered, CancellationToken ct)
    {
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = rendered.Body.Length;
        return response.Body.WriteAsync(rendered.Body, ct).AsTask();
    }
}
