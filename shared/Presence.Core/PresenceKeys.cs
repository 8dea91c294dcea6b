using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// Every Redis key of the model (docs/architecture.md, "Keys" and "Shards"), built in this one place. Each role is
/// spread over <see cref="Shards"/> hash tags <c>{role:NN}</c>; a user's keys and the per-shard indexes that hold the
/// user share the tag of the user's shard (<see cref="ShardOf"/>), so every script stays one slot on Redis Cluster.
/// Ids must have passed <see cref="UserId.IsValid"/> before they get here.
/// </summary>
public sealed class PresenceKeys
{
    private readonly ShardKeys[][] _shards;
    private readonly Dictionary<string, (PresenceRole Role, int Shard)> _byTag;

    public PresenceKeys(IOptions<PresenceOptions> options)
        : this(options.Value.KeyPrefix, options.Value.Shards)
    {
    }

    public PresenceKeys(string prefix, int shards = PresenceOptions.DefaultShards)
    {
        if (shards is < 1 or > PresenceOptions.MaxShards)
        {
            throw new ArgumentOutOfRangeException(nameof(shards), shards, "Presence:Shards must be 1 to " + PresenceOptions.MaxShards + ".");
        }

        Prefix = prefix;
        Shards = shards;
        AllShards = [.. Enumerable.Range(0, shards)];
        _shards = [.. Roles.All.Select(r => Enumerable.Range(0, shards).Select(s => new ShardKeys(prefix, ShardHashTag(r, s, shards))).ToArray())];
        JanitorLease = $"{prefix}:janitor:lease";
        GatewayInstances = $"{prefix}:gateway:instances";
        _byTag = [];
        foreach (var role in Roles.All)
        {
            foreach (var shard in AllShards)
            {
                _byTag[Of(role, shard).HashTag] = (role, shard);
            }
        }
    }

    public string Prefix { get; }

    /// <summary>How many shards each role is spread over (<c>Presence:Shards</c>, fixed for a deployment).</summary>
    public int Shards { get; }

    /// <summary>0 … <see cref="Shards"/> − 1: the one list every fan-out over shards iterates.</summary>
    public IReadOnlyList<int> AllShards { get; }

    /// <summary>
    /// The shard of a user id (docs/architecture.md, "Shards"): the 32-bit FNV-1a hash of the id's UTF-8 bytes
    /// (offset basis 2166136261, prime 16777619), as an unsigned integer, modulo the shard count.
    /// </summary>
    public int ShardOf(string userId) => (int)(Fnv1a(userId) % (uint)Shards);

    /// <summary>32-bit FNV-1a of the UTF-8 bytes of <paramref name="value"/>.</summary>
    public static uint Fnv1a(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Span<byte> buffer = value.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(value.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(value.Length)];
        var length = Encoding.UTF8.GetBytes(value, buffer);
        var hash = 2166136261u;
        foreach (var b in buffer[..length])
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }

    /// <summary>
    /// Redis Cluster's key slot of a hash tag: CRC16 (XMODEM: polynomial 0x1021, initial 0) of its bytes, modulo 16384.
    /// </summary>
    public static int Slot(string hashTag)
    {
        ArgumentNullException.ThrowIfNull(hashTag);
        var crc = 0;
        foreach (var b in Encoding.UTF8.GetBytes(hashTag))
        {
            crc ^= b << 8;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
            }
        }

