namespace Presence.Core.Tests;

/// <summary>
/// The store's scripts and the reader's board, the same cases on a single node and on a 3-primary cluster
/// (the subclasses below). Few and core: the full suites run on the single node.
/// </summary>
public abstract class BackendTests(IRedisBackend redis)
{
    [Fact]
    public async Task Heartbeat_and_sign_off_scripts_record_state_and_stream_each_transition_once()
    {
        await using var core = new CoreServices(redis);
        var db = redis.Database;

        foreach (var role in Roles.All)
        {
            // REST beats of the default session, which the sign-off ends.
            Assert.True((await core.Store.HeartbeatAsync(new Heartbeat(role, "u-1", HeartbeatTransport.Rest, null), Ct)).CameOnline);
            core.Time.Advance(core.Options.MinHeartbeatInterval);
            var again = await core.Store.HeartbeatAsync(new Heartbeat(role, "u-1", HeartbeatTransport.Rest, null), Ct);
            Assert.True(again.Accepted);
            Assert.False(again.CameOnline);
            Assert.Equal(SessionEndOutcome.Leaving, await core.Store.SignOffAsync(role, "u-1", Ct));
            core.Time.Advance(core.Options.LeaveGrace);
            Assert.True(await core.Store.SettleAsync(DueIndex.Online, role, "u-1", Ct));
            Assert.False(await core.Store.SettleAsync(DueIndex.Online, role, "u-1", Ct));

            Assert.Null(await db.SortedSetScoreAsync(core.Keys.Online(role, "u-1"), "u-1"));
            Assert.Equal((core.Time.GetUtcNow() - core.Options.LeaveGrace).ToUnixTimeMilliseconds(), (long)(await db.SortedSetScoreAsync(core.Keys.LastSeen(role, "u-1"), "u-1"))!);
            Assert.True(await db.KeyExistsAsync(core.Keys.User(role, "u-1")));
            var statuses = (await db.AllEventsAsync(core.Keys, role)).Select(e => (string?)e["status"]);
            Assert.Equal(["online", "recent"], statuses);
        }
    }

    [Fact]
    public async Task A_steady_hub_heartbeat_renews_availability_in_the_users_slot_without_an_event()
    {
        await using var core = new CoreServices(redis);
        var beat = new Heartbeat(PresenceRole.Therapist, "t-steady", HeartbeatTransport.Hub, Available: true);
        Assert.True((await core.Store.HeartbeatAsync(beat, Ct)).CameOnline);
        core.Time.Advance(TimeSpan.FromSeconds(30));

        var again = await core.Store.HeartbeatAsync(beat, Ct);

        Assert.True(again.Accepted);
        Assert.Equal(0, again.Ver);
        var lapse = core.Time.GetUtcNow() + core.Options.AvailabilityTtl;
        Assert.Equal(lapse.ToUnixTimeMilliseconds(), (long)(await redis.Database.SortedSetScoreAsync(core.Keys.Available(PresenceRole.Therapist, "t-steady"), "t-steady"))!);
        Assert.Single(await redis.Database.AllEventsAsync(core.Keys, PresenceRole.Therapist));
    }

    [Fact]
    public async Task The_board_lists_online_then_recent_then_available_with_counts()
    {
        await using var core = new CoreServices(redis);
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-recent", HeartbeatTransport.Hub, null), Ct);
        core.Time.Advance(core.Options.OnlineWindow + TimeSpan.FromSeconds(1));
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-online", HeartbeatTransport.Hub, true), Ct);
        await core.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-bookable", true, Ct);
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-online", HeartbeatTransport.Hub, null), Ct);

        var board = await core.Reader.GetBoardAsync(PresenceRole.Therapist, Ct);

        Assert.Equal(["t-online", "t-recent", "t-bookable"], board.Entries.Select(e => e.Id));
        Assert.Equal([PresenceStatus.Online, PresenceStatus.Recent, PresenceStatus.Available], board.Entries.Select(e => e.Status));
        Assert.Equal(new PresenceCounts(1, 1, 1), board.Counts);
        Assert.Equal(new PresenceCounts(1, 1, 1), await core.Reader.CountAsync(PresenceRole.Therapist, Ct));
        var many = await core.Reader.GetManyAsync(PresenceRole.Therapist, ["t-online", "nobody"], Ct);
        Assert.Equal([PresenceStatus.Online, PresenceStatus.Offline], many.Select(e => e.Status));
        Assert.Equal("c-online", Assert.Single((await core.Reader.GetBoardAsync(PresenceRole.Community, Ct)).Entries).Id);
    }

