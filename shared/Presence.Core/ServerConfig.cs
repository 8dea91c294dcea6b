using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// <c>CONFIG GET</c> / <c>CONFIG SET</c> of one parameter on every primary (docs/architecture.md, "Redis Cluster": the
/// setting is per node and <c>CONFIG SET</c> is not replicated), through the resilience pipeline. Sent with
/// <c>EXECUTE</c>: the multiplexer keeps admin mode off for everything else. A server that renamed <c>CONFIG</c> away
/// answers <see cref="RedisServerException"/>; an ACL user without it, <see cref="RedisUnavailableException"/> of class
/// <see cref="RedisErrorClass.NoPermission"/>.
/// </summary>
public sealed class ServerConfig(IConnectionMultiplexer redis, RedisResilience resilience)
{
    /// <summary>One primary to ask: all of them on a cluster, each on its own connection; the one server otherwise.</summary>
    public IReadOnlyList<ServerConfigTarget> Primaries()
    {
        var primaries = redis.GetServers().Where(s => !s.IsReplica && s.IsConnected).ToList();
        if (primaries.Count <= 1)
        {
            var db = redis.GetDatabase();
            return [new ServerConfigTarget((command, args) => db.ExecuteAsync(command, args))];
        }

        return [.. primaries.Select(server => new ServerConfigTarget((command, args) => server.ExecuteAsync(command, args)))];
    }

    /// <summary>The parameter's value on <paramref name="target"/> (empty when the server does not know it).</summary>
    public async Task<string> GetAsync(ServerConfigTarget target, string parameter, CancellationToken ct = default)
    {
        var reply = await resilience.ExecuteAsync(
            static (s, _) => s.target.Execute("CONFIG", ["GET", s.parameter]), (target, parameter), idempotent: true, ct).ConfigureAwait(false);
        var pairs = (RedisResult[])reply!;
        return pairs.Length >= 2 ? (string?)pairs[1] ?? string.Empty : string.Empty;
    }

    /// <summary>Sets the parameter on <paramref name="target"/>.</summary>
    public async Task SetAsync(ServerConfigTarget target, string parameter, string value, CancellationToken ct = default) =>
        await resilience.ExecuteAsync(
            static (s, _) => s.target.Execute("CONFIG", ["SET", s.parameter, s.value]), (target, parameter, value), idempotent: true, ct).ConfigureAwait(false);
}

/// <summary>A primary to send <c>CONFIG</c> to (from <see cref="ServerConfig.Primaries"/>).</summary>
public sealed record ServerConfigTarget(Func<string, object[], Task<RedisResult>> Execute);
