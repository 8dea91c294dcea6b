namespace Presence.Core.Tests;

/// <summary>The steady heartbeat of a session already known (docs/architecture.md, "The steady heartbeat").</summary>
public sealed class SteadyHeartbeatTests(RedisServer redis) : HostTests<StoreHarness>(new(redis))
{
    /// <summary>Retention 16 min: the user hash and TTLs are rewritten once a minute (a sixteenth of it).</summary>
    private static void ShortRetention(PresenceOptions o)
    {
        o.Retention = TimeSpan.FromMinutes(16);
        o.RecentWindow = TimeSpan.FromMinutes(10);
        o.AvailabilityTtl = TimeSpan.FromMinutes(10);
    }

    [Fact]
    public async Task Steady_heartbeats_move_last_seen_and_online_and_rewrite_the_user_hash_once_per_refresh_period()
    {
        await using var h = new StoreHarness(redis, ShortRetention);
        var first = h.NowMs;
        await h.BeatAsync(PresenceRole.Therapist, "t-1");
        h.Time.Advance(TimeSpan.FromSeconds(20));

        var steady = await h.BeatAsync(PresenceRole.Therapist, "t-1");

        Assert.True(steady.Accepted);
        Assert.False(steady.CameOnline);
        Assert.Equal(h.NowMs, (long)(await h.Db.SortedSetScoreAsync(h.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!);
        Assert.Equal(h.NowMs + 120_000, (long)(await h.Db.SortedSetScoreAsync(h.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"))!);
        Assert.Equal(h.NowMs + 120_000, (long)(await h.Db.SortedSetScoreAsync(h.Keys.Sessions(PresenceRole.Therapist, "t-1"), "rest:default"))!);
        Assert.Equal(first, (long)await h.Db.HashGetAsync(h.Keys.User(PresenceRole.Therapist, "t-1"), "lastActive"));

        // The next minute: the first beat in it rewrites the hash and the TTLs.
        h.Time.Advance(TimeSpan.FromSeconds(40));
        await h.Db.KeyExpireAsync(h.Keys.User(PresenceRole.Therapist, "t-1"), TimeSpan.FromMinutes(1));
        await h.BeatAsync(PresenceRole.Therapist, "t-1");

        Assert.Equal(h.NowMs, (long)await h.Db.HashGetAsync(h.Keys.User(PresenceRole.Therapist, "t-1"), "lastActive"));
        Assert.InRange((await h.Db.KeyTimeToLiveAsync(h.Keys.User(PresenceRole.Therapist, "t-1")))!.Value, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
        Assert.InRange((await h.Db.KeyTimeToLiveAsync(h.Keys.Sessions(PresenceRole.Therapist, "t-1")))!.Value, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
        Assert.Single(await h.EventsAsync(PresenceRole.Therapist));
    }

    [Fact]
    public async Task Events_and_the_recent_window_count_from_the_last_steady_heartbeat()
    {
        await App.BeatAsync(PresenceRole.Community, "c-1");
        App.Time.Advance(TimeSpan.FromSeconds(30));
        await App.BeatAsync(PresenceRole.Community, "c-1");
        var lastBeat = App.Time.GetUtcNow();

        Assert.Equal(SessionEndOutcome.Leaving, await App.Store.SignOffAsync(PresenceRole.Community, "c-1", Ct));
        App.Time.Advance(App.Options.LeaveGrace);
        Assert.True(await App.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));

        var recent = (await App.StateEventsAsync(PresenceRole.Community))[^1];
        Assert.Equal("recent", recent.Status);
        Assert.Equal(lastBeat, recent.LastActive);
        Assert.Equal((lastBeat + App.Options.RecentWindow).ToUnixTimeMilliseconds(),
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.Recent(PresenceRole.Community, "c-1"), "c-1"))!);
    }

    [Fact]
    public async Task A_steady_heartbeat_renews_availability_without_an_event_and_keeps_an_explicit_until()
    {
        var until = App.Time.GetUtcNow().AddHours(2);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-until", true, until, Ct);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-ttl", true, Ct);
        await App.BeatAsync(PresenceRole.Therapist, "t-until", available: true);
        await App.BeatAsync(PresenceRole.Therapist, "t-ttl", available: true);
        var events = (await App.EventsAsync(PresenceRole.Therapist)).Length;
        App.Time.Advance(TimeSpan.FromMinutes(1));

        Assert.True((await App.BeatAsync(PresenceRole.Therapist, "t-until", available: true)).Accepted);
        Assert.True((await App.BeatAsync(PresenceRole.Therapist, "t-ttl", available: true)).Accepted);

        Assert.Equal(events, (await App.EventsAsync(PresenceRole.Therapist)).Length);
        Assert.Equal(until.ToUnixTimeMilliseconds(), (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-until"), "t-until"))!);
        Assert.Equal(until.ToUnixTimeMilliseconds(), (long)await App.Db.HashGetAsync(App.Keys.AvailableUntil(PresenceRole.Therapist, App.Keys.ShardOf("t-until")), "t-until"));
        Assert.Equal(App.NowMs + (long)App.Options.AvailabilityTtl.TotalMilliseconds,
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-ttl"), "t-ttl"))!);
    }

    [Fact]
    public async Task A_steady_heartbeat_that_changes_availability_emits_one_set_event()
    {
        await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);
        App.Time.Advance(TimeSpan.FromMinutes(1));

        var off = await App.BeatAsync(PresenceRole.Therapist, "t-1", available: false);
        App.Time.Advance(TimeSpan.FromMinutes(1));
        var stillOff = await App.BeatAsync(PresenceRole.Therapist, "t-1", available: false);
        App.Time.Advance(TimeSpan.FromMinutes(1));
        var on = await App.BeatAsync(PresenceRole.Therapist, "t-1", available: true);

        Assert.True(off.Ver > 0);
        Assert.Equal(0, stillOff.Ver);
        Assert.True(on.Ver > off.Ver);
        var events = await App.StateEventsAsync(PresenceRole.Therapist);
        Assert.Equal([(true, "heartbeat"), (false, "set"), (true, "set")], events.Select(e => (e.Available, e.Reason)));
        Assert.Equal(App.NowMs + (long)App.Options.AvailabilityTtl.TotalMilliseconds,
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"))!);
    }

    [Fact]
    public async Task A_session_that_expired_before_the_sweep_beats_again_without_an_event_and_the_others_come_online()
    {
        await App.DeviceBeatAsync(PresenceRole.Community, "c-1", "phone");
        App.Time.Advance(TimeSpan.FromMinutes(3));

        var phone = await App.DeviceBeatAsync(PresenceRole.Community, "c-1", "phone");
        var laptop = await App.DeviceBeatAsync(PresenceRole.Community, "c-1", "laptop");

        Assert.True(phone.Accepted);
        Assert.False(phone.CameOnline);
        Assert.False(laptop.CameOnline);
        Assert.Single(await App.EventsAsync(PresenceRole.Community));
        Assert.Equal(App.NowMs + 120_000, (long)(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Community, "c-1"), "c-1"))!);
    }
}
