using Microsoft.Extensions.Time.Testing;

namespace Presence.Core.Tests;

/// <summary>The store wired as the services wire it, against the shared test Redis, with a fake clock and a key prefix of its own.</summary>
public sealed class StoreHarness(RedisServer redis, Action<PresenceOptions>? configure = null, string? prefix = null, DateTimeOffset? start = null)
    : IStoreHost, IAsyncDisposable
{
    private readonly CoreServices _core = new(redis, configure, prefix, start);

    public RedisServer Redis => redis;

    public FakeTimeProvider Time => _core.Time;

    public PresenceOptions Options => _core.Options;

    public PresenceKeys Keys => _core.Keys;

    public PresenceStore Store => _core.Store;

    public ConnectionStore Connections => _core.Connections;

    public IDatabase Db => redis.Database;

    public T Get<T>()
        where T : notnull => _core.Get<T>();

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<HeartbeatResult> DeviceBeatAsync(PresenceRole role, string id, string device, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Rest, available, Session: SessionRef.Rest(device)), TestContext.Current.CancellationToken);

    /// <summary>The role's stream, parsed; a malformed entry fails the test.</summary>
    public async Task<PresenceEvent[]> StateEventsAsync(PresenceRole role) =>
        [.. (await EventsAsync(role)).Select(e => PresenceEvent.TryParse(e, role, out var parsed) ? parsed : throw new InvalidOperationException("Malformed event " + e.Id))];

    public async Task<StreamEntry[]> EventsAsync(PresenceRole role) => await Db.AllEventsAsync(Keys, role);

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
