namespace Presence.StatusQuery.Tests;

public sealed class PresenceReaderTests(RedisServer redis) : HostTests<ReaderHarness>(new(redis))
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task Online_lasts_until_the_online_window_has_fully_passed_then_the_user_is_recent()
    {
        await App.BeatAsync("t-1");

        App.Time.Advance(App.Options.OnlineWindow - Ms);
        Assert.Equal(PresenceStatus.Online, (await App.GetAsync("t-1")).Status);
        Assert.Equal(new PresenceCounts(1, 0, 0), (await App.BoardAsync()).Counts);

        App.Time.Advance(Ms);
        Assert.Equal(PresenceStatus.Recent, (await App.GetAsync("t-1")).Status);
        var board = await App.BoardAsync();
        Assert.Equal(new PresenceCounts(0, 1, 0), board.Counts);
        Assert.Equal(PresenceStatus.Recent, Assert.Single(board.Entries).Status);
    }

    [Fact]
    public async Task Recent_lasts_until_the_recent_window_has_fully_passed_then_available_or_offline()
    {
        await App.BeatAsync("t-flagged", available: true);
        await App.BeatAsync("t-plain");

        App.Time.Advance(App.Options.RecentWindow - Ms);
        Assert.Equal(PresenceStatus.Recent, (await App.GetAsync("t-flagged")).Status);
        Assert.Equal(PresenceStatus.Recent, (await App.GetAsync("t-plain")).Status);
        Assert.Equal(new PresenceCounts(0, 2, 0), (await App.BoardAsync()).Counts);

        App.Time.Advance(Ms);
        var flagged = await App.GetAsync("t-flagged");
        Assert.Equal(PresenceStatus.Available, flagged.Status);
        Assert.Equal("1h ago", flagged.LastActiveAgo);
        var plain = await App.GetAsync("t-plain");
        Assert.Equal(PresenceStatus.Offline, plain.Status);
        Assert.NotNull(plain.LastActive);

        var board = await App.BoardAsync();
        Assert.Equal(new PresenceCounts(0, 0, 1), board.Counts);
        Assert.Equal("t-flagged", Assert.Single(board.Entries).Id);
    }

    [Fact]
    public async Task Sign_off_keeps_the_user_online_for_the_leave_grace_then_recent()
    {
        await App.BeatAsync("t-1");
        await App.Store.SignOffAsync(PresenceRole.Therapist, "t-1", "d1", TestContext.Current.CancellationToken);

        App.Time.Advance(App.Options.LeaveGrace - Ms);
        Assert.Equal(PresenceStatus.Online, (await App.GetAsync("t-1")).Status);
        App.Time.Advance(Ms);
        var entry = await App.GetAsync("t-1");
        Assert.Equal(PresenceStatus.Recent, entry.Status);
        Assert.Equal("just now", entry.LastActiveAgo);
    }

    [Fact]
    public async Task Board_is_online_then_recent_by_recency_then_available_with_server_made_texts()
    {
        await App.BeatAsync("av-old", available: true);
        App.Time.Advance(TimeSpan.FromSeconds(3601));
        await App.BeatAsync("r-1");
        App.Time.Advance(TimeSpan.FromSeconds(5));
        await App.BeatAsync("r-2");
        App.Time.Advance(TimeSpan.FromSeconds(121));
        await App.BeatAsync("o-1");
        App.Time.Advance(TimeSpan.FromSeconds(1));
        await App.BeatAsync("o-2", available: true);
        await App.SetAvailableAsync("av-b");
        await App.SetAvailableAsync("av-a");
        await App.BeatAsync("o-3");
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "av-never-mind", true, TestContext.Current.CancellationToken);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "av-never-mind", false, TestContext.Current.CancellationToken);

        var board = await App.BoardAsync();

        Assert.Equal(["o-2", "o-3", "o-1", "r-2", "r-1", "av-old", "av-a", "av-b"], board.Entries.Select(e => e.Id));
        Assert.Equal(new PresenceCounts(3, 2, 3), board.Counts);
        var byId = board.Entries.ToDictionary(e => e.Id);
        Assert.True(byId["o-2"].Available);
        Assert.False(byId["o-1"].Available);
        Assert.Equal("just now", byId["o-1"].LastActiveAgo);
        Assert.Equal("2m ago", byId["r-2"].LastActiveAgo);
        Assert.Equal("2m ago", byId["r-1"].LastActiveAgo);
        Assert.Equal("1h ago", byId["av-old"].LastActiveAgo);
        Assert.Null(byId["av-a"].LastActive);
        Assert.Null(byId["av-a"].LastActiveAgo);
        Assert.Equal(PresenceStatus.Available, byId["av-a"].Status);
        Assert.Equal(App.Time.GetUtcNow().AddSeconds(-122).ToUnixTimeMilliseconds(), byId["r-2"].LastActive!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Many_ids_come_back_in_the_order_asked_and_unknown_ids_are_offline()
    {
        await App.BeatAsync("c-1", PresenceRole.Community);
        App.Time.Advance(App.Options.OnlineWindow);
        await App.BeatAsync("c-2", PresenceRole.Community);

        var entries = await App.Reader.GetManyAsync(PresenceRole.Community, ["c-2", "nobody", "c-1"], TestContext.Current.CancellationToken);

        Assert.Equal(["c-2", "nobody", "c-1"], entries.Select(e => e.Id));
        Assert.Equal([PresenceStatus.Online, PresenceStatus.Offline, PresenceStatus.Recent], entries.Select(e => e.Status));
        Assert.Null(entries[1].LastActive);
        Assert.Null(entries[1].LastActiveAgo);
        Assert.False(entries[1].Available);
        Assert.Equal("2m ago", entries[2].LastActiveAgo);
    }

    [Fact]
    public async Task Counts_by_score_agree_with_the_board_and_are_kept_per_role()
    {
        await App.BeatAsync("t-recent");
        await App.BeatAsync("t-recent-flagged", available: true);
        App.Time.Advance(App.Options.OnlineWindow);
        await App.BeatAsync("t-online", available: true);
        await App.SetAvailableAsync("t-available");
        await App.BeatAsync("c-1", PresenceRole.Community);
        await App.BeatAsync("c-2", PresenceRole.Community);

        var therapists = await App.Reader.CountAsync(PresenceRole.Therapist, TestContext.Current.CancellationToken);
        var community = await App.Reader.CountAsync(PresenceRole.Community, TestContext.Current.CancellationToken);

        Assert.Equal(new PresenceCounts(1, 2, 1), therapists);
        Assert.Equal((await App.BoardAsync()).Counts, therapists);
        Assert.Equal(new PresenceCounts(2, 0, 0), community);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a:b")]
    [InlineData("{tag}")]
    [InlineData("has space")]
    public async Task Invalid_ids_never_reach_a_key(string id)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => App.GetAsync(id));
    }
}
