using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// Every Redis key of DESIGN.md §3, built in this one place. A role's keys share the hash tag
/// <c>{role}</c> so a script touching several of them stays one call on Redis Cluster.
/// Ids must have passed <see cref="UserId.IsValid"/> before they get here.
/// </summary>
public sealed class PresenceKeys
{
    private readonly RoleKeys[] _roles;

    public PresenceKeys(IOptions<PresenceOptions> options)
        : this(options.Value.KeyPrefix)
    {
    }

    public PresenceKeys(string prefix)
    {
        Prefix = prefix;
        _roles = [.. Roles.All.Select(r => new RoleKeys(prefix, r))];
        JanitorLease = $"{prefix}:janitor:lease";
        GatewayInstances = $"{prefix}:gateway:instances";
    }

    public string Prefix { get; }

    public RedisKey JanitorLease { get; }

    /// <summary>ZSET of live realtime-gateway instances, score = lease-until (unix ms).</summary>
    public RedisKey GatewayInstances { get; }

    public RedisKey LastSeen(Role role) => _roles[(int)role].LastSeen;

    public RedisKey Online(Role role) => _roles[(int)role].Online;

    public RedisKey Available(Role role) => _roles[(int)role].Available;

    public RedisKey Events(Role role) => _roles[(int)role].Events;

    public RedisKey User(Role role, string id) => _roles[(int)role].Tag + ":user:" + id;

    public RedisKey Throttle(Role role, string id) => _roles[(int)role].Tag + ":throttle:" + id;

    /// <summary>ZSET of one user's hub connections (<c>instance|connection</c>), score = expires-at (unix ms).</summary>
    public RedisKey Connections(Role role, string id) => _roles[(int)role].Tag + ":conns:" + id;

    /// <summary>ZSET of the users holding hub connections, score = their earliest connection expiry: the janitor's index.</summary>
    public RedisKey ConnectionIndex(Role role) => _roles[(int)role].ConnectionIndex;

    /// <summary>SET of <c>user|connection</c> held by one gateway instance, so a lapsed instance's connections can be found.</summary>
    public RedisKey InstanceConnections(Role role, string instanceId) => _roles[(int)role].Tag + ":instance:" + instanceId;

    /// <summary>The user-hash key prefix of a role, for recognising expired-key notifications.</summary>
    public string UserKeyPrefix(Role role) => _roles[(int)role].Tag + ":user:";

    private sealed class RoleKeys(string prefix, Role role)
    {
        public readonly string Tag = $"{prefix}:{{{role.Name()}}}";
        public readonly RedisKey LastSeen = $"{prefix}:{{{role.Name()}}}:lastseen";
        public readonly RedisKey Online = $"{prefix}:{{{role.Name()}}}:online";
        public readonly RedisKey Available = $"{prefix}:{{{role.Name()}}}:available";
        public readonly RedisKey Events = $"{prefix}:{{{role.Name()}}}:events";
        public readonly RedisKey ConnectionIndex = $"{prefix}:{{{role.Name()}}}:connusers";
    }
}
