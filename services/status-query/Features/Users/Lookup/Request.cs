using FastEndpoints;
using FluentValidation;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Lookup;

public sealed class LookupRequest
{
    /// <summary><c>therapist</c> or <c>community</c>.</summary>
    public string Role { get; init; } = "";

    public string Id { get; init; } = "";

    internal sealed class Validator : Validator<LookupRequest>
    {
        public Validator()
        {
            RuleFor(r => r.Role).Must(r => Roles.TryParse(r, out _)).WithMessage("'role' must be therapist or community.");
            RuleFor(r => r.Id).Must(UserId.IsValid).WithMessage("'id' must match " + UserId.Pattern + ".");
        }
    }
}
