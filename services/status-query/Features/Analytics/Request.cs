using FastEndpoints;
using FluentValidation;
using Presence.Core;

namespace Presence.StatusQuery.Features.Analytics;

/// <summary><c>?from&amp;to</c> (ISO-8601, UTC; default the last 24 hours) and, for per-role figures, <c>?role</c> (default community).</summary>
public sealed class Request
{
    [QueryParam]
    public DateTimeOffset? From { get; init; }

    [QueryParam]
    public DateTimeOffset? To { get; init; }

    [QueryParam]
    public string? Role { get; init; }

    public PresenceRole ParsedRole => Roles.TryParse(Role ?? "community", out var role) ? role.Value : PresenceRole.Community;

    public (DateTimeOffset From, DateTimeOffset To) Range(DateTimeOffset now) => (From ?? (To ?? now).AddDays(-1), To ?? now);

    internal sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Role).Must(r => r is null || Roles.TryParse(r, out _)).WithMessage("'role' must be therapist or community.");
            RuleFor(r => r).Must(r => r.From is null || r.To is null || r.From <= r.To).WithName("from").WithMessage("'from' must not be after 'to'.");
            RuleFor(r => r).Must(r => r.From is null || r.To is null || r.To - r.From <= global::Presence.Core.Engagement.Analytics.Retention)
                .WithName("to").WithMessage("At most 90 days (the retention) per request.");
        }
    }
}
