using Presence.Testing;

namespace Presence.StatusQuery.Tests;

/// <summary>A redis-server of a test class's own, for tests that stop it or count its commands.</summary>
public sealed class OwnRedis : IAsyncLifetime
{
    public RedisServer Server { get; } = new();

    public ValueTask InitializeAsync() => Server.InitializeAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
