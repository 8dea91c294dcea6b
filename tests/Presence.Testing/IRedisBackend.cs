using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// What a test needs of "a Redis": a connection string for the services under test and a client for assertions.
/// Implemented by the single-node <see cref="RedisServer"/> and the <see cref="RedisCluster"/>, so one test case
/// can run on both.
/// </summary>
public interface IRedisBackend
{
    /// <summary>For services under test (several endpoints for a cluster).</summary>
    string ConnectionString { get; }

    /// <summary>A client for test assertions (admin commands allowed).</summary>
    IConnectionMultiplexer Client { get; }

    IDatabase Database { get; }
}
