using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

namespace Presence.RealtimeGateway.Tests;

/// <summary>
/// What the janitor does about gateway instances, wired as a service would wire the shared store, on a clock of
/// its own: the tests move it past a lease to see which instances lapsed, without touching the gateways' clocks.
/// </summary>
internal sealed class JanitorStand : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public JanitorStand(RedisServer redis, string prefix)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(new ConfigurationBuilder().Build());
        services.Configure<PresenceOptions>(o => o.KeyPrefix = prefix);
        _services = services.BuildServiceProvider();
        Connections = _services.GetRequiredService<ConnectionStore>();
        Options = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PresenceOptions>>().Value;
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public ConnectionStore Connections { get; }

    public PresenceOptions Options { get; }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
