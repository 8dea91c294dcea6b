using FastEndpoints;
using FluentValidation;

namespace Presence.HeartbeatApi.Features.Availability;

public sealed class AvailabilityRequest
{
    public bool? Available { get; init; }

    internal sealed class Validator : Validator<AvailabilityRequest>
    {
        public Validator() => RuleFor(r => r.Available).NotNull().WithMessage("'available' (true or false) is required.");
    }
}
