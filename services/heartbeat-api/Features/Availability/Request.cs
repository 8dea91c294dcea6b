using FastEndpoints;
using FluentValidation;

namespace Presence.HeartbeatApi.Features.Availability;

public sealed class AvailabilityRequest
{
    public bool? Available { get; init; }

    /// <summary>When available: the explicit end (ISO-8601), in the future and within <c>Presence:AvailabilityTtl</c>.</summary>
    public DateTimeOffset? Until { get; init; }

    internal sealed class Validator : Validator<AvailabilityRequest>
    {
        public Validator()
        {
            RuleFor(r => r.Available).NotNull().WithMessage("'available' (true or false) is required.");
            RuleFor(r => r.Until).Null().When(r => r.Available == false).WithMessage("'until' only goes with available: true.");
        }
    }
}
