namespace Presence.Testing;

/// <summary>
/// A redis-server of one test class's own (a class fixture), for tests that stop it, restart it, break it, change its
/// configuration or count its commands: the assembly's shared <see cref="RedisServer"/> is never touched.
/// </summary>
public sealed class PrivateRedis : IAsyncLifetime
{
    public RedisServer Server { get; } = new();

    public ValueTask InitializeAsync() => Server.InitializeAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
