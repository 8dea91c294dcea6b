using Presence.Janitor.Expiry;

namespace Presence.Janitor.Tests;

public sealed class ExpiryAndGaugeTests(RedisServer redis) : HostTests<JanitorHarness>(new(redis))
{
    [Fact]
    public async Task An_expired_user_hash_forgets_last_seen_version_specialties_and_board_entry_but_keeps_the_availability()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);
        await App.BeatAsync(PresenceRole.Therapist, "t-2");
        var key = App.Keys.User(PresenceRole.Therapist, "t-1");
        await App.Db.KeyDeleteAsync(key);

        Assert.True(await App.Expiry.HandleExpiredAsync(key.ToString(), Ct));

        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.False(await App.Db.HashExistsAsync(App.Keys.Versions(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.False(await App.Db.HashExistsAsync(App.Keys.Board(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.True(await App.Db.HashExistsAsync(App.Keys.Board(PresenceRole.Therapist, "t-2"), "t-2"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-2"), "t-2"));
        Assert.Null(await App.Expiry.HandleExpiredAsync(App.Keys.Sessions(PresenceRole.Therapist, "t-2").ToString(), Ct));
        Assert.Null(await App.Expiry.HandleExpiredAsync("someone-else:{therapist}:user:t-2", Ct));
    }

    [Fact]
    public async Task A_user_active_again_after_the_expiry_keeps_last_seen()
    {
        await App.BeatAsync(PresenceRole.Community, "c-1");
        var key = App.Keys.User(PresenceRole.Community, "c-1");
        // The retention TTL takes the user hash and the sessions set together: every beat that sets one sets the other
        // (docs/architecture.md, "The steady heartbeat").
        await App.Db.KeyDeleteAsync([key, App.Keys.Sessions(PresenceRole.Community, "c-1")]);
        App.Fake.Advance(TimeSpan.FromMinutes(1));
        await App.BeatAsync(PresenceRole.Community, "c-1");

        Assert.False(await App.Expiry.HandleExpiredAsync(key.ToString(), Ct));
        Assert.Equal(App.NowMs, await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Community, "c-1"), "c-1"));
    }

    [Fact]
    public void The_keyspace_setting_check_adds_only_what_expired_events_need()
    {
        Assert.True(KeyspaceEventsSetting.PublishesExpired("Ex"));
        Assert.True(KeyspaceEventsSetting.PublishesExpired("AKE"));
        Assert.False(KeyspaceEventsSetting.PublishesExpired("Kx"));
        Assert.False(KeyspaceEventsSetting.PublishesExpired(""));
        Assert.Equal("Ex", KeyspaceEventsSetting.WithExpired(""));
        Assert.Equal("KxE", KeyspaceEventsSetting.WithExpired("Kx"));
        Assert.Equal("KElg$x", KeyspaceEventsSetting.WithExpired("KElg$"));
    }

    [Fact]
    public async Task The_leader_reports_user_counts_per_role_and_bucket_and_followers_report_none()
    {
        var prefix = RedisServer.NewKeyPrefix();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(JanitorHarness.Start);
        await using var j = new JanitorHarness(redis, prefix, time: clock);
        await using var follower = new JanitorHarness(redis, prefix, time: clock);
        using var metrics = new MetricReader(j.Meter);
        using var followerMetrics = new MetricReader(follower.Meter);

        await j.BeatAsync(PresenceRole.Therapist, "t-gone");
        clock.Advance(TimeSpan.FromHours(2));
        await j.BeatAsync(PresenceRole.Community, "c-lapsing");
        clock.Advance(TimeSpan.FromSeconds(100));
        await j.BeatAsync(PresenceRole.Therapist, "t-on-1", available: true);
        await j.BeatAsync(PresenceRole.Therapist, "t-on-2");
        await j.BeatAsync(PresenceRole.Therapist, "t-left");
        await j.Store.SignOffAsync(PresenceRole.Therapist, "t-left", ct: Ct);
        await j.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-bookable", true, ct: Ct);
        await j.BeatAsync(PresenceRole.Community, "c-on");
        clock.Advance(TimeSpan.FromSeconds(30));

        await j.Lease.TryAcquireOrRenewAsync(Ct);
        await follower.Lease.TryAcquireOrRenewAsync(Ct);
        var report = await j.Sweeper.SweepOnceAsync(Ct);
        await follower.Sweeper.SweepOnceAsync(Ct);

        // c-lapsing and t-gone time out, t-gone's recent window has ended too, and t-left's leave grace ended.
        Assert.Equal(4, report.Transitions);
        double? Users(string role, string bucket) => metrics.Observe("presence.users", ("role", role), ("bucket", bucket));
        Assert.Equal(2, Users("therapist", "online"));
        Assert.Equal(1, Users("therapist", "recent"));
        Assert.Equal(1, Users("therapist", "available")); // available only: t-on-1 is online

        Assert.Equal(1, Users("community", "online"));
        Assert.Equal(1, Users("community", "recent"));
        Assert.Equal(0, Users("community", "available"));
        Assert.Equal(1, metrics.Observe("presence.janitor.leader"));
        Assert.Equal(1, metrics.Sum("presence.janitor.transitions", ("role", "community"), ("status", "recent")));
        Assert.Equal(3, metrics.Sum("presence.janitor.sweep.removals", ("kind", "online")));
        Assert.Equal(1, metrics.Sum("presence.janitor.leader_changes", ("change", "acquired")));
        Assert.Single(metrics.Collect(), m => m.Instrument == "presence.janitor.sweep.duration");

        Assert.Null(followerMetrics.Observe("presence.users", ("role", "therapist"), ("bucket", "online")));
        Assert.Equal(0, followerMetrics.Observe("presence.janitor.leader"));
    }
}
