using FastEndpoints;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.SignOff;

/// <summary>
/// <c>POST /v1/{therapists,community}/offline</c>: online ends now (logout, page hidden). Answers 204
/// whether or not the user was online, so a browser's keepalive sign-off can be fired blindly.
/// </summary>
public abstract class SignOffEndpoint(PresenceStore store) : EndpointWithoutRequest
{
    protected abstract Role Role { get; }

    public override void Configure()
    {
        Post($"/v1/{Role.RouteSegment()}/offline");
        Roles(Role.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        Summary(s => s.Summary = $"Signs the calling {Role.Name()} off: online ends now, the user becomes recent.");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("sign-off");
        activity?.SetTag("presence.role", Role.Name());
        if (!User.TryGetUserId(out var userId))
        {
            ThrowError(CurrentUser.InvalidSubject);
        }

        var wasOnline = await store.SignOffAsync(Role, userId, ct);
        activity?.SetTag("presence.was_online", wasOnline);
        await Send.NoContentAsync(ct);
    }
}

public sealed class TherapistSignOffEndpoint(PresenceStore store) : SignOffEndpoint(store)
{
    protected override Role Role => Role.Therapist;
}

public sealed class CommunitySignOffEndpoint(PresenceStore store) : SignOffEndpoint(store)
{
    protected override Role Role => Role.Community;
}
