using Microsoft.Extensions.Time.Testing;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Core.Tests;

/// <summary>The store wired as the services wire it, against the shared test Redis, with a fake clock and a key prefix of its own.</summary>
internal sealed class StoreHarness(RedisServer redis, Action<PresenceOptions>? configure = null, string? prefix = null, DateTimeOffset? start = null)
    : IAsyncDisposable
{
    private readonly CoreServices _core = new(redis, configure, prefix, start);

    public RedisServer Redis => redis;

    public FakeTimeProvider Time => _core.Time;

    public PresenceOptions Options => _core.Options;

    public PresenceKeys Keys => _core.Keys;

    public PresenceStore Store => _core.Store;

    public ConnectionStore Connections => _core.Connections;

    public IDatabase Db => redis.Database;

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<HeartbeatResult> BeatAsync(Role role, string id, HeartbeatTransport transport = HeartbeatTransport.Rest, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, transport, available), TestContext.Current.CancellationToken);

    public async Task<StreamEntry[]> EventsAsync(Role role) => await Db.StreamRangeAsync(Keys.Events(role));

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