        return crc % 16384;
    }

    /// <summary>
    /// The hash tag of one shard of a role, without braces: <c>therapist:07.k</c>, where k is the smallest integer
    /// ≥ 0 that puts the tag's slot in the shard's 1/S slice of the 16384 slots (docs/architecture.md, "Shards"), so
    /// the shards spread evenly over primaries that own contiguous slot ranges.
    /// </summary>
    public static string ShardHashTag(PresenceRole role, int shard, int shards)
    {
        var from = shard * 16384 / shards;
        var to = (shard + 1) * 16384 / shards;
        var name = role.Name() + ":" + shard.ToString("D2", CultureInfo.InvariantCulture) + ".";
        for (var k = 0; ; k++)
        {
            var tag = name + k.ToString(CultureInfo.InvariantCulture);
            var slot = Slot(tag);
            if (slot >= from && slot < to)
            {
                return tag;
            }
        }
    }

    /// <summary>The hash tag of one shard of a role, without braces: <c>therapist:07.k</c> (<see cref="ShardHashTag"/>).</summary>
    public string ShardTag(PresenceRole role, int shard) => Of(role, shard).HashTag;

    public RedisKey JanitorLease { get; }

    /// <summary>ZSET of live realtime-gateway instances, score = lease-until (unix ms).</summary>
    public RedisKey GatewayInstances { get; }

    /// <summary>ZSET: user id, score = last activity (unix ms).</summary>
    public RedisKey LastSeen(PresenceRole role, int shard) => Of(role, shard).LastSeen;

    /// <summary>ZSET index: user id, score = online-until (the latest live session, or the end of the leave grace).</summary>
    public RedisKey Online(PresenceRole role, int shard) => Of(role, shard).Online;

    /// <summary>ZSET index: user id in status recent, score = the end of the recent window.</summary>
    public RedisKey Recent(PresenceRole role, int shard) => Of(role, shard).Recent;

    /// <summary>ZSET index: available therapist id, score = when the availability lapses.</summary>
    public RedisKey Available(PresenceRole role, int shard) => Of(role, shard).Available;

    /// <summary>HASH: user id → the explicit <c>until</c> (unix ms) the therapist gave, when one was given.</summary>
    public RedisKey AvailableUntil(PresenceRole role, int shard) => Of(role, shard).AvailableUntil;

    /// <summary>HASH: user id → allow-listed specialties, comma-separated.</summary>
    public RedisKey Specialties(PresenceRole role, int shard) => Of(role, shard).Specialties;

    /// <summary>HASH: user id → <c>ver</c> of the user's latest event.</summary>
    public RedisKey Versions(PresenceRole role, int shard) => Of(role, shard).Versions;

    /// <summary>
    /// HASH: user id → board entry <c>id|ver|status|until|specialties</c> of every user of the shard a board may list
    /// (docs/architecture.md, "Board entries"); written by the presence script with each event, never on a steady beat.
    /// </summary>
    public RedisKey Board(PresenceRole role, int shard) => Of(role, shard).Board;

    /// <summary>The board-entry hash that holds <paramref name="userId"/>.</summary>
    public RedisKey Board(PresenceRole role, string userId) => Board(role, ShardOf(userId));

    /// <summary>STREAM of the state events of one shard's users (docs/architecture.md, "Event streams").</summary>
    public RedisKey Events(PresenceRole role, int shard) => Of(role, shard).Events;

    /// <summary>Every event stream of a role, shard order: what a consumer of a role's events reads.</summary>
    public IReadOnlyList<RedisKey> EventStreams(PresenceRole role) => [.. AllShards.Select(s => Of(role, s).Events)];

    /// <summary>The last-seen index that holds <paramref name="userId"/> (the index of the user's shard).</summary>
    public RedisKey LastSeen(PresenceRole role, string userId) => LastSeen(role, ShardOf(userId));

    /// <summary>The online index that holds <paramref name="userId"/>.</summary>
    public RedisKey Online(PresenceRole role, string userId) => Online(role, ShardOf(userId));

    /// <summary>The recent index that holds <paramref name="userId"/>.</summary>
    public RedisKey Recent(PresenceRole role, string userId) => Recent(role, ShardOf(userId));

    /// <summary>The available index that holds <paramref name="userId"/>.</summary>
    public RedisKey Available(PresenceRole role, string userId) => Available(role, ShardOf(userId));

    /// <summary>The specialties hash that holds <paramref name="userId"/>.</summary>
    public RedisKey Specialties(PresenceRole role, string userId) => Specialties(role, ShardOf(userId));

    /// <summary>The versions hash that holds <paramref name="userId"/>.</summary>
    public RedisKey Versions(PresenceRole role, string userId) => Versions(role, ShardOf(userId));

    /// <summary>The event stream <paramref name="userId"/>'s events go to.</summary>
    public RedisKey Events(PresenceRole role, string userId) => Events(role, ShardOf(userId));

    /// <summary>HASH of one user (last activity, transport), expiring after the retention.</summary>
    public RedisKey User(PresenceRole role, string id) => User(role, ShardOf(id), id);

    /// <summary>ZSET of one user's sessions (<c>rest:{device}</c>, <c>hub:{connection}</c>), score = expires-at (unix ms).</summary>
    public RedisKey Sessions(PresenceRole role, string id) => Sessions(role, ShardOf(id), id);

    // For a caller that already has the user's shard (the store names every key of one call in it): the shard's head
    // bytes kept with the id rather than one new string per call, and the shard hashed once.
    internal RedisKey User(PresenceRole role, int shard, string id) => Of(role, shard).UserHead.Append(id);

    internal RedisKey Sessions(PresenceRole role, int shard, string id) => Of(role, shard).SessionsHead.Append(id);

    /// <summary>
    /// SET of <c>user|connection</c> held by one gateway instance among one shard's users, so a lapsed instance's
    /// sessions can be found (per shard: the presence script adds to it in the user's slot).
    /// </summary>
    public RedisKey InstanceConnections(PresenceRole role, int shard, string instanceId) => Of(role, shard).Tag + ":instance:" + instanceId;

    /// <summary>The instance set that holds the connections of <paramref name="userId"/>.</summary>
    public RedisKey InstanceConnections(PresenceRole role, string userId, string instanceId) => InstanceConnections(role, ShardOf(userId), instanceId);

    /// <summary>
    /// Recognises a user-hash key (an expired-key notification): its role and user id, when the key is one of this
    /// prefix and shard count and the id is valid and belongs to the shard of the key.
    /// </summary>
    public bool TryParseUserKey(string key, out PresenceRole role, out string userId)
    {
        ArgumentNullException.ThrowIfNull(key);
        role = default;
        userId = string.Empty;
        var head = Prefix + ":{";
        var close = key.StartsWith(head, StringComparison.Ordinal) ? key.IndexOf("}:user:", head.Length, StringComparison.Ordinal) : -1;
        if (close < 0 || !_byTag.TryGetValue(key[head.Length..close], out var found))
        {
            return false;
        }

        var id = key[(close + "}:user:".Length)..];
        if (!UserId.IsValid(id) || ShardOf(id) != found.Shard)
        {
            return false;
        }

        role = found.Role;
        userId = id;
        return true;
    }

    private ShardKeys Of(PresenceRole role, int shard) => _shards[(int)role][shard];

    private sealed class ShardKeys
    {
        public ShardKeys(string prefix, string hashTag)
        {
            HashTag = hashTag;
            Tag = prefix + ":{" + hashTag + "}";
            LastSeen = Tag + ":lastseen";
            Online = Tag + ":online";
            Recent = Tag + ":recent";
            Available = Tag + ":available";
            AvailableUntil = Tag + ":availuntil";
            Specialties = Tag + ":specialties";
            Versions = Tag + ":versions";
            Events = Tag + ":events";
            Board = Tag + ":board";
            UserHead = System.Text.Encoding.UTF8.GetBytes(Tag + ":user:");
            SessionsHead = System.Text.Encoding.UTF8.GetBytes(Tag + ":sessions:");
        }

        public string HashTag { get; }

        public string Tag { get; }

        public RedisKey LastSeen { get; }

        public RedisKey Online { get; }

        public RedisKey Recent { get; }

        public RedisKey Available { get; }

        public RedisKey AvailableUntil { get; }

        public RedisKey Specialties { get; }

        public RedisKey Versions { get; }

        public RedisKey Events { get; }

        public RedisKey Board { get; }

        public RedisKey UserHead { get; }

        public RedisKey SessionsHead { get; }
    }
}
