using Presence.Core.Engagement;

namespace Presence.StatusQuery.Tests;

public sealed class AnalyticsEndpointTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    [Fact]
    public async Task Therapists_and_admins_read_the_figures_and_community_users_are_refused()
    {
        var at = App.Time.GetUtcNow().AddHours(-1);
        var analytics = App.Services.GetRequiredService<Analytics>();
        await analytics.FoldAsync(new PresenceEvent(PresenceRole.Therapist, "t-1", 1, at, "online", true, null, at, "join"), Ct);
        await analytics.FoldAsync(new PresenceEvent(PresenceRole.Community, "c-1", 1, at, "online", false, null, at, "join"), Ct);
        await analytics.FoldAsync(new PresenceEvent(PresenceRole.Community, "c-1", 2, at.AddMinutes(5), "recent", false, null, at.AddMinutes(5), "signoff"), Ct);

        using var therapist = App.CreateClient(DevTokens.Therapist("t-9"));
        var coverage = await therapist.GetFromJsonAsync<JsonElement>("/v1/analytics/coverage", Ct);
        Assert.Contains(coverage.EnumerateArray(), h => h.GetProperty("online").GetInt64() == 1 && h.GetProperty("available").GetInt64() == 1);
        var sessions = await therapist.GetFromJsonAsync<JsonElement>("/v1/analytics/sessions?role=community", Ct);
        Assert.Equal(1, sessions.EnumerateArray().Sum(d => d.GetProperty("sessions").GetProperty("count").GetInt64()));
        Assert.Equal(1, sessions.EnumerateArray().Sum(d => d.GetProperty("timeToAvailable").GetProperty("count").GetInt64()));

        using var admin = App.CreateClient(DevTokens.Mint("admin", "ops-1"));
        var active = await admin.GetFromJsonAsync<JsonElement>("/v1/analytics/active-users?role=community", Ct);
        Assert.Equal(1, active.EnumerateArray().Sum(d => d.GetProperty("users").GetInt64()));

        using var community = App.CreateClient(DevTokens.Community("c-1"));
        foreach (var path in new[] { "/v1/analytics/coverage", "/v1/analytics/sessions", "/v1/analytics/active-users" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await community.GetAsync(path, Ct)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await therapist.GetAsync("/v1/analytics/sessions?role=robot", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await therapist.GetAsync("/v1/analytics/coverage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", Ct)).StatusCode);
    }
}