    [Fact]
    public async Task Board_entries_follow_each_transition_and_leave_with_the_user_and_the_board_reads_as_the_lookups_do()
    {
        await using var core = new CoreServices(redis);
        var db = redis.Database;
        var role = PresenceRole.Therapist;
        async Task<string?> EntryAsync(string id) => await db.HashGetAsync(core.Keys.Board(role, id), id);

        var online = await core.Store.HeartbeatAsync(new Heartbeat(role, "t-1", HeartbeatTransport.Hub, Specialties: ["anxiety"]), Ct);
        Assert.Equal($"t-1|{online.Ver}|o||anxiety", await EntryAsync("t-1"));
        var until = core.Time.GetUtcNow() + TimeSpan.FromHours(3);
        var set = await core.Store.SetAvailabilityAsync(role, "t-1", true, until, Ct);
        Assert.Equal($"t-1|{set.Ver}|o|{until.ToUnixTimeMilliseconds()}|anxiety", await EntryAsync("t-1"));

        // A steady beat leaves the entry alone; a change of specialties rewrites it without an event.
        var events = (await db.AllEventsAsync(core.Keys, role)).Length;
        await core.Store.HeartbeatAsync(new Heartbeat(role, "t-1", HeartbeatTransport.Hub, Specialties: ["anxiety"]), Ct);
        Assert.Equal($"t-1|{set.Ver}|o|{until.ToUnixTimeMilliseconds()}|anxiety", await EntryAsync("t-1"));
        await core.Store.HeartbeatAsync(new Heartbeat(role, "t-1", HeartbeatTransport.Hub, Specialties: ["anxiety", "ocd"]), Ct);
        Assert.Equal($"t-1|{set.Ver}|o|{until.ToUnixTimeMilliseconds()}|anxiety,ocd", await EntryAsync("t-1"));
        Assert.Equal(events, (await db.AllEventsAsync(core.Keys, role)).Length);

        // The board (entries) and the lookups (per-field hashes) agree on every field.
        await core.Store.HeartbeatAsync(new Heartbeat(role, "t-2", HeartbeatTransport.Hub), Ct);
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Hub), Ct);
        var board = await core.Reader.GetBoardAsync(role, Ct);
        Assert.Equal(await core.Reader.GetManyAsync(role, [.. board.Entries.Select(e => e.Id)], Ct), board.Entries);
        Assert.Equal(["anxiety", "ocd"], board.Entries.Single(e => e.Id == "t-1").Specialties);
        Assert.Equal(until.ToUnixTimeMilliseconds(), board.Entries.Single(e => e.Id == "t-1").AvailableUntil?.ToUnixTimeMilliseconds());

        // Timed out: recent; the window ends: off the board unless still available; the availability lapses: gone.
        core.Time.Advance(core.Options.StaleConnection + TimeSpan.FromSeconds(1));
        foreach (var (r, id) in new[] { (role, "t-1"), (role, "t-2"), (PresenceRole.Community, "c-1") })
        {
            Assert.True(await core.Store.SettleAsync(DueIndex.Online, r, id, Ct));
        }

        Assert.StartsWith($"t-1|{set.Ver + 1}|r|", await EntryAsync("t-1"), StringComparison.Ordinal);
        core.Time.Advance(core.Options.RecentWindow);
        foreach (var (r, id) in new[] { (role, "t-1"), (role, "t-2"), (PresenceRole.Community, "c-1") })
        {
            Assert.True(await core.Store.SettleAsync(DueIndex.Recent, r, id, Ct));
        }

        Assert.StartsWith($"t-1|{set.Ver + 2}|f|{until.ToUnixTimeMilliseconds()}|", await EntryAsync("t-1"), StringComparison.Ordinal);
        Assert.False(await db.HashExistsAsync(core.Keys.Board(role, "t-2"), "t-2"));
        Assert.False(await db.HashExistsAsync(core.Keys.Board(PresenceRole.Community, "c-1"), "c-1"));
        Assert.Equal(["t-1"], (await core.Reader.GetBoardAsync(role, Ct)).Entries.Select(e => e.Id));
        core.Time.Advance(until - core.Time.GetUtcNow());
        Assert.True(await core.Store.SettleAsync(DueIndex.Available, role, "t-1", Ct));
        Assert.Null(await EntryAsync("t-1"));
        Assert.Empty((await core.Reader.GetBoardAsync(role, Ct)).Entries);
    }

    [Fact]
    public async Task Without_board_entries_the_board_reads_the_online_range_and_the_per_field_hashes()
    {
        // Users written by a deployment before board entries existed: the reader sees the online index is not covered.
        await using var core = new CoreServices(redis);
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-recent", HeartbeatTransport.Hub, Specialties: ["ocd"]), Ct);
        core.Time.Advance(core.Options.StaleConnection + TimeSpan.FromSeconds(1));
        await core.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-online", HeartbeatTransport.Hub, true, ["anxiety"]), Ct);
        await core.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-bookable", true, Ct);
        var expected = await core.Reader.GetBoardAsync(PresenceRole.Therapist, Ct);

        foreach (var shard in core.Keys.AllShards)
        {
            await redis.Database.KeyDeleteAsync(core.Keys.Board(PresenceRole.Therapist, shard));
        }

        var board = await core.Reader.GetBoardAsync(PresenceRole.Therapist, Ct);
        Assert.Equal(expected.Entries, board.Entries);
        Assert.Equal(expected.Counts, board.Counts);
        Assert.Equal(["t-online", "t-recent", "t-bookable"], board.Entries.Select(e => e.Id));
        Assert.Equal(["anxiety"], board.Entries[0].Specialties);
    }
}

