using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Presence.Core;
using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// The shared model wired as the services wire it (<see cref="PresenceCoreExtensions.AddPresenceCore"/>), against a
/// real <see cref="RedisServer"/> or <see cref="RedisCluster"/>, on a <see cref="FakeTimeProvider"/> and a key prefix of its own (or a given one, to
/// act as another replica on the same keys).
/// </summary>
public sealed class CoreServices : IAsyncDisposable
{
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services;

    public CoreServices(IRedisBackend redis, Action<PresenceOptions>? configure = null, string? prefix = null, DateTimeOffset? start = null)
    {
        Redis = redis;
        Time = new FakeTimeProvider(start ?? DefaultStart);
        prefix ??= RedisServer.NewKeyPrefix();
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(new ConfigurationBuilder().Build());
        services.Configure<PresenceOptions>(o =>
        {
            o.KeyPrefix = prefix;
            configure?.Invoke(o);
        });
        _services = services.BuildServiceProvider();
        Options = _services.GetRequiredService<IOptions<PresenceOptions>>().Value;
    }

    public IRedisBackend Redis { get; }

    public FakeTimeProvider Time { get; }

    public PresenceOptions Options { get; }

    public PresenceKeys Keys => Get<PresenceKeys>();

    public PresenceStore Store => Get<PresenceStore>();

    public PresenceReader Reader => Get<PresenceReader>();

    public ConnectionStore Connections => Get<ConnectionStore>();

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
