using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// The shared model wired as the services wire it (<see cref="PresenceCoreExtensions.AddPresenceCore"/>), against a
/// real <see cref="RedisServer"/> or <see cref="RedisCluster"/>, on a <see cref="FakeTimeProvider"/> and a key prefix of its own (or a given one, to
/// act as another replica on the same keys). A service's own registrations go on top through <c>register</c> (the
/// janitor's harness adds the janitor's).
/// </summary>
public sealed class CoreServices : IAsyncDisposable
{
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services;

    /// <param name="time">The clock: a <see cref="FakeTimeProvider"/> from <paramref name="start"/> unless given.</param>
    /// <param name="register">More registrations, after the shared ones (a later one replaces an earlier one).</param>
    public CoreServices(
        IRedisBackend redis,
        Action<PresenceOptions>? configure = null,
        string? prefix = null,
        DateTimeOffset? start = null,
        TimeProvider? time = null,
        Action<IServiceCollection, IConfiguration>? register = null)
    {
        Redis = redis;
        Clock = time ?? new FakeTimeProvider(start ?? DefaultStart);
        Prefix = prefix ?? RedisServer.NewKeyPrefix();
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(Clock);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(configuration);
        services.Configure<PresenceOptions>(o =>
        {
            o.KeyPrefix = Prefix;
            configure?.Invoke(o);
        });
        register?.Invoke(services, configuration);
        _services = services.BuildServiceProvider();
        Options = _services.GetRequiredService<IOptions<PresenceOptions>>().Value;
    }

    public IRedisBackend Redis { get; }

    public TimeProvider Clock { get; }

    /// <summary>The clock, when it is the fake one (the default).</summary>
    public FakeTimeProvider Time => (FakeTimeProvider)Clock;

    public string Prefix { get; }

    public PresenceOptions Options { get; }

    public PresenceKeys Keys => Get<PresenceKeys>();

    public PresenceStore Store => Get<PresenceStore>();

    public PresenceReader Reader => Get<PresenceReader>();

    public ConnectionStore Connections => Get<ConnectionStore>();

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