public sealed class BackendOnSingleNodeTests(RedisServer redis) : BackendTests(redis);

/// <summary>Each role is spread over its shards, so over every primary; a user's keys live with its shard's (one slot per script).</summary>
public sealed class BackendOnClusterTests(RedisCluster cluster) : BackendTests(cluster), IClassFixture<RedisCluster>
{
    [Fact]
    public async Task A_role_spreads_over_every_primary_and_a_user_lives_in_its_shard()
    {
        await using var core = new CoreServices(cluster);
        foreach (var role in Roles.All)
        {
            var primaries = await Task.WhenAll(core.Keys.AllShards.Select(s => cluster.PrimaryForKeyAsync(core.Keys.LastSeen(role, s))));
            Assert.Equal((await cluster.PrimariesAsync()).Select(p => p.Port).Order(), primaries.Select(p => p.Port).Distinct().Order());
        }

        var shard = await cluster.PrimaryForKeyAsync(core.Keys.LastSeen(PresenceRole.Therapist, "t-1"));
        Assert.Equal(shard, await cluster.PrimaryForKeyAsync(core.Keys.User(PresenceRole.Therapist, "t-1")));
        Assert.Equal(shard, await cluster.PrimaryForKeyAsync(core.Keys.Sessions(PresenceRole.Therapist, "t-1")));
        Assert.Equal(shard, await cluster.PrimaryForKeyAsync(core.Keys.Events(PresenceRole.Therapist, "t-1")));
        Assert.Equal(RedisCluster.HashSlot(core.Keys.Online(PresenceRole.Therapist, "t-1").ToString()), RedisCluster.HashSlot(core.Keys.Sessions(PresenceRole.Therapist, "t-1").ToString()));
    }
}
