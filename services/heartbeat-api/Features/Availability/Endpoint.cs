using FastEndpoints;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.Availability;

/// <summary><c>PUT /v1/therapists/availability</c>: the calling therapist accepts sessions, or stops.</summary>
public sealed class AvailabilityEndpoint(PresenceStore store) : Endpoint<AvailabilityRequest, AvailabilityResponse>
{
    public override void Configure()
    {
        Put("/v1/therapists/availability");
        Roles(Role.Therapist.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        Summary(s => s.Summary = "Sets or clears the calling therapist's \"accepting sessions\" flag (no TTL).");
    }

    public override async Task HandleAsync(AvailabilityRequest req, CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("availability");
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        var available = req.Available!.Value;
        var changed = await store.SetAvailabilityAsync(Role.Therapist, userId, available, ct);
        activity?.SetTag("presence.available", available);
        activity?.SetTag("presence.changed", changed);
        await Send.OkAsync(new AvailabilityResponse { Available = available, Changed = changed }, ct);
    }
}
