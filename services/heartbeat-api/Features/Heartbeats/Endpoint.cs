using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Intervals;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features.Heartbeats;

/// <summary><c>POST /v1/{therapists,community}/heartbeat</c>: records "I am here" for the token's user.</summary>
public abstract class HeartbeatEndpoint(
    PresenceStore store, IOptionsMonitor<PresenceOptions> options, PresenceMetrics metrics, HeartbeatIntervalPolicy intervals)
    : Endpoint<HeartbeatRequest, HeartbeatResponse>
{
    // Boxed once: a span tag takes an object, and a bool boxed per heartbeat is garbage.
    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;

    protected abstract PresenceRole Role { get; }

    /// <summary>The route of a role's heartbeat; its root traces are sampled (docs/architecture.md, "Telemetry").</summary>
    public static string Route(PresenceRole role) => $"/v1/{role.RouteSegment()}/heartbeat";

    public override void Configure()
    {
        Post(Route(Role));
        Roles(Role.Name());
        Options(b => b.RequireRateLimiting(Extensions.WritesRateLimitPolicy));
        // The body is optional: without clearing the accepted content types a bare POST (no Content-Type) gets 415.
        Description(b => b.Accepts<HeartbeatRequest>().ProducesProblemDetails(429).ProducesProblemDetails(503), clearDefaults: true);
        Summary(s => s.Summary = $"Records a heartbeat of the calling {Role.Name()}; the id comes from the token.");
    }

    public override async Task HandleAsync(HeartbeatRequest req, CancellationToken ct)
    {
        using var activity = HeartbeatApiExtensions.ActivitySource.StartActivity("heartbeat");
        activity?.SetTag(PresenceTags.Role, Role.Name());
        if (req.Available is not null && Role != PresenceRole.Therapist)
        {
            Reject(activity);
            ThrowError(r => r.Available, "Only therapists have an availability flag.");
        }

        if (req.Specialties is not null && Role != PresenceRole.Therapist)
        {
            Reject(activity);
            ThrowError(r => r.Specialties, "Only therapists list specialties.");
        }

        string? specialtiesError = null;
        var specialties = req.Specialties is null ? null : options.CurrentValue.ValidSpecialties(req.Specialties, out specialtiesError);
        if (req.Specialties is not null && specialties is null)
        {
            Reject(activity);
            ThrowError(r => r.Specialties, specialtiesError!);
        }

        if (!Device.TryGet(HttpContext, req.DeviceId, out var device))
        {
            Reject(activity);
            ThrowError(r => r.DeviceId, Device.Invalid);
        }

        if (!User.TryGetUserId(out var userId))
        {
            Reject(activity);
            ThrowError(CurrentUser.InvalidSubject);
        }

        var result = await store.HeartbeatAsync(
            new Heartbeat(Role, userId, HeartbeatTransport.Rest, req.Available, specialties, SessionRef.Rest(device)), ct);
        activity?.SetTag(PresenceTags.Outcome, result.Accepted ? HeartbeatOutcome.Accepted : HeartbeatOutcome.Throttled);
        if (!result.Accepted)
        {
            var seconds = HttpContext.Response.SetRetryAfter(result.RetryAfter);
            await Send.ResultAsync(TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Heartbeat too soon",
                detail: $"A heartbeat was accepted less than {options.CurrentValue.MinHeartbeatInterval.TotalSeconds:0} s ago; retry after {seconds} s."));
            return;
        }

        activity?.SetTag(PresenceTags.CameOnline, result.CameOnline ? BoxedTrue : BoxedFalse);
        var o = options.CurrentValue;
        await Send.OkAsync(new HeartbeatResponse
        {
            Accepted = true,
            ServerTime = result.ServerTime,
            NextHeartbeatSeconds = intervals.NextHeartbeatSeconds(Role, userId, req.Visible),
            ClockSkewSeconds = o.ClockSkewSeconds(req.Timestamp, result.ServerTime),
        }, ct);
    }

    private void Reject(System.Diagnostics.Activity? activity)
    {
        activity?.SetTag(PresenceTags.Outcome, HeartbeatOutcome.Rejected);
        metrics.Heartbeat(Role, HeartbeatTransport.Rest, HeartbeatOutcome.Rejected);
    }
}

public sealed class TherapistHeartbeatEndpoint(
    PresenceStore store, IOptionsMonitor<PresenceOptions> options, PresenceMetrics metrics, HeartbeatIntervalPolicy intervals)
    : HeartbeatEndpoint(store, options, metrics, intervals)
{
    protected override PresenceRole Role => PresenceRole.Therapist;
}

public sealed class CommunityHeartbeatEndpoint(
    PresenceStore store, IOptionsMonitor<PresenceOptions> options, PresenceMetrics metrics, HeartbeatIntervalPolicy intervals)
    : HeartbeatEndpoint(store, options, metrics, intervals)
{
    protected override PresenceRole Role => PresenceRole.Community;
}
