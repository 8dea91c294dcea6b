using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Core.Tests;

/// <summary>
/// The store's scripts and the reader's board, the same cases on a single node and on a 3-primary cluster
/// (the subclasses below). Few and core: the full suites run on the single node.
/// </summary>
public abstract class BackendTests(IRedisBackend redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Heartbeat_and_sign_off_scripts_record_state_and_stream_each_transition_once()
    {
        await using var core = new CoreServices(redis);
        var db = redis.Database;

        foreach (var role in Roles.All)
        {
            Assert.True((await core.Store.HeartbeatAsync(new Heartbeat(role, "u-1", HeartbeatTransport.Rest, null), Ct)).CameOnline);
            Assert.False((await core.Store.HeartbeatAsync(new Heartbeat(role, "u-1", HeartbeatTransport.Rest, null), Ct)).CameOnline);
            Assert.Equal(SessionEndOutcome.Leaving, await core.Store.SignOffAsync(role, "u-1", Ct));
            core.Time.Advance(core.Options.LeaveGrace);
            Assert.True(await core.Store.SettleAsync(DueIndex.Online, role, "u-1", Ct));
            Assert.False(await core.Store.SettleAsync(DueIndex.Online, role, "u-1", Ct));

            Assert.Null(await db.SortedSetScoreAsync(core.Keys.Online(role), "u-1"));
            Assert.Equal((core.Time.GetUtcNow() - core.Options.LeaveGrace).ToUnixTimeMilliseconds(), (long)(await db.SortedSetScoreAsync(core.Keys.LastSeen(role), "u-1"))!);
            Assert.True(await db.KeyExistsAsync(core.Keys.User(role, "u-1")));
            var statuses = (await db.StreamRangeAsync(core.Keys.Events(role))).Select(e => (string?)e["status"]);
            Assert.Equal(["online", "recent"], statuses);
        }
    }

    [Fact]
    public async Task The_board_lists_online_then_recent_then_available_with_counts()
    {
        await using var core = new CoreServices(redis);
        await core.Store.HeartbeatAsync(new Heartbeat(Role.Therapist, "t-recent", HeartbeatTransport.Hub, null), Ct);
        core.Time.Advance(core.Options.OnlineWindow + TimeSpan.FromSeconds(1));
        await core.Store.HeartbeatAsync(new Heartbeat(Role.Therapist, "t-online", HeartbeatTransport.Hub, true), Ct);
        await core.Store.SetAvailabilityAsync(Role.Therapist, "t-bookable", true, Ct);
        await core.Store.HeartbeatAsync(new Heartbeat(Role.Community, "c-online", HeartbeatTransport.Hub, null), Ct);

        var board = await core.Reader.GetBoardAsync(Role.Therapist, Ct);

        Assert.Equal(["t-online", "t-recent", "t-bookable"], board.Entries.Select(e => e.Id));
        Assert.Equal([PresenceStatus.Online, PresenceStatus.Recent, PresenceStatus.Available], board.Entries.Select(e => e.Status));
        Assert.Equal(new PresenceCounts(1, 1, 1), board.Counts);
        Assert.Equal(new PresenceCounts(1, 1, 1), await core.Reader.CountAsync(Role.Therapist, Ct));
        var many = await core.Reader.GetManyAsync(Role.Therapist, ["t-online", "nobody"], Ct);
        Assert.Equal([PresenceStatus.Online, PresenceStatus.Offline], many.Select(e => e.Status));
        Assert.Equal("c-online", Assert.Single((await core.Reader.GetBoardAsync(Role.Community, Ct)).Entries).Id);
    }
}

public sealed class BackendOnSingleNodeTests(RedisServer redis) : BackendTests(redis);

/// <summary>Each role's keys share one hash tag, so each role lives on one primary of the cluster (its scripts touch one slot).</summary>
public sealed class BackendOnClusterTests(RedisCluster cluster) : BackendTests(cluster), IClassFixture<RedisCluster>
{
    [Fact]
    public async Task The_two_roles_live_on_two_different_primaries()
    {
        await using var core = new CoreServices(cluster);
        var therapist = await cluster.PrimaryForKeyAsync(core.Keys.LastSeen(Role.Therapist));
        var community = await cluster.PrimaryForKeyAsync(core.Keys.LastSeen(Role.Community));

        Assert.NotEqual(therapist, community);
        Assert.Equal(therapist, await cluster.PrimaryForKeyAsync(core.Keys.User(Role.Therapist, "t-1")));
        Assert.Equal(therapist, await cluster.PrimaryForKeyAsync(core.Keys.Events(Role.Therapist)));
    }
}
