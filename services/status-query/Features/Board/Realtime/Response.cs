using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.StatusQuery.Features.Board.Realtime;

/// <summary>The board (docs/architecture.md, "Presence model"), ordered online, then recent by recency, then available.</summary>
public sealed class BoardResponse
{
    /// <summary>When this content was first read; unchanged while the content is unchanged, so the ETag stays strong.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    public required ThresholdsView Thresholds { get; init; }

    /// <summary>Totals of the whole board, whatever the filter or page.</summary>
    public required CountsView Counts { get; init; }

    public required IReadOnlyList<PresenceView> Therapists { get; init; }

    /// <summary>Only when <c>limit</c> cut the list: pass it as <c>cursor</c> for the next page.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NextCursor { get; init; }
}

/// <summary>The wire bytes of boards are made once per snapshot and query, with a source-generated serializer.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BoardResponse))]
internal sealed partial class BoardJsonContext : JsonSerializerContext;
