using Presence.Core.Intervals;

namespace Presence.RealtimeGateway.Tests;

public sealed class AdaptiveIntervalTests(RedisServer redis) : HostTests<GatewayFactory>(new(redis))
{
    [Fact]
    public async Task A_hidden_hub_client_gets_a_longer_interval_in_the_ack_and_the_message()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Community("c-hidden"));
        var acked = hub.NextAsync<HeartbeatAck>("heartbeat-ack");

        var result = await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage { Visible = false }, Ct);

        Assert.Equal(60, result.NextHeartbeatSeconds);
        Assert.Equal(60, (await acked.WaitAsync(Poll.DefaultTimeout, Ct)).NextHeartbeatSeconds);
        Assert.Equal(30, (await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage { Visible = true }, Ct)).NextHeartbeatSeconds);
    }

    [Fact]
    public async Task Watching_a_therapist_by_id_shortens_its_interval_until_the_watcher_leaves_and_the_mark_lapses()
    {
        await using var therapist = await App.ConnectAsync(DevTokens.Therapist("t-watched"));
        var watched = App.Services.GetRequiredService<WatchedTherapists>();
        Assert.Equal(30, (await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct)).NextHeartbeatSeconds);

        var watcher = await App.ConnectAsync(DevTokens.Community("c-watcher"));
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-watched" }, Ct);
        await watched.RefreshAsync(Ct);
        Assert.Equal(15, (await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct)).NextHeartbeatSeconds);
        // A hidden therapist gets the hidden interval even while watched.
        Assert.Equal(60, (await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage { Visible = false }, Ct)).NextHeartbeatSeconds);

        await watcher.DisposeAsync();
        await Poll.UntilAsync(() => App.Services.GetRequiredService<Presence.RealtimeGateway.Watching.WatchMarks>().Watched.Count == 0,
            () => "the closed watcher no longer counts");
        App.Time.Advance(TimeSpan.FromSeconds(31));
        await watched.RefreshAsync(Ct);
        Assert.Equal(30, (await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct)).NextHeartbeatSeconds);
    }
}
