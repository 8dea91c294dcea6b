using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>One user's presence as a reader sees it at one instant.</summary>
/// <param name="Id">The user id.</param>
/// <param name="Status">The bucket (docs/architecture.md, "Buckets").</param>
/// <param name="Available">The therapist's "accepting sessions" flag (not lapsed), whatever the bucket.</param>
/// <param name="LastActive">Last activity, when the user still has a last-seen entry (kept for the retention).</param>
/// <param name="LastActiveAgo">The <see cref="LastActiveText"/> of <paramref name="LastActive"/>.</param>
/// <param name="AvailableUntil">The explicit end of the availability, when one was given.</param>
/// <param name="Specialties">The therapist's allow-listed specialties (empty when none).</param>
/// <param name="Ver">The version of the user's latest event (0 when none): a pushed event below it is older than this read.</param>
public readonly record struct PresenceEntry(
    string Id, PresenceStatus Status, bool Available, DateTimeOffset? LastActive, string? LastActiveAgo,
    DateTimeOffset? AvailableUntil = null, IReadOnlyList<string>? Specialties = null, long Ver = 0)
{
    /// <summary>Value equality, specialties compared by content (a board is compared with the previous read).</summary>
    public bool Equals(PresenceEntry other) =>
        Id == other.Id && Status == other.Status && Available == other.Available && LastActive == other.LastActive
        && LastActiveAgo == other.LastActiveAgo && AvailableUntil == other.AvailableUntil && Ver == other.Ver
        && (Specialties ?? []).SequenceEqual(other.Specialties ?? [], StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Id, Status, Ver);
}

/// <summary>
/// How many users of a role are in each listed bucket (docs/architecture.md, "Buckets"): <see cref="Available"/> is the
/// available bucket (flagged and neither online nor recent), not every therapist flagged available.
/// </summary>
public readonly record struct PresenceCounts(int Online, int Recent, int Available);

/// <summary>Everyone of a role who is online, recent or available, in board order, read at <see cref="At"/>.</summary>
public sealed record PresenceBoard(PresenceRole Role, DateTimeOffset At, PresenceCounts Counts, IReadOnlyList<PresenceEntry> Entries);

