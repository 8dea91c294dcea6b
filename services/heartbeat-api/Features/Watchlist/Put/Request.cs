using FastEndpoints;
using FluentValidation;
using Presence.Core;
using Presence.Core.Engagement;

namespace Presence.HeartbeatApi.Features.Watchlist.Put;

/// <summary>The whole new list (it replaces the old one); an empty array clears it.</summary>
public sealed class Request
{
    public string[]? TherapistIds { get; init; }

    internal sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.TherapistIds).NotNull().WithMessage("'therapistIds' (an array, possibly empty) is required.")
                .Must(ids => ids is null || ids.Length <= Watchlists.MaxTherapists)
                .WithMessage($"At most {Watchlists.MaxTherapists} therapist ids.");
            RuleForEach(r => r.TherapistIds).Must(UserId.IsValid).WithMessage("Every id must match " + UserId.Pattern + ".");
        }
    }
}
