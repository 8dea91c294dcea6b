using Microsoft.AspNetCore.SignalR;

namespace Presence.RealtimeGateway.Tests;

public sealed class OutageTests(PrivateRedis outage) : IClassFixture<PrivateRedis>
{
    [Fact]
    public async Task While_Redis_is_down_the_hub_stays_up_heartbeats_get_a_clear_error_and_pushes_resume_after_recovery()
    {
        var redis = outage.Server;
        await using var gateway = new GatewayFactory(redis);
        await using var therapist = await gateway.ConnectAsync(DevTokens.Therapist("t-out"));
        await using var watcher = await gateway.ConnectAsync(token: null);
        var pushes = Pushes.On(watcher);
        await watcher.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);
        await therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-out" }, Ct);
        await pushes.WaitForAsync("t-out", "online");

        await redis.StopAsync();
        var refused = await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct));
        Assert.Contains("Presence store unavailable", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, therapist.State);
        Assert.Equal(HubConnectionState.Connected, watcher.State);
        // A connection opened meanwhile is accepted (the backplane's channel bookkeeping does not need Redis).
        await using var opened = await gateway.ConnectAsync(DevTokens.Community("c-out"));
        Assert.Equal(HubConnectionState.Connected, opened.State);

        await redis.StartAsync();
        // The circuit stays open for its break (5 s); then heartbeats are accepted again.
        await Poll.UntilAsync(async () =>
        {
            try
            {
                gateway.Time.Advance(TimeSpan.FromSeconds(2));
                await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
                return true;
            }
            catch (HubException)
            {
                return false;
            }
        }, () => "heartbeats were still refused after Redis came back", TimeSpan.FromSeconds(30));

        // The restarted server lost the stream and its group (no persistence): the consumer recreates the group and
        // delivers what was appended since, through the backplane, which resubscribed by itself.
        await gateway.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-after", HeartbeatTransport.Rest), Ct);
        await pushes.WaitForAsync("t-after", "online", TimeSpan.FromSeconds(30));
        Assert.Equal(HubConnectionState.Connected, watcher.State);
    }
}
