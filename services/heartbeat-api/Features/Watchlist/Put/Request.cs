using FastEndpoints;
using FluentValidation;
using Presence.Core;
using Presence.Core.Engagement;

namespace Presence.HeartbeatApi.Features.Watchlist.Put;

/// <summary>
/// The whole new list (it replaces the old one); an empty array clears it. Each id is parsed as it is read
/// (<see cref="UserId.JsonConverter"/>): one bad id fails the body with a 400 and nothing is written.
/// </summary>
public sealed class Request
{
    public UserId[]? TherapistIds { get; init; }

    internal sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.TherapistIds).NotNull().WithMessage("'therapistIds' (an array, possibly empty) is required.")
                .Must(ids => ids is null || ids.Length <= Watchlists.MaxTherapists)
                .WithMessage($"At most {Watchlists.MaxTherapists} therapist ids.");
        }
    }
}
