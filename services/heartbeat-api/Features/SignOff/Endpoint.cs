using FastEndpoints;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.SignOff;

/// <summary>The optional sign-off body.</summary>
public sealed class SignOffRequest
{
    /// <summary>The REST session (device) that ends; else the <c>X-Presence-Device</c> header, else the default one.</summary>
    public string? DeviceId { get; init; }
}

/// <summary>
/// <c>POST /v1/{therapists,community}/offline</c>: this device's session ends (logout, page hidden); when it was the
/// user's last, the user leaves after the leave grace (docs/architecture.md, "Leave grace"). Answers 204 whether or not
/// the user was online, so a browser's keepalive sign-off can be fired blindly.
/// </summary>
public abstract class SignOffEndpoint(PresenceStore store) : Endpoint<SignOffRequest>
{
    protected abstract PresenceRole Role { get; }

    public override void Configure()
    {
        Post($"/v1/{Role.RouteSegment()}/offline");
        Roles(Role.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        // The body is optional: without clearing the accepted content types a bare POST (no Content-Type) gets 415.
        Description(b => b.Accepts<SignOffRequest>(), clearDefaults: true);
        Summary(s => s.Summary = $"Ends the calling {Role.Name()}'s session of this device; the last one leaves after the leave grace.");
    }

    public override async Task HandleAsync(SignOffRequest req, CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("sign-off");
        activity?.SetTag(PresenceTags.Role, Role.Name());
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        if (!Device.TryGet(HttpContext, req.DeviceId, out var device))
        {
            ThrowError(r => r.DeviceId, Device.Invalid);
        }

        var outcome = await store.SignOffAsync(Role, userId, device, ct);
        activity?.SetTag(PresenceTags.SessionEnd, outcome.ToString());
        await Send.NoContentAsync(ct);
    }
}

public sealed class TherapistSignOffEndpoint(PresenceStore store) : SignOffEndpoint(store)
{
    protected override PresenceRole Role => PresenceRole.Therapist;
}

public sealed class CommunitySignOffEndpoint(PresenceStore store) : SignOffEndpoint(store)
{
    protected override PresenceRole Role => PresenceRole.Community;
}
