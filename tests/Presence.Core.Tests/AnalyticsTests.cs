using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Presence.Core.Engagement;

namespace Presence.Core.Tests;

public sealed class AnalyticsTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);
    private readonly CoreServices _core = new(redis);
    private Analytics _analytics = null!;

    private static DateOnly Day => DateOnly.FromDateTime(T0.UtcDateTime);

    public ValueTask InitializeAsync()
    {
        _analytics = new Analytics(_core.Get<IConnectionMultiplexer>(), new EngagementKeys(_core.Keys), _core.Get<RedisResilience>(),
            new EngagementMetrics(_core.Get<PresenceMetrics>()));
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _core.DisposeAsync();

    private static PresenceEvent E(PresenceRole role, string id, long ver, TimeSpan after, string status, bool available = false) =>
        new(role, id, ver, T0 + after, status, available, AvailableUntil: null, LastActive: T0 + after,
            status == PresenceEventStatus.Online ? PresenceReason.Heartbeat : PresenceReason.Timeout);

    /// <summary>A morning: two therapists, three community users, one of whom waits 10 min for an available therapist.</summary>
    private static readonly PresenceEvent[] Morning =
    [
        E(PresenceRole.Community, "c-1", 1, TimeSpan.FromMinutes(0), "online"),
        E(PresenceRole.Therapist, "t-1", 1, TimeSpan.FromMinutes(10), "online"),
        E(PresenceRole.Therapist, "t-1", 2, TimeSpan.FromMinutes(10), "online", available: true),
        E(PresenceRole.Community, "c-2", 1, TimeSpan.FromMinutes(20), "online"),
        E(PresenceRole.Community, "c-1", 2, TimeSpan.FromMinutes(30), "recent"),
        E(PresenceRole.Therapist, "t-2", 1, TimeSpan.FromMinutes(70), "online"),
        E(PresenceRole.Community, "c-2", 2, TimeSpan.FromMinutes(85), "recent"),
        E(PresenceRole.Community, "c-3", 1, TimeSpan.FromMinutes(90), "online"),
        E(PresenceRole.Therapist, "t-1", 3, TimeSpan.FromMinutes(130), "recent"),
    ];

    private async Task<string> FiguresAsync()
    {
        var coverage = await _analytics.CoverageAsync(T0, T0.AddHours(3), Ct);
        var sessions = await _analytics.SessionsAsync(PresenceRole.Community, Day, Day, Ct);
        var therapistSessions = await _analytics.SessionsAsync(PresenceRole.Therapist, Day, Day, Ct);
        var active = await _analytics.ActiveUsersAsync(PresenceRole.Community, Day, Day, Ct);
        return string.Join(";", coverage.Select(c => $"{c.Online}/{c.FlaggedAvailable}"))
            + $"|{sessions[0].Sessions.Count}:{sessions[0].Sessions.MeanSeconds}:{string.Join(',', sessions[0].Sessions.Buckets.Values)}"
            + $"|{therapistSessions[0].Sessions.Count}:{therapistSessions[0].Sessions.MeanSeconds}"
            + $"|{sessions[0].TimeToAvailable.Count}:{sessions[0].TimeToAvailable.MeanSeconds}|{active[0].Users}";
    }

    [Fact]
    public async Task Events_fold_into_coverage_sessions_active_users_and_time_to_available()
    {
        foreach (var e in Morning)
        {
            Assert.True(await _analytics.FoldAsync(e, Ct));
        }

        var coverage = await _analytics.CoverageAsync(T0, T0.AddHours(3), Ct);
        Assert.Equal([(1L, 1L), (1L, 0L), (0L, 0L)], coverage.Select(c => (c.Online, c.FlaggedAvailable)));
        var community = Assert.Single(await _analytics.SessionsAsync(PresenceRole.Community, Day, Day, Ct));
        Assert.Equal(2, community.Sessions.Count);
        Assert.Equal((1800 + 3900) / 2.0, community.Sessions.MeanSeconds);
        Assert.Equal(1, community.Sessions.Buckets["le1800"]);
        Assert.Equal(1, community.Sessions.Buckets["le7200"]);
        // c-1 waited 10 min for t-1 to become available; c-2 and c-3 came online while t-1 was available.
        Assert.Equal(3, community.TimeToAvailable.Count);
        Assert.Equal(200, community.TimeToAvailable.MeanSeconds);
        Assert.Equal(3, Assert.Single(await _analytics.ActiveUsersAsync(PresenceRole.Community, Day, Day, Ct)).Users);
        Assert.Equal(2, Assert.Single(await _analytics.ActiveUsersAsync(PresenceRole.Therapist, Day, Day, Ct)).Users);
    }

    [Fact]
    public async Task The_fold_exports_session_lengths_waits_and_event_outcomes_as_metrics()
    {
        var meters = _core.Get<IMeterFactory>();
        using var sessions = new MetricCollector<double>(meters, "Presence", "presence.analytics.session.duration");
        using var waits = new MetricCollector<double>(meters, "Presence", "presence.analytics.time_to_available");
        using var events = new MetricCollector<long>(meters, "Presence", "presence.analytics.events");

        foreach (var e in Morning.Append(Morning[0]))
        {
            await _analytics.FoldAsync(e, Ct);
        }

        Assert.Equal([1800.0, 3900.0, 7200.0], sessions.GetMeasurementSnapshot().Select(m => m.Value).Order());
        Assert.Equal([0.0, 0.0, 600.0], waits.GetMeasurementSnapshot().Select(m => m.Value).Order());
        Assert.Equal(Morning.Length, events.GetMeasurementSnapshot().Count(m => (string?)m.Tags["outcome"] == "folded"));
        Assert.Equal(1, events.GetMeasurementSnapshot().Count(m => (string?)m.Tags["outcome"] == "duplicate"));
    }

    [Fact]
    public async Task Replaying_the_same_events_gives_the_same_figures()
    {
        foreach (var e in Morning)
        {
            await _analytics.FoldAsync(e, Ct);
        }

        var once = await FiguresAsync();
        foreach (var e in Morning.Concat(Morning.Reverse()))
        {
            Assert.False(await _analytics.FoldAsync(e, Ct));
        }

        Assert.Equal(once, await FiguresAsync());
    }

    [Fact]
    public async Task Nothing_is_kept_per_community_user_after_its_sessions_end()
    {
        foreach (var e in Morning)
        {
            await _analytics.FoldAsync(e, Ct);
        }

        var server = redis.Client.GetServer(redis.Client.GetEndPoints()[0]);
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: _core.Keys.Prefix + ":*"))
        {
            keys.Add(key!);
        }

        // c-3 is still online: its session start is the only per-user key, and it goes when the session ends.
        Assert.Equal([_core.Keys.Prefix + ":{analytics}:session:community:c-3"], keys.Where(k => k.Contains("c-", StringComparison.Ordinal)));
        Assert.All(keys.Where(k => !k.Contains(":session:", StringComparison.Ordinal)), k => Assert.True(redis.Database.KeyTimeToLive(k) > TimeSpan.Zero, k));
    }
}
