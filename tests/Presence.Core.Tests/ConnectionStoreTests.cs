using Presence.Testing;

namespace Presence.Core.Tests;

public sealed class ConnectionStoreTests(RedisServer redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Closing_one_tab_of_two_keeps_the_user_online_and_closing_the_last_signs_off_once()
    {
        await using var h = new StoreHarness(redis);
        await h.BeatAsync(Role.Therapist, "t-1", HeartbeatTransport.Hub);
        Assert.Equal(1, await h.Connections.ConnectAsync(Role.Therapist, "t-1", "gw-a", "conn-1", Ct));
        Assert.Equal(2, await h.Connections.ConnectAsync(Role.Therapist, "t-1", "gw-b", "conn-2", Ct));

        Assert.Equal(DisconnectOutcome.ConnectionsRemain, await h.Connections.DisconnectAsync(Role.Therapist, "t-1", "gw-a", "conn-1", Ct));
        Assert.NotNull(await h.Db.SortedSetScoreAsync(h.Keys.Online(Role.Therapist), "t-1"));

        Assert.Equal(DisconnectOutcome.SignedOff, await h.Connections.DisconnectAsync(Role.Therapist, "t-1", "gw-b", "conn-2", Ct));
        Assert.Null(await h.Db.SortedSetScoreAsync(h.Keys.Online(Role.Therapist), "t-1"));
        Assert.False(await h.Db.KeyExistsAsync(h.Keys.Connections(Role.Therapist, "t-1")));
        Assert.Null(await h.Db.SortedSetScoreAsync(h.Keys.ConnectionIndex(Role.Therapist), "t-1"));
        Assert.Equal(["online", "recent"], (await h.EventsAsync(Role.Therapist)).Select(e => (string?)e["status"]).ToArray());
    }

    [Fact]
    public async Task A_connection_without_heartbeats_expires_after_the_stale_window_and_refresh_keeps_it()
    {
        await using var h = new StoreHarness(redis);
        await h.Connections.ConnectAsync(Role.Community, "c-1", "gw-a", "conn-1", Ct);
        await h.Connections.ConnectAsync(Role.Community, "c-2", "gw-a", "conn-2", Ct);
        h.Time.Advance(TimeSpan.FromSeconds(60));
        await h.Connections.ConnectAsync(Role.Community, "c-2", "gw-a", "conn-2", Ct);
        await h.BeatAsync(Role.Community, "c-1", HeartbeatTransport.Hub);
        h.Time.Advance(TimeSpan.FromSeconds(31));

        var stale = await h.Connections.UsersWithExpiredConnectionsAsync(Role.Community, 100, Ct);

        Assert.Equal(["c-1"], stale);
        Assert.Equal(DisconnectOutcome.SignedOff, await h.Connections.ExpireConnectionsAsync(Role.Community, "c-1", Ct));
        Assert.Empty(await h.Connections.UsersWithExpiredConnectionsAsync(Role.Community, 100, Ct));
        Assert.Equal(1, await h.Db.SortedSetLengthAsync(h.Keys.Connections(Role.Community, "c-2")));
    }

    [Fact]
    public async Task Connections_of_an_instance_whose_lease_lapsed_are_removed_and_their_users_sign_off()
    {
        await using var h = new StoreHarness(redis);
        await h.Connections.RenewInstanceAsync("gw-dead", Ct);
        await h.Connections.RenewInstanceAsync("gw-live", Ct);
        await h.BeatAsync(Role.Therapist, "t-1", HeartbeatTransport.Hub);
        await h.BeatAsync(Role.Community, "c-1", HeartbeatTransport.Hub);
        await h.BeatAsync(Role.Community, "c-2", HeartbeatTransport.Hub);
        await h.Connections.ConnectAsync(Role.Therapist, "t-1", "gw-dead", "a", Ct);
        await h.Connections.ConnectAsync(Role.Community, "c-1", "gw-dead", "b", Ct);
        await h.Connections.ConnectAsync(Role.Community, "c-2", "gw-dead", "c", Ct);
        await h.Connections.ConnectAsync(Role.Community, "c-2", "gw-live", "d", Ct);
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Connections.RenewInstanceAsync("gw-live", Ct);
        h.Time.Advance(TimeSpan.FromSeconds(6));

        var lapsed = await h.Connections.LapsedInstancesAsync(10, Ct);
        Assert.Equal(["gw-dead"], lapsed);

        Assert.Equal(2, await h.Connections.RemoveInstanceAsync("gw-dead", Ct));
        Assert.Null(await h.Db.SortedSetScoreAsync(h.Keys.Online(Role.Therapist), "t-1"));
        Assert.Null(await h.Db.SortedSetScoreAsync(h.Keys.Online(Role.Community), "c-1"));
        Assert.NotNull(await h.Db.SortedSetScoreAsync(h.Keys.Online(Role.Community), "c-2"));
        Assert.Empty(await h.Connections.LapsedInstancesAsync(10, Ct));
        Assert.False(await h.Db.KeyExistsAsync(h.Keys.InstanceConnections(Role.Community, "gw-dead")));
    }
}
