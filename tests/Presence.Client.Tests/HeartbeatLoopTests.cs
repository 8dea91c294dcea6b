namespace Presence.Client.Tests;

/// <summary>
/// <see cref="HeartbeatLoop"/> against the real heartbeat-api, the loop and the services on one fake clock: the loop's
/// waits and the server's min interval move only when the test advances time, so nothing here sleeps.
/// </summary>
public sealed class HeartbeatLoopTests(RedisServer redis) : HostTests<Stack>(new(redis, Intervals))
{
    private static readonly Dictionary<string, string?> Intervals = new()
    {
        ["Presence:HeartbeatInterval"] = "00:00:20",
        ["Presence:MinHeartbeatInterval"] = "00:00:05",
    };

    [Fact]
    public async Task Loop_obeys_next_heartbeat_seconds_and_adapts_when_the_server_changes_it()
    {
        await using var loop = Loop("t-adapt", out var attempts);
        await loop.StartAsync(Ct);
        var first = await attempts.NextAsync();
        Assert.Equal(HeartbeatOutcome.Accepted, first.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(20), loop.CurrentInterval);
        Assert.Equal(App.Time.GetUtcNow() + TimeSpan.FromSeconds(20), loop.NextBeatDue);

        App.HeartbeatApi.SetConfiguration("Presence:HeartbeatInterval", "00:00:45");
        App.Time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(1, attempts.Count);
        App.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await attempts.NextAsync();

        Assert.Equal(HeartbeatOutcome.Accepted, second.Outcome);
        Assert.Equal(45, second.Ack!.NextHeartbeatSeconds);
        Assert.Equal(TimeSpan.FromSeconds(45), loop.CurrentInterval);
        Assert.Equal(App.Time.GetUtcNow() + TimeSpan.FromSeconds(45), loop.NextBeatDue);
        Assert.Equal(App.Time.GetUtcNow().ToUnixTimeMilliseconds(), await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(Core.PresenceRole.Therapist, "t-adapt"), "t-adapt"));

        // Shorter again, but never below the client's floor (the server's min interval).
        App.HeartbeatApi.SetConfiguration("Presence:HeartbeatInterval", "00:00:08");
        App.Time.Advance(TimeSpan.FromSeconds(45));
        await attempts.NextAsync();
        Assert.Equal(TimeSpan.FromSeconds(8), loop.CurrentInterval);
    }

    [Fact]
    public async Task Loop_waits_for_retry_after_when_throttled_then_beats()
    {
        var token = DevTokens.Therapist("t-throttled");
        await App.Client(token).HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct);
        App.Time.Advance(TimeSpan.FromSeconds(2));
        await using var loop = Loop("t-throttled", out var attempts);

        await loop.StartAsync(Ct);
        var throttled = await attempts.NextAsync();

        Assert.Equal(HeartbeatOutcome.Throttled, throttled.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(3), throttled.NextDelay);
        Assert.Equal(App.Time.GetUtcNow() + TimeSpan.FromSeconds(3), loop.NextBeatDue);
        App.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(HeartbeatOutcome.Accepted, (await attempts.NextAsync()).Outcome);
    }

    [Fact]
    public async Task Loop_stop_signs_off_and_a_refused_token_keeps_the_interval()
    {
        await using (var loop = Loop("t-stop", out var attempts))
        {
            await loop.StartAsync(Ct);
            await attempts.NextAsync();
            Assert.True(loop.IsRunning);
            await loop.StopAsync(Ct);
            Assert.False(loop.IsRunning);
        }

        // Signed off: the session ended, and the user leaves when the leave grace ends.
        Assert.Equal(0, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(Core.PresenceRole.Therapist, "t-stop")));
        Assert.True(await App.Db.HashExistsAsync(App.Keys.User(Core.PresenceRole.Therapist, "t-stop"), "leave"));

        var client = App.Client(DevTokens.Expired("therapist", "t-expired"));
        await using var refused = new HeartbeatLoop(client, new HeartbeatLoopOptions { Role = PresenceRole.Therapist, SignOffOnStop = false }, time: App.Time);
        var seen = new Attempts(refused);
        await refused.StartAsync(Ct);
        var attempt = await seen.NextAsync();
        Assert.Equal(HeartbeatOutcome.Refused, attempt.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(30), attempt.NextDelay);
    }

    [Fact]
    public async Task Loop_uses_the_hub_while_it_is_connected()
    {
        var token = DevTokens.Therapist("t-hubbeat");
        await using var hub = App.Hub(token);
        await hub.StartAsync(Ct);
        await using var loop = new HeartbeatLoop(App.Client(token), new HeartbeatLoopOptions { Role = PresenceRole.Therapist }, hub, App.Time);
        var attempts = new Attempts(loop);

        await loop.StartAsync(Ct);
        var attempt = await attempts.NextAsync();

        Assert.Equal(HeartbeatOutcome.Accepted, attempt.Outcome);
        Assert.Equal(HeartbeatTransport.Hub, attempt.Transport);
        Assert.Equal(20, attempt.Ack!.NextHeartbeatSeconds);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(Core.PresenceRole.Therapist, "t-hubbeat"), "t-hubbeat"));
    }

    private HeartbeatLoop Loop(string id, out Attempts attempts)
    {
        var loop = new HeartbeatLoop(App.Client(DevTokens.Therapist(id)), new HeartbeatLoopOptions
        {
            Role = PresenceRole.Therapist,
            MinInterval = TimeSpan.FromSeconds(5),
        }, time: App.Time);
        attempts = new Attempts(loop);
        return loop;
    }

    /// <summary>The loop's attempts in order; <see cref="NextAsync"/> waits (with a deadline) for the next one.</summary>
    private sealed class Attempts
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<HeartbeatAttempt> _seen = new();
        private int _taken;

        public Attempts(HeartbeatLoop loop) => loop.Attempted += _seen.Enqueue;

        public int Count => _seen.Count;

        public async Task<HeartbeatAttempt> NextAsync()
        {
            await Poll.UntilAsync(() => Task.FromResult(_seen.Count > _taken), $"heartbeat attempt #{_taken + 1}", timeout: TimeSpan.FromSeconds(10));
            return _seen.ElementAt(_taken++);
        }
    }
}
