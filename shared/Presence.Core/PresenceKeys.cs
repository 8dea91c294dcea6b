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
    }

    public string Prefix { get; }

    public RedisKey JanitorLease { get; }

    public RedisKey LastSeen(Role role) => _roles[(int)role].LastSeen;

    public RedisKey Online(Role role) => _roles[(int)role].Online;

    public RedisKey Available(Role role) => _roles[(int)role].Available;

    public RedisKey Events(Role role) => _roles[(int)role].Events;

    public RedisKey User(Role role, string id) => _roles[(int)role].Tag + ":user:" + id;

    public RedisKey Throttle(Role role, string id) => _roles[(int)role].Tag + ":throttle:" + id;

    public RedisKey Connections(Role role, string id) => _roles[(int)role].Tag + ":conns:" + id;

    /// <summary>The user-hash key prefix of a role, for recognising expired-key notifications.</summary>
    public string UserKeyPrefix(Role role) => _roles[(int)role].Tag + ":user:";

    private sealed class RoleKeys(string prefix, Role role)
    {
        public readonly string Tag = $"{prefix}:{{{role.Name()}}}";
        public readonly RedisKey LastSeen = $"{prefix}:{{{role.Name()}}}:lastseen";
        public readonly RedisKey Online = $"{prefix}:{{{role.Name()}}}:online";
        public readonly RedisKey Available = $"{prefix}:{{{role.Name()}}}:available";
        public readonly RedisKey Events = $"{prefix}:{{{role.Name()}}}:events";
    }
}
