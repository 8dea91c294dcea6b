using FastEndpoints;
using Presence.Core;
using CoreAnalytics = Presence.Core.Engagement.Analytics;

namespace Presence.StatusQuery.Features.Analytics;

/// <summary>
/// Therapists and admins read engagement analytics; community users get 403 (docs/architecture.md, "Engagement
/// analytics"). Each endpoint answers <c>GET /v1/analytics/{Name}?from&amp;to</c> under the span <c>analytics.{Name}</c>.
/// </summary>
public abstract class AnalyticsEndpoint<TResponse>(TimeProvider time) : Endpoint<Request, TResponse>
{
    public const string AdminRole = "admin";

    /// <summary>The last segment of the route and of the span name.</summary>
    protected abstract string Name { get; }

    public override void Configure()
    {
        Get("/v1/analytics/" + Name);
        Roles(PresenceRole.Therapist.Name(), AdminRole);
        Description(b => b.ProducesProblemDetails(400).ProducesProblemDetails(403).ProducesProblemDetails(503));
    }

    public sealed override async Task HandleAsync(Request req, CancellationToken ct)
    {
        using var activity = StatusQueryExtensions.ActivitySource.StartActivity("analytics." + Name);
        var (from, to) = req.Range(time.GetUtcNow());
        await Send.OkAsync(await QueryAsync(req, from, to, ct), ct);
    }

    /// <summary>The answer for the requested range (<paramref name="to"/> defaults to now, <paramref name="from"/> to a day before it).</summary>
    protected abstract Task<TResponse> QueryAsync(Request req, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    protected static DateOnly Day(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);
}

/// <summary><c>GET /v1/analytics/coverage?from&amp;to</c>: distinct therapists online and available per hour.</summary>
public sealed class CoverageEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.CoverageHour>>(time)
{
    protected override string Name => "coverage";

    protected override Task<IReadOnlyList<global::Presence.Core.Engagement.CoverageHour>> QueryAsync(Request req, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        analytics.CoverageAsync(from, to, ct);
}

/// <summary><c>GET /v1/analytics/sessions?from&amp;to&amp;role</c>: ended sessions per day (count, mean, histogram) and community users' time to an available therapist.</summary>
public sealed class SessionsEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.SessionDay>>(time)
{
    protected override string Name => "sessions";

    protected override Task<IReadOnlyList<global::Presence.Core.Engagement.SessionDay>> QueryAsync(Request req, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        analytics.SessionsAsync(req.ParsedRole, Day(from), Day(to), ct);
}

/// <summary><c>GET /v1/analytics/active-users?from&amp;to&amp;role</c>: distinct active users per day.</summary>
public sealed class ActiveUsersEndpoint(CoreAnalytics analytics, TimeProvider time) : AnalyticsEndpoint<IReadOnlyList<global::Presence.Core.Engagement.ActiveUsersDay>>(time)
{
    protected override string Name => "active-users";

    protected override Task<IReadOnlyList<global::Presence.Core.Engagement.ActiveUsersDay>> QueryAsync(Request req, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        analytics.ActiveUsersAsync(req.ParsedRole, Day(from), Day(to), ct);
}
