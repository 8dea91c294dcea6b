using Presence.Testing;

namespace Presence.Janitor.Tests;

/// <summary>A redis-server for one test class alone: for tests that stop it, restart it or change its configuration.</summary>
public sealed class OwnRedis : IAsyncLifetime
{
    public RedisServer Server { get; } = new();

    public ValueTask InitializeAsync() => Server.InitializeAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
