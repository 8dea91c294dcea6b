namespace Presence.Core.Tests;

/// <summary>The janitor's wake time (docs/architecture.md, "Sweeps"): the lowest online-until over every role and shard.</summary>
public sealed class DueTimesTests(RedisServer redis)
{
    [Fact]
    public async Task The_earliest_online_until_is_the_lowest_over_roles_and_shards_and_null_when_nobody_is_online()
    {
        await using var h = new StoreHarness(redis);
        var due = new DueTimes(h.Get<IConnectionMultiplexer>(), h.Get<RedisResilience>(), h.Keys);
        Assert.Null(await due.EarliestOnlineUntilAsync(Ct));

        // Users in different shards and roles, beating at different times: the community user beat first.
        var therapists = Enumerable.Range(0, 40).Select(i => "t-" + i).ToArray();
        Assert.True(therapists.Select(h.Keys.ShardOf).Distinct().Count() > 1);
        await h.BeatAsync(PresenceRole.Community, "c-first");
        var first = h.NowMs + (long)h.Options.OnlineWindow.TotalMilliseconds;
        h.Time.Advance(TimeSpan.FromSeconds(5));
        foreach (var id in therapists)
        {
            await h.BeatAsync(PresenceRole.Therapist, id);
        }

        Assert.Equal(first, await due.EarliestOnlineUntilAsync(Ct));

        // Once it signs off past the leave grace and is settled, the earliest is a therapist's.
        await h.Store.SignOffAsync(PresenceRole.Community, "c-first", ct: Ct);
        h.Time.Advance(h.Options.LeaveGrace + TimeSpan.FromSeconds(1));
        Assert.True(await h.Store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-first", Ct));
        Assert.Equal(first + 5_000, await due.EarliestOnlineUntilAsync(Ct));
    }
}
