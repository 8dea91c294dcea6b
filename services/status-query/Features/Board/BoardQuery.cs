using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Presence.Core;

namespace Presence.StatusQuery.Features.Board;

/// <summary>What part of the board a request asks for: a status filter, a specialty, and a page after a cursor.</summary>
public readonly record struct BoardQuery(BoardStatusFilter Filter, int? Limit, BoardCursor? Cursor, string? Specialty = null)
{
    public static readonly BoardQuery All = new(BoardStatusFilter.All, null, null);

    /// <summary>A short key for memoising the rendered bytes of this query on one snapshot.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture, $"{(int)Filter}|{Limit}|{Cursor?.Encode()}|{Specialty}");

    /// <summary>Whether an entry of the board is listed by this query's filters.</summary>
    public bool Matches(PresenceEntry entry) =>
        Filter.Includes(entry.Status) && (Specialty is null || (entry.Specialties?.Contains(Specialty, StringComparer.Ordinal) ?? false));
}

[Flags]
public enum BoardStatusFilter
{
    None = 0,
    Online = 1,
    Recent = 2,
    Available = 4,
    All = Online | Recent | Available,
}

public static class BoardStatusFilters
{
    public const string Allowed = "online, recent, available";

    /// <summary>Parses <c>?status=online,recent</c>; empty means every listed bucket.</summary>
    public static bool TryParse(string? value, out BoardStatusFilter filter)
    {
        filter = BoardStatusFilter.None;
        if (string.IsNullOrWhiteSpace(value))
        {
            filter = BoardStatusFilter.All;
            return true;
        }

        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var flag = part.ToLowerInvariant() switch
            {
                "online" => BoardStatusFilter.Online,
                "recent" => BoardStatusFilter.Recent,
                "available" => BoardStatusFilter.Available,
                _ => BoardStatusFilter.None,
            };
            if (flag == BoardStatusFilter.None)
            {
                return false;
            }

            filter |= flag;
        }

        return filter != BoardStatusFilter.None;
    }

    public static bool Includes(this BoardStatusFilter filter, PresenceStatus status) => status switch
    {
        PresenceStatus.Online => filter.HasFlag(BoardStatusFilter.Online),
        PresenceStatus.Recent => filter.HasFlag(BoardStatusFilter.Recent),
        PresenceStatus.Available => filter.HasFlag(BoardStatusFilter.Available),
        _ => false,
    };
}

/// <summary>
/// A keyset cursor: the board position (bucket, last activity, id) of the last entry of a page. The board is
/// rebuilt every few seconds, so an offset would skip or repeat entries; a position stays meaningful.
/// </summary>
public readonly record struct BoardCursor(PresenceStatus Status, long? LastActiveMs, string Id)
{
    public PresenceEntry AsEntry() =>
        new(Id, Status, false, LastActiveMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null, null);

    public static BoardCursor After(PresenceEntry entry) => new(entry.Status, entry.LastActive?.ToUnixTimeMilliseconds(), entry.Id);

    public string Encode()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{(int)Status}:{LastActiveMs?.ToString(CultureInfo.InvariantCulture) ?? "-"}:{Id}");
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
    }

    public static bool TryParse(string? value, [NotNullWhen(true)] out BoardCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(value) || value.Length > 512)
        {
            return false;
        }

        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value));
        }
        catch (FormatException)
        {
            return false;
        }

        var parts = text.Split(':', 3);
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var status)
            || status is < (int)PresenceStatus.Online or > (int)PresenceStatus.Available
            || !UserId.IsValid(parts[2]))
        {
            return false;
        }

        long? lastActive = null;
        if (parts[1] != "-")
        {
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            {
                return false;
            }

            lastActive = ms;
        }

        cursor = new BoardCursor((PresenceStatus)status, lastActive, parts[2]);
        return true;
    }
}
