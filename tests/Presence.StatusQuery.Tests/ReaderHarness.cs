using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.StatusQuery.Tests;

/// <summary>The store and the reader wired as the services wire them, on a fake clock and a key prefix of their own.</summary>
internal sealed class ReaderHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public ReaderHarness(RedisServer redis)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var prefix = RedisServer.NewKeyPrefix();
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(new ConfigurationBuilder().Build());
        services.Configure<PresenceOptions>(o => o.KeyPrefix = prefix);
        _services = services.BuildServiceProvider();
        Options = _services.GetRequiredService<IOptions<PresenceOptions>>().Value;
        Store = _services.GetRequiredService<PresenceStore>();
        Reader = _services.GetRequiredService<PresenceReader>();
    }

    public FakeTimeProvider Time { get; }

    public PresenceOptions Options { get; }

    public PresenceStore Store { get; }

    public PresenceReader Reader { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A hub heartbeat: not bound by the REST min interval, so tests can beat whenever they like.</summary>
    public Task BeatAsync(string id, Role role = Role.Therapist, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub, available), Ct);

    public Task SetAvailableAsync(string id, bool available = true) => Store.SetAvailabilityAsync(Role.Therapist, id, available, Ct);

    public Task<PresenceEntry> GetAsync(string id, Role role = Role.Therapist) => Reader.GetAsync(role, id, Ct);

    public Task<PresenceBoard> BoardAsync(Role role = Role.Therapist) => Reader.GetBoardAsync(role, Ct);

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
