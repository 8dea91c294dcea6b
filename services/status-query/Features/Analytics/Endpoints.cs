using FastEndpoints;
using Presence.Core;
using CoreAnalytics = Presence.Core.Engagement.Analytics;

namespace Presence.StatusQuery.Features.Analytics;

/// <summary>Therapists and admins read engagement analytics; community users get 403 (docs/architecture.md, "Engagement analytics").</summary>
public abstract class AnalyticsEndpoint<TResponse>(TimeProvider time) : Endpoint<Request, TResponse>
{
    public const string AdminRole = "admin";

    protected abstract string Path { get; }

    protected TimeProvider Time => time;

    public override void Configure()
    {
        Get(Path);
        Roles(PresenceRole.Therapist.Name(), AdminRole);
        Description(b => b.ProducesProblemDetails(400).ProducesProblemDetails(403).ProducesProblemDetails(503));
    }

    protected static DateOnly Day(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);
}

/// <summary><c>GET /v1/analytics/coverage?from&amp;to</c>: distinct therapists online and available per hour.</summary>
public sealed class CoverageEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.CoverageHour>>(time)
{
    protected override string Path => "/v1/analytics/coverage";

    public override async Task HandleAsync(Request req, CancellationToken ct)
    {
        using var activity = StatusQueryExtensions.ActivitySource.StartActivity("analytics.coverage");
        var (from, to) = req.Range(Time.GetUtcNow());
        await Send.OkAsync(await analytics.CoverageAsync(from, to, ct), ct);
    }
}

/// <summary><c>GET /v1/analytics/sessions?from&amp;to&amp;role</c>: ended sessions per day (count, mean, histogram) and community users' time to an available therapist.</summary>
public sealed class SessionsEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.SessionDay>>(time)
{
    protected override string Path => "/v1/analytics/sessions";

    public override async Task HandleAsync(Request req, CancellationToken ct)
    {
        using var activity = StatusQueryExtensions.ActivitySource.StartActivity("analytics.sessions");
        var (from, to) = req.Range(Time.GetUtcNow());
        await Send.OkAsync(await analytics.SessionsAsync(req.ParsedRole, Day(from), Day(to), ct), ct);
    }
}

/// <summary><c>GET /v1/analytics/active-users?from&amp;to&amp;role</c>: distinct active users per day.</summary>
public sealed class ActiveUsersEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.ActiveUsersDay>>(time)
{
    protected override string Path => "/v1/analytics/active-users";

    public override async Task HandleAsync(Request req, CancellationToken ct)
    {
        using var activity = StatusQueryExtensions.ActivitySource.StartActivity("analytics.active-users");
        var (from, to) = req.Range(Time.GetUtcNow());
        await Send.OkAsync(await analytics.ActiveUsersAsync(req.ParsedRole, Day(from), Day(to), ct), ct);
    }
}
