using FastEndpoints;
using FluentValidation;
using Microsoft.Extensions.Options;
using Presence.StatusQuery.Features.Board;

namespace Presence.StatusQuery.Features.Board.Realtime;

/// <summary>The board's query string: <c>?status=online,recent&amp;limit=50&amp;cursor=...</c>, all optional.</summary>
public sealed class BoardRequest
{
    /// <summary>Comma-separated buckets to list (online, recent, available); all when absent.</summary>
    public string? Status { get; init; }

    /// <summary>Page size; the whole board when absent.</summary>
    public int? Limit { get; init; }

    /// <summary>The <c>nextCursor</c> of the previous page.</summary>
    public string? Cursor { get; init; }

    /// <summary>Only therapists listing this specialty (one of <c>Presence:Specialties</c>).</summary>
    public string? Specialty { get; init; }

    public BoardQuery ToQuery()
    {
        BoardStatusFilters.TryParse(Status, out var filter);
        BoardCursor.TryParse(Cursor, out var cursor);
        return new BoardQuery(filter, Limit, cursor, string.IsNullOrEmpty(Specialty) ? null : Specialty);
    }

    internal sealed class Validator : Validator<BoardRequest>
    {
        public Validator()
        {
            RuleFor(r => r.Status)
                .Must(s => BoardStatusFilters.TryParse(s, out _))
                .WithMessage($"'status' is a comma-separated list of: {BoardStatusFilters.Allowed}.");
            RuleFor(r => r.Limit)
                .Must(l => l is null || (l >= 1 && l <= Resolve<IOptionsMonitor<StatusQueryOptions>>().CurrentValue.MaxPageSize))
                .WithMessage(_ => $"'limit' must be between 1 and {Resolve<IOptionsMonitor<StatusQueryOptions>>().CurrentValue.MaxPageSize}.");
            RuleFor(r => r.Specialty)
                .Must(s => string.IsNullOrEmpty(s) || Resolve<IOptionsMonitor<global::Presence.Core.PresenceOptions>>().CurrentValue.EffectiveSpecialties.Contains(s, StringComparer.Ordinal))
                .WithMessage(_ => "'specialty' must be one of: " + string.Join(", ", Resolve<IOptionsMonitor<global::Presence.Core.PresenceOptions>>().CurrentValue.EffectiveSpecialties) + ".");
            RuleFor(r => r.Cursor)
                .Must(c => c is null || BoardCursor.TryParse(c, out _))
                .WithMessage("'cursor' is not a cursor this service issued (pass a nextCursor back unchanged).");
        }
    }
}
