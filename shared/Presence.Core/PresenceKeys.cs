using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// Every Redis key of the model (docs/architecture.md, "Keys"), built in this one place. A role's keys and the keys
/// of each of its users share the hash tag <c>{role}</c>, so every script stays one slot on Redis Cluster.
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

    /// <summary>ZSET: user id, score = last activity (unix ms).</summary>
    public RedisKey LastSeen(Role role) => _roles[(int)role].LastSeen;

    /// <summary>ZSET index: user id, score = online-until (the latest live session, or the end of the leave grace).</summary>
    public RedisKey Online(Role role) => _roles[(int)role].Online;

    /// <summary>ZSET index: user id in status recent, score = the end of the recent window.</summary>
    public RedisKey Recent(Role role) => _roles[(int)role].Recent;

    /// <summary>ZSET index: available therapist id, score = when the availability lapses.</summary>
    public RedisKey Available(Role role) => _roles[(int)role].Available;

    /// <summary>HASH: user id → the explicit <c>until</c> (unix ms) the therapist gave, when one was given.</summary>
    public RedisKey AvailableUntil(Role role) => _roles[(int)role].AvailableUntil;

    /// <summary>HASH: user id → allow-listed specialties, comma-separated.</summary>
    public RedisKey Specialties(Role role) => _roles[(int)role].Specialties;

    /// <summary>HASH: user id → <c>ver</c> of the user's latest event.</summary>
    public RedisKey Versions(Role role) => _roles[(int)role].Versions;

    public RedisKey Events(Role role) => _roles[(int)role].Events;

    /// <summary>
    /// Every event stream of a role (docs/architecture.md, "Events"): one today. Consumers that read a whole role
    /// iterate this list, so splitting a role into shards changes only what it returns.
    /// </summary>
    public IReadOnlyList<RedisKey> EventStreams(Role role) => _roles[(int)role].EventStreams;

    public RedisKey User(Role role, string id) => _roles[(int)role].Tag + ":user:" + id;

    /// <summary>The REST min-interval guard of one device of a user.</summary>
    public RedisKey Throttle(Role role, string id, string device) => _roles[(int)role].Tag + ":throttle:" + id + "|" + device;

    /// <summary>ZSET of one user's sessions (<c>rest:{device}</c>, <c>hub:{connection}</c>), score = expires-at (unix ms).</summary>
    public RedisKey Sessions(Role role, string id) => _roles[(int)role].Tag + ":sessions:" + id;

    /// <summary>SET of <c>user|connection</c> held by one gateway instance, so a lapsed instance's sessions can be found.</summary>
    public RedisKey InstanceConnections(Role role, string instanceId) => _roles[(int)role].Tag + ":instance:" + instanceId;

    /// <summary>The user-hash key prefix of a role, for recognising expired-key notifications.</summary>
    public string UserKeyPrefix(Role role) => _roles[(int)role].Tag + ":user:";

    private sealed class RoleKeys(string prefix, Role role)
    {
        public readonly string Tag = $"{prefix}:{{{role.Name()}}}";
        public readonly RedisKey LastSeen = $"{prefix}:{{{role.Name()}}}:lastseen";
        public readonly RedisKey Online = $"{prefix}:{{{role.Name()}}}:online";
        public readonly RedisKey Recent = $"{prefix}:{{{role.Name()}}}:recent";
        public readonly RedisKey Available = $"{prefix}:{{{role.Name()}}}:available";
        public readonly RedisKey AvailableUntil = $"{prefix}:{{{role.Name()}}}:availuntil";
        public readonly RedisKey Specialties = $"{prefix}:{{{role.Name()}}}:specialties";
        public readonly RedisKey Versions = $"{prefix}:{{{role.Name()}}}:versions";
        public readonly RedisKey Events = $"{prefix}:{{{role.Name()}}}:events";
        public RedisKey[] EventStreams => [Events];
    }
}
