using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text.Json;
using Presence.Core;
using Presence.StatusQuery.Features;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery.Features.Board;

/// <summary>The bytes of one board answer and their strong validator.</summary>
public sealed record RenderedBoard(byte[] Body, string ETag);

/// <summary>
/// One board read from Redis. <see cref="GeneratedAt"/> is carried over from the previous snapshot while the
/// content is the same, so identical content has identical bytes and a poller's <c>If-None-Match</c> keeps
/// matching across rebuilds; <see cref="ReadAt"/> is when Redis last confirmed it (the <c>Age</c> of a stale answer).
/// </summary>
public sealed class BoardSnapshot(PresenceBoard board, DateTimeOffset generatedAt, ThresholdsView thresholds)
{
    // Enough for every status filter and the first pages; cursors are open-ended, so the memo is capped.
    private const int MaxRendered = 64;
    private readonly ConcurrentDictionary<string, RenderedBoard> _rendered = new(StringComparer.Ordinal);

    public PresenceBoard Board { get; } = board;

    public DateTimeOffset GeneratedAt { get; } = generatedAt;

    public DateTimeOffset ReadAt => Board.At;

    public ThresholdsView Thresholds { get; } = thresholds;

    public bool HasSameContentAs(BoardSnapshot? other) =>
        other is not null
        && other.Board.Counts == Board.Counts
        && other.Thresholds.OnlineSeconds == Thresholds.OnlineSeconds
        && other.Thresholds.RecentSeconds == Thresholds.RecentSeconds
        && other.Board.Entries.SequenceEqual(Board.Entries);

    public RenderedBoard Render(BoardQuery query)
    {
        var key = query.Key;
        if (_rendered.TryGetValue(key, out var rendered))
        {
            return rendered;
        }

        rendered = RenderUncached(query);
        if (_rendered.Count < MaxRendered)
        {
            _rendered.TryAdd(key, rendered);
        }

        return rendered;
    }

    private RenderedBoard RenderUncached(BoardQuery query)
    {
        var matching = query.Filter == BoardStatusFilter.All && query.Specialty is null
            ? Board.Entries
            : Board.Entries.Where(query.Matches).ToList();
        var start = query.Cursor is { } cursor ? FirstAfter(matching, cursor.AsEntry()) : 0;
        var take = Math.Min(query.Limit ?? int.MaxValue, matching.Count - start);
        var page = new PresenceView[take];
        for (var i = 0; i < take; i++)
        {
            page[i] = PresenceView.From(matching[start + i]);
        }

        var more = start + take < matching.Count;
        var response = new BoardResponse
        {
            GeneratedAt = GeneratedAt,
            Thresholds = Thresholds,
            Counts = CountsView.From(Board.Counts),
            Therapists = page,
            NextCursor = more && take > 0 ? BoardCursor.After(matching[start + take - 1]).Encode() : null,
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(response, BoardJsonContext.Default.BoardResponse);
        return new RenderedBoard(body, "\"" + Convert.ToHexStringLower(XxHash128.Hash(body)) + "\"");
    }

    /// <summary>Index of the first entry after the cursor position in board order (the list is sorted by it).</summary>
    private static int FirstAfter(IReadOnlyList<PresenceEntry> entries, PresenceEntry position)
    {
        int lo = 0, hi = entries.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (BoardOrder.Instance.Compare(entries[mid], position) <= 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
