using FastEndpoints;
using FluentValidation;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Query;

/// <summary>
/// <c>{"role": "therapist", "ids": ["t-1", ...]}</c>, at most <see cref="MaxIds"/> ids, each parsed as it is read
/// (<see cref="UserId.JsonConverter"/>): one bad id fails the body with a 400.
/// </summary>
public sealed class QueryRequest
{
    public const int MaxIds = 500;

    public string? Role { get; init; }

    public IReadOnlyList<UserId>? Ids { get; init; }

    internal sealed class Validator : Validator<QueryRequest>
    {
        public Validator()
        {
            RuleFor(r => r.Role).Must(r => Roles.TryParse(r, out _)).WithMessage("'role' must be therapist or community.");
            RuleFor(r => r.Ids).NotNull().WithMessage("'ids' is required.")
                .Must(ids => ids is { Count: > 0 and <= MaxIds }).WithMessage($"'ids' must hold between 1 and {MaxIds} ids.");
        }
    }
}
