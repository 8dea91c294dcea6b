using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.Availability;

/// <summary>
/// <c>PUT /v1/therapists/availability</c>: the calling therapist accepts sessions until <c>until</c>, or for the
/// availability TTL unless renewed, or stops (docs/architecture.md, "Availability").
/// </summary>
public sealed class AvailabilityEndpoint(PresenceStore store, IOptionsMonitor<PresenceOptions> options, TimeProvider time)
    : Endpoint<AvailabilityRequest, AvailabilityResponse>
{
    public override void Configure()
    {
        Put("/v1/therapists/availability");
        Roles(PresenceRole.Therapist.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        Summary(s => s.Summary = "Sets or clears the calling therapist's \"accepting sessions\" flag; it lapses at until or after the availability TTL.");
    }

    public override async Task HandleAsync(AvailabilityRequest req, CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("availability");
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        var now = time.GetUtcNow();
        var ttl = options.CurrentValue.AvailabilityTtl;
        if (req.Until is { } until && (until <= now || until > now + ttl))
        {
            ThrowError(r => r.Until, $"'until' must be in the future and at most {ttl.TotalHours:0.##} h ahead (Presence:AvailabilityTtl).");
        }

        var available = req.Available!.Value;
        var result = await store.SetAvailabilityAsync(PresenceRole.Therapist, userId, available, req.Until, ct);
        activity?.SetTag(PresenceTags.Available, available);
        activity?.SetTag(PresenceTags.Changed, result.Changed);
        await Send.OkAsync(new AvailabilityResponse
        {
            Available = available,
            AvailableUntil = available ? req.Until : null,
            LapsesAt = available ? req.Until ?? now + ttl : null,
            Changed = result.Changed,
        }, ct);
    }
}
