using FastEndpoints;
using FluentValidation;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Lookup;

public sealed class LookupRequest
{
    /// <summary><c>therapist</c> or <c>community</c>.</summary>
    public string Role { get; init; } = "";

    /// <summary>Parsed where it is bound (<see cref="UserId.TryParse"/>): an id that does not match is a 400 before the handler.</summary>
    public UserId Id { get; init; }

    internal sealed class Validator : Validator<LookupRequest>
    {
        public Validator()
        {
            RuleFor(r => r.Role).Must(r => Roles.TryParse(r, out _)).WithMessage("'role' must be therapist or community.");
        }
    }
}
