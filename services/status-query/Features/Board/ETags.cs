using Microsoft.Net.Http.Headers;

namespace Presence.StatusQuery.Features.Board;

internal static class ETags
{
    /// <summary>RFC 9110 §13.1.2: <c>If-None-Match</c> compares weakly, and <c>*</c> matches any current representation.</summary>
    public static bool IfNoneMatchMatches(HttpRequest request, string etag)
    {
        var header = request.Headers.IfNoneMatch;
        if (header.Count == 0 || !EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        var current = new EntityTagHeaderValue(etag);
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false))
            {
                return true;
            }
        }

        return false;
    }
}
