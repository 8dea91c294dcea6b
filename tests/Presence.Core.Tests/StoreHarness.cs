using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.Core.Tests;

/// <summary>The store wired as the services wire it, against the shared test Redis, with a fake clock and a key prefix of its own.</summary>
internal sealed class StoreHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public StoreHarness(RedisServer redis, Action<PresenceOptions>? configure = null, string? prefix = null, DateTimeOffset? start = null)
    {
        Redis = redis;
        Time = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        prefix ??= RedisServer.NewKeyPrefix();
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.Configure<PresenceOptions>(o =>
        {
            o.KeyPrefix = prefix;
            configure?.Invoke(o);
        });
        _services = services.BuildServiceProvider();
        Options = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PresenceOptions>>().Value;
        Keys = _services.GetRequiredService<PresenceKeys>();
        Store = _services.GetRequiredService<PresenceStore>();
        Connections = _services.GetRequiredService<ConnectionStore>();
    }

    public ConnectionStore Connections { get; }

    public RedisServer Redis { get; }

    public FakeTimeProvider Time { get; }

    public PresenceOptions Options { get; }

    public PresenceKeys Keys { get; }

    public PresenceStore Store { get; }

    public IDatabase Db => Redis.Database;

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<HeartbeatResult> BeatAsync(Role role, string id, HeartbeatTransport transport = HeartbeatTransport.Rest, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, transport, available), TestContext.Current.CancellationToken);

    public async Task<StreamEntry[]> EventsAsync(Role role) => await Db.StreamRangeAsync(Keys.Events(role));

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
