namespace Presence.Testing;

/// <summary>A test host of the store (the store's harness, the janitor's): what <see cref="StoreBeats"/> run against.</summary>
public interface IStoreHost
{
    PresenceStore Store { get; }

    ConnectionStore Connections { get; }
}

/// <summary>Heartbeats straight into the store, as a service records them, and the gateway instances that hold hub sessions.</summary>
public static class StoreBeats
{
    public static Task<HeartbeatResult> BeatAsync(this IStoreHost host, PresenceRole role, string id, HeartbeatTransport transport = HeartbeatTransport.Rest, bool? available = null) =>
        host.Store.HeartbeatAsync(new Heartbeat(role, id, transport, available), TestContext.Current.CancellationToken);

    public static Task<HeartbeatResult> HubBeatAsync(this IStoreHost host, PresenceRole role, string id, string instance, string connection, string reason = PresenceReason.Heartbeat) =>
        host.Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub, Session: SessionRef.Hub(instance, connection), Reason: reason),
            TestContext.Current.CancellationToken);

    /// <summary>
    /// A gateway instance that renews its lease now and holds one hub connection for each of these users (named
    /// <c>instance-user</c>: a connection id is unique over all instances), as the lost-instance tests set up
    /// (docs/architecture.md, "Sessions").
    /// </summary>
    public static async Task GatewayHoldsAsync(this IStoreHost host, string instance, params (PresenceRole Role, string Id)[] users)
    {
        await host.Connections.RenewInstanceAsync(instance, TestContext.Current.CancellationToken);
        foreach (var (role, id) in users)
        {
            await host.HubBeatAsync(role, id, instance, connection: instance + "-" + id);
        }
    }
}
