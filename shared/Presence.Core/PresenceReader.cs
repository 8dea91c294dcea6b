using System.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>One user's presence as a reader sees it at one instant.</summary>
/// <param name="Id">The user id.</param>
/// <param name="Status">The bucket (DESIGN.md §1).</param>
/// <param name="Available">The therapist's "accepting sessions" flag, whatever the bucket.</param>
/// <param name="LastActive">Last activity, when the user still has a last-seen entry (kept for the retention).</param>
/// <param name="LastActiveAgo">The <see cref="LastActiveText"/> of <paramref name="LastActive"/>.</param>
public readonly record struct PresenceEntry(string Id, PresenceStatus Status, bool Available, DateTimeOffset? LastActive, string? LastActiveAgo);

/// <summary>How many users of a role are in each listed bucket.</summary>
public readonly record struct PresenceCounts(int Online, int Recent, int Available);

/// <summary>Everyone of a role who is online, recent or available, in board order, read at <see cref="At"/>.</summary>
public sealed record PresenceBoard(Role Role, DateTimeOffset At, PresenceCounts Counts, IReadOnlyList<PresenceEntry> Entries);

/// <summary>
/// The one reader of presence state (DESIGN.md §1 and §3). Buckets, at reader time <c>now</c>:
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
    public async Task<PresenceEntry> GetAsync(Role role, string userId, CancellationToken ct = default) =>
        (await GetManyAsync(role, [userId], ct).ConfigureAwait(false))[0];

    /// <summary>The statuses of many users of one role, in the order asked, in one pipelined round trip (three commands).</summary>
    public async Task<IReadOnlyList<PresenceEntry>> GetManyAsync(Role role, IReadOnlyList<string> userIds, CancellationToken ct = default)
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
        var (onlineUntil, lastSeen, available) = await RunAsync(
            "read.many",
            static async s =>
            {
                // Issued together, so StackExchange.Redis pipelines them into one round trip.
                var online = s.db.SortedSetScoresAsync(s.keys.Online(s.role), s.members);
                var seen = s.db.SortedSetScoresAsync(s.keys.LastSeen(s.role), s.members);
                var flags = s.db.SetContainsAsync(s.keys.Available(s.role), s.members);
                return (await online.ConfigureAwait(false), await seen.ConfigureAwait(false), await flags.ConfigureAwait(false));
            },
            (db: redis.GetDatabase(), keys, role, members),
            ct).ConfigureAwait(false);

        var window = new Windows(now, options.CurrentValue);
        var entries = new PresenceEntry[members.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = window.Entry(userIds[i], onlineUntil[i], lastSeen[i], available[i]);
        }

        return entries;
    }

    /// <summary>
    /// The board of a role: three range reads in one round trip (online by score, last-seen within the recent
    /// window, the available set), and a second only when available users outside the window need their last activity.
    /// </summary>
    public async Task<PresenceBoard> GetBoardAsync(Role role, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var window = new Windows(now, options.CurrentValue);
        var (online, seen, available, olderSeen) = await RunAsync(
            "read.board",
            static async s =>
            {
                // Online members without scores: being in the range is the answer, and the last activity comes from
                // last-seen. On a large board the transfer and parsing of these pairs is most of the cost.
                var onlineTask = s.db.SortedSetRangeByScoreAsync(s.keys.Online(s.role), s.window.NowMs, double.PositiveInfinity, Exclude.Start);
                var seenTask = s.db.SortedSetRangeByScoreWithScoresAsync(s.keys.LastSeen(s.role), s.window.RecentFromMs, double.PositiveInfinity, Exclude.Start);
                var availableTask = s.db.SetMembersAsync(s.keys.Available(s.role));
                var onlineMembers = await onlineTask.ConfigureAwait(false);
                var seenEntries = await seenTask.ConfigureAwait(false);
                var availableMembers = await availableTask.ConfigureAwait(false);

                var inWindow = new Dictionary<RedisValue, double>(seenEntries.Length);
                foreach (var e in seenEntries)
                {
                    inWindow[e.Element] = e.Score;
                }

                var older = availableMembers.Where(m => !inWindow.ContainsKey(m)).ToArray();
                var olderScores = older.Length == 0
                    ? []
                    : await s.db.SortedSetScoresAsync(s.keys.LastSeen(s.role), older).ConfigureAwait(false);
                return (onlineMembers, inWindow, availableMembers, older.Zip(olderScores).ToArray());
            },
            (db: redis.GetDatabase(), keys, role, window),
            ct).ConfigureAwait(false);

        // Members stay RedisValues (compared as bytes) until an entry is made: one string per listed user.
        var availableSet = new HashSet<RedisValue>(available);
        var entries = new List<PresenceEntry>(online.Length + seen.Count + available.Length);
        var listed = new HashSet<RedisValue>(online.Length);
        int onlineCount = 0, recentCount = 0, availableCount = 0;
        foreach (var member in online)
        {
            if (listed.Add(member))
            {
                double? lastSeen = seen.TryGetValue(member, out var score) ? score : null;
                entries.Add(window.Entry(member.ToString(), double.PositiveInfinity, lastSeen, availableSet.Contains(member)));
                onlineCount++;
            }
        }

        // Not online here means not in the online range just read: nothing later can make it online at this instant.
        foreach (var (member, score) in seen)
        {
            if (listed.Add(member))
            {
                entries.Add(window.Entry(member.ToString(), null, score, availableSet.Contains(member)));
                recentCount++;
            }
        }

        foreach (var (member, score) in olderSeen)
        {
            if (listed.Add(member))
            {
                entries.Add(window.Entry(member.ToString(), null, score, available: true));
                availableCount++;
            }
        }

        entries.Sort(BoardOrder.Instance);
        return new PresenceBoard(role, now, new PresenceCounts(onlineCount, recentCount, availableCount), entries);
    }

    /// <summary>
    /// Bucket counts of a role without reading its members: two <c>ZCOUNT</c>s by score, plus the available set
    /// (therapists only, small). Recent is the last-seen window minus online: a heartbeat writes last-seen no later
    /// than online-until − online window, so every online user is inside the recent window too.
    /// </summary>
    public async Task<PresenceCounts> CountAsync(Role role, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var window = new Windows(now, options.CurrentValue);
        return await RunAsync(
            "read.counts",
            static async s =>
            {
                var onlineTask = s.db.SortedSetLengthAsync(s.keys.Online(s.role), s.window.NowMs, double.PositiveInfinity, Exclude.Start);
                var seenTask = s.db.SortedSetLengthAsync(s.keys.LastSeen(s.role), s.window.RecentFromMs, double.PositiveInfinity, Exclude.Start);
                var availableTask = s.db.SetMembersAsync(s.keys.Available(s.role));
                var online = await onlineTask.ConfigureAwait(false);
                var seen = await seenTask.ConfigureAwait(false);
                var available = await availableTask.ConfigureAwait(false);
                var availableOnly = 0;
                if (available.Length > 0)
                {
                    var until = s.db.SortedSetScoresAsync(s.keys.Online(s.role), available);
                    var last = s.db.SortedSetScoresAsync(s.keys.LastSeen(s.role), available);
                    var untilScores = await until.ConfigureAwait(false);
                    var lastScores = await last.ConfigureAwait(false);
                    for (var i = 0; i < available.Length; i++)
                    {
                        if (s.window.Bucket(untilScores[i], lastScores[i], available: true) == PresenceStatus.Available)
                        {
                            availableOnly++;
                        }
                    }
                }

                return new PresenceCounts((int)online, (int)Math.Max(0, seen - online), availableOnly);
            },
            (db: redis.GetDatabase(), keys, role, window),
            ct).ConfigureAwait(false);
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
    private readonly struct Windows(DateTimeOffset now, PresenceOptions o)
    {
        public readonly DateTimeOffset Now = now;
        public readonly long NowMs = now.ToUnixTimeMilliseconds();
        public readonly long RecentFromMs = now.ToUnixTimeMilliseconds() - (long)o.RecentWindow.TotalMilliseconds;

        public PresenceStatus Bucket(double? onlineUntil, double? lastSeen, bool available) =>
            onlineUntil > NowMs ? PresenceStatus.Online
            : lastSeen > RecentFromMs ? PresenceStatus.Recent
            : available ? PresenceStatus.Available
            : PresenceStatus.Offline;

        public PresenceEntry Entry(string id, double? onlineUntil, double? lastSeen, bool available)
        {
            DateTimeOffset? lastActive = lastSeen is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null;
            return new PresenceEntry(id, Bucket(onlineUntil, lastSeen, available), available, lastActive,
                lastActive is { } at ? LastActiveText.Format(at, Now) : null);
        }
    }
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
}
