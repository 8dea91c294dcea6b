using Presence.Core.Engagement;

namespace Presence.RealtimeGateway.Tests;

public sealed class PreferredOnlineTests(RedisServer redis) : HostTests<GatewayFactory>(new(redis))
{
    [Fact]
    public async Task A_note_published_for_this_instance_reaches_the_users_connection_as_preferred_online_and_no_other()
    {
        await using var user = await App.ConnectAsync(DevTokens.Community("c-note"));
        await using var other = await App.ConnectAsync(DevTokens.Community("c-other"));
        var received = user.NextAsync<PreferredOnline>("preferred-online");
        var otherReceived = 0;
        other.On<PreferredOnline>("preferred-online", _ => Interlocked.Increment(ref otherReceived));
        await user.InvokeAsync<HeartbeatAck>("joinAsUser", Ct);
        await other.InvokeAsync<HeartbeatAck>("joinAsUser", Ct);

        // What the janitor's notifier does: find the user's live connections by instance and publish to each instance.
        var store = App.Services.GetRequiredService<NotificationStore>();
        var live = await App.Services.GetRequiredService<ConnectionStore>().LiveHubConnectionsAsync(PresenceRole.Community, "c-note", Ct);
        var (instance, connections) = Assert.Single(live);
        Assert.Equal(App.InstanceId, instance);
        var sent = new PreferredOnline(PreferredOnline.TypeName, "t-1", "c-note", "online", 1_000, 3);
        Assert.Equal(1, await store.PublishToHubAsync(instance, new HubNotification(connections, sent), Ct));

        Assert.Equal(sent, await received.WaitAsync(Poll.DefaultTimeout, Ct));
        Assert.Equal(0, otherReceived);
    }
}