/// <summary>
/// The one reader of presence state (docs/architecture.md, "Buckets" and "Keys"). Buckets, at reader time <c>now</c>:
/// online while <c>online</c> score (online-until) &gt; now; recent while not online and last activity
/// &gt; now − recent window; available while in the <c>available</c> set and neither. A window that has
/// fully passed has left its bucket (both bounds are exclusive), so every reader agrees on the instant.
/// Every read is a range by score or a lookup by member: O(log N + M), never a scan of keys.
/// </summary>
public sealed class PresenceReader(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    RedisResilience resilience,
    PresenceMetrics metrics,
    TimeProvider time)
{
    /// <summary>One user's status; a user Redis knows nothing of is <see cref="PresenceStatus.Offline"/>.</summary>
    public async Task<PresenceEntry> GetAsync(PresenceRole role, string userId, CancellationToken ct = default) =>
        (await GetManyAsync(role, [userId], ct).ConfigureAwait(false))[0];

    /// <summary>One user's status, for an id parsed at the edge.</summary>
    public Task<PresenceEntry> GetAsync(PresenceRole role, UserId userId, CancellationToken ct = default) => GetAsync(role, userId.Value, ct);

    /// <summary>The statuses of many users, for ids parsed at the edge (see the string overload).</summary>
    public Task<IReadOnlyList<PresenceEntry>> GetManyAsync(PresenceRole role, IReadOnlyList<UserId> userIds, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        return GetManyAsync(role, [.. userIds.Select(id => id.Value)], ct);
    }

    /// <summary>The statuses of many users of one role, in the order asked, in one pipelined round trip (three commands).</summary>
    public async Task<IReadOnlyList<PresenceEntry>> GetManyAsync(PresenceRole role, IReadOnlyList<string> userIds, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return [];
        }

        var members = new RedisValue[userIds.Count];
        for (var i = 0; i < members.Length; i++)
        {
            UserId.EnsureValid(userIds[i]);
            members[i] = userIds[i];
        }

        var now = time.GetUtcNow();
        var window = new Windows(now, options.CurrentValue);
        var groups = ShardFanOut.GroupByShard(keys, userIds);
        var perShard = await RunAsync(
            "read.many",
            static s => Task.WhenAll(s.groups.Select(g => ReadManyAsync(s.db, s.keys, s.role, g.Shard, [.. g.Positions.Select(p => s.members[p])]))),
            (db: redis.GetDatabase(), keys, role, members, groups),
            ct).ConfigureAwait(false);

        var entries = new PresenceEntry[members.Length];
        for (var g = 0; g < groups.Count; g++)
        {
            var (onlineUntil, lastSeen, lapse, cards) = perShard[g];
            var positions = groups[g].Positions;
            for (var i = 0; i < positions.Length; i++)
            {
                var p = positions[i];
                entries[p] = cards.Apply(i, window.Entry(userIds[p], onlineUntil[i], lastSeen[i], lapse[i] > window.NowMs));
            }
        }

        return entries;
    }

    /// <summary>One shard's part of a batch lookup: three ZMSCOREs and the cards, issued together (one pipelined round trip).</summary>
    private static async Task<(double?[] OnlineUntil, double?[] LastSeen, double?[] Lapse, Cards Cards)> ReadManyAsync(
        IDatabaseAsync db, PresenceKeys keys, PresenceRole role, int shard, RedisValue[] members)
    {
        var online = db.SortedSetScoresAsync(keys.Online(role, shard), members);
        var seen = db.SortedSetScoresAsync(keys.LastSeen(role, shard), members);
        var flags = db.SortedSetScoresAsync(keys.Available(role, shard), members);
        var cards = Cards.ReadAsync(db, keys, role, shard, members);
        return (await online.ConfigureAwait(false), await seen.ConfigureAwait(false), await flags.ConfigureAwait(false),
            await cards.ConfigureAwait(false));
    }

    /// <summary>
    /// The board of a role (docs/architecture.md, "Board entries"): per shard, all shards at once, one atomic read of
    /// the shard's board entries, its last-seen window, the online index's due members and size, and the available
    /// index; a second round trip only for what the entries cannot answer (available users outside the window, users
    /// listed without an entry). Then one merge and one sort into <see cref="BoardOrder"/>.
    /// </summary>
    public async Task<PresenceBoard> GetBoardAsync(PresenceRole role, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var window = new Windows(now, options.CurrentValue);
        // Every shard's reads issued at once (docs/architecture.md, "Readers over shards"); a user lives in exactly one
        // shard, so the shards' lists are disjoint and are concatenated before the one sort.
        var shards = await RunAsync(
            "read.board",
            static s => ShardFanOut.AllAsync(s.keys, static (shard, s) => BoardShard.ReadAsync(s.db, s.keys, s.role, shard, s.window), s),
            (db: redis.GetDatabase(), keys, role, window),
            ct).ConfigureAwait(false);

        var total = 0;
        int onlineCount = 0, recentCount = 0, availableCount = 0;
        foreach (var shard in shards)
        {
            total += shard.Entries.Count;
            onlineCount += shard.Online;
            recentCount += shard.Recent;
            availableCount += shard.Available;
        }

        var entries = new PresenceEntry[total];
        var at = 0;
        foreach (var shard in shards)
        {
            shard.Entries.Span.CopyTo(entries.AsSpan(at));
            at += shard.Entries.Count;
            shard.Entries.Return();
        }

        BoardOrder.Sort(entries);
        return new PresenceBoard(role, now, new PresenceCounts(onlineCount, recentCount, availableCount), entries);
    }

    /// <summary>
    /// Bucket counts of a role without reading its members: two <c>ZCOUNT</c>s by score, plus the available index
    /// (therapists only, small). Recent is the last-seen window minus online: a heartbeat writes last-seen no later
    /// than online-until − online window, so every online user is inside the recent window too.
    /// </summary>
    public async Task<PresenceCounts> CountAsync(PresenceRole role, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var window = new Windows(now, options.CurrentValue);
        var perShard = await RunAsync(
            "read.counts",
            static s => ShardFanOut.AllAsync(s.keys, static (shard, s) => CountShardAsync(s.db, s.keys, s.role, shard, s.window), s),
            (db: redis.GetDatabase(), keys, role, window),
            ct).ConfigureAwait(false);
        return new PresenceCounts(perShard.Sum(c => c.Online), perShard.Sum(c => c.Recent), perShard.Sum(c => c.Available));
    }

    private static async Task<PresenceCounts> CountShardAsync(IDatabaseAsync db, PresenceKeys keys, PresenceRole role, int shard, Windows window)
    {
        var onlineTask = db.SortedSetLengthAsync(keys.Online(role, shard), window.NowMs, double.PositiveInfinity, Exclude.Start);
        var seenTask = db.SortedSetLengthAsync(keys.LastSeen(role, shard), window.RecentFromMs, double.PositiveInfinity, Exclude.Start);
        var availableTask = db.SortedSetRangeByScoreAsync(keys.Available(role, shard), window.NowMs, double.PositiveInfinity, Exclude.Start);
        var online = await onlineTask.ConfigureAwait(false);
        var seen = await seenTask.ConfigureAwait(false);
        var available = await availableTask.ConfigureAwait(false);
        var availableOnly = 0;
        if (available.Length > 0)
        {
            var until = db.SortedSetScoresAsync(keys.Online(role, shard), available);
            var last = db.SortedSetScoresAsync(keys.LastSeen(role, shard), available);
            var untilScores = await until.ConfigureAwait(false);
            var lastScores = await last.ConfigureAwait(false);
            for (var i = 0; i < available.Length; i++)
            {
                if (window.Bucket(untilScores[i], lastScores[i], available: true) == PresenceStatus.Available)
                {
                    availableOnly++;
                }
            }
        }

        return new PresenceCounts((int)online, (int)Math.Max(0, seen - online), availableOnly);
    }

    private async Task<T> RunAsync<T, TState>(string operation, Func<TState, Task<T>> read, TState state, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Reads are not retried: a poll is retried by the next poll, and the board has its last good copy meanwhile.
            return await resilience.ExecuteAsync(static (s, _) => s.read(s.state), (read, state), idempotent: false, ct).ConfigureAwait(false);
        }
        catch (RedisUnavailableException ex)
        {
            metrics.RedisError(operation, ex.Class);
            throw;
        }
        finally
        {
            metrics.StoreCall(operation, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The instant of one read and the score bounds of its buckets.</summary>
    internal readonly struct Windows(DateTimeOffset now, PresenceOptions o)
    {
        public readonly DateTimeOffset Now = now;
        public readonly long NowMs = now.ToUnixTimeMilliseconds();
        public readonly long RecentFromMs = now.ToUnixTimeMilliseconds() - (long)o.RecentWindow.TotalMilliseconds;

        public PresenceStatus Bucket(double? onlineUntil, double? lastSeen, bool available) =>
            onlineUntil > NowMs ? PresenceStatus.Online
            : lastSeen > RecentFromMs ? PresenceStatus.Recent
            : available ? PresenceStatus.Available
            : PresenceStatus.Offline;

        public PresenceEntry Entry(string id, double? onlineUntil, double? lastSeen, bool available) =>
            Entry(id, Bucket(onlineUntil, lastSeen, available), available, lastSeen);

        public PresenceEntry Entry(string id, PresenceStatus status, bool available, double? lastSeen)
        {
            DateTimeOffset? lastActive = lastSeen is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null;
            return new PresenceEntry(id, status, available, lastActive, lastActive is { } at ? LastActiveText.Format(at, Now) : null);
        }
    }
}

/// <summary>The per-role fields of a card (specialties, explicit availability end, version), read with three HMGETs.</summary>
internal readonly record struct Cards(RedisValue[] Specialties, RedisValue[] Until, RedisValue[] Versions)
{
    public static async Task<Cards> ReadAsync(IDatabaseAsync db, PresenceKeys keys, PresenceRole role, int shard, RedisValue[] members)
    {
        if (members.Length == 0)
        {
            return new Cards([], [], []);
        }

        var specialties = db.HashGetAsync(keys.Specialties(role, shard), members);
        var until = db.HashGetAsync(keys.AvailableUntil(role, shard), members);
        var versions = db.HashGetAsync(keys.Versions(role, shard), members);
        return new Cards(await specialties.ConfigureAwait(false), await until.ConfigureAwait(false), await versions.ConfigureAwait(false));
    }

    public PresenceEntry Apply(int i, PresenceEntry entry) => entry with
    {
        Specialties = Specialties[i].IsNullOrEmpty ? [] : Specialties[i].ToString().Split(','),
        // A missing field parses as 0 in StackExchange.Redis: only a real time is an explicit end.
        AvailableUntil = entry.Available && !Until[i].IsNullOrEmpty && Until[i].TryParse(out long until) && until > 0
            ? DateTimeOffset.FromUnixTimeMilliseconds(until) : null,
        Ver = Versions[i].TryParse(out long ver) ? ver : 0,
    };
}

/// <summary>Board order: online, then recent, then available; within each, most recently active first, then by id.</summary>
public sealed class BoardOrder : IComparer<PresenceEntry>
{
    public static readonly BoardOrder Instance = new();

    public int Compare(PresenceEntry x, PresenceEntry y)
    {
        var byStatus = x.Status.CompareTo(y.Status);
        if (byStatus != 0)
        {
            return byStatus;
        }

        // Descending by last activity; an unknown last activity sorts after every known one.
        var byRecency = (y.LastActive?.UtcTicks ?? long.MinValue).CompareTo(x.LastActive?.UtcTicks ?? long.MinValue);
        return byRecency != 0 ? byRecency : string.CompareOrdinal(x.Id, y.Id);
    }

    /// <summary>
    /// Sorts <paramref name="entries"/> into this order: by one 64-bit key per entry (bucket, then last activity
    /// descending, unknown last), a primitive sort of the keys carrying positions, then by id only within runs of
    /// equal keys (users active in the same millisecond), then each entry moved once to its place; the same order as <see cref="Compare"/>,
    /// without a comparer call per step of a 100k-entry sort and without moving the entries (docs/architecture.md,
    /// "Readers over shards"). Compiled optimised at once, as the rest of the board's per-entry loops: a board is read
    /// once per refresh interval, so tiered compilation would run these loops unoptimised (or on-stack-replaced) for
    /// the service's first minute.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(PresenceEntry[] entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var n = entries.Length;
        // Scratch of primitives only (nothing to clear), from the shared pool: the arrays may be longer than n.
        var sortKeys = System.Buffers.ArrayPool<ulong>.Shared.Rent(n);
        var order = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        for (var i = 0; i < n; i++)
        {
            sortKeys[i] = SortKey(entries[i]);
            order[i] = i;
        }

        Array.Sort(sortKeys, order, 0, n);
        ById? byId = null;
        for (int from = 0, to; from < n; from = to)
        {
            for (to = from + 1; to < n && sortKeys[to] == sortKeys[from]; to++)
            {
            }

            if (to - from > 1)
            {
                Array.Sort(order, from, to - from, byId ??= new ById(entries));
            }
        }

        Permute(entries, order);
        System.Buffers.ArrayPool<ulong>.Shared.Return(sortKeys);
        System.Buffers.ArrayPool<int>.Shared.Return(order);
    }

    // Puts entries[order[i]] at i, in place: each cycle of the permutation followed once, every entry moved once.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Permute(PresenceEntry[] entries, int[] order)
    {
        for (var start = 0; start < entries.Length; start++)
        {
            if (order[start] == start)
            {
                continue;
            }

            var first = entries[start];
            var at = start;
            while (order[at] != start)
            {
                var next = order[at];
                entries[at] = entries[next];
                order[at] = at;
                at = next;
            }

            entries[at] = first;
            order[at] = at;
        }
    }

    // Bucket in the top bits, then ticks counted down from the largest, so ascending keys are descending activity;
    // an unknown last activity takes the largest value of its bucket.
    // (Ticks need 62 bits, the bucket the top 2.)
    private static ulong SortKey(in PresenceEntry entry) =>
        ((ulong)entry.Status << 62) | (entry.LastActive is { } at ? (ulong)(DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks) : (1UL << 62) - 1);

    private sealed class ById(PresenceEntry[] entries) : IComparer<int>
    {
        public int Compare(int x, int y) => string.CompareOrdinal(entries[x].Id, entries[y].Id);
    }
}
