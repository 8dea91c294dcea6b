using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>One entry read from a role's event stream: its stream id and the event, or null when it was malformed.</summary>
public readonly record struct StreamedEvent(RedisValue EntryId, PresenceEvent? Event);

/// <summary>
/// The event streams, one per shard of each role, as a consumer group sees them (docs/architecture.md, "Event
/// streams"): every call names one shard's stream (one slot); <see cref="Streams"/> lists them all. Create the group,
/// read new or own pending entries, claim entries a dead consumer left, acknowledge, trim, and forget consumers of
/// crashed readers. The gateway and the janitor only orchestrate these calls.
/// </summary>
public sealed class PresenceEventStream(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    RedisResilience resilience)
{
    /// <summary>
    /// Every event stream of a role as (shard, key), the one list a consumer of a role's events iterates. A user's
    /// events all go to its shard's stream, so per-user order (by <c>ver</c>) holds within one stream.
    /// </summary>
    public IReadOnlyList<(int Shard, RedisKey Key)> Streams(PresenceRole role) => [.. keys.AllShards.Select(s => (s, keys.Events(role, s)))];

    /// <summary>The shard count (<c>Presence:Shards</c>).</summary>
    public int Shards => keys.Shards;

    /// <summary>Creates the group on the role's stream (and the stream) at <paramref name="position"/>; false when it existed.</summary>
    public Task<bool> EnsureGroupAsync(PresenceRole role, int shard, string group, RedisValue position, CancellationToken ct = default) =>
        EnsureGroupAsync(keys.Events(role, shard), group, position, ct);

    /// <summary>Creates the group on one of <see cref="PresenceKeys.EventStreams"/> at <paramref name="position"/>; false when it existed.</summary>
    public async Task<bool> EnsureGroupAsync(RedisKey stream, string group, RedisValue position, CancellationToken ct = default)
    {
        try
        {
            await resilience.ExecuteAsync(
                static (s, _) => s.db.StreamCreateConsumerGroupAsync(s.key, s.group, s.position, createStream: true),
                (db: redis.GetDatabase(), key: stream, group: (RedisValue)group, position), idempotent: true, ct).ConfigureAwait(false);
            return true;
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            return false;
        }
    }

    /// <summary>Reads up to <paramref name="count"/> entries: this consumer's own pending ones, or new ones.</summary>
    public Task<StreamedEvent[]> ReadAsync(PresenceRole role, int shard, string group, string consumer, bool ownPending, int count, CancellationToken ct = default) =>
        ReadAsync(role, keys.Events(role, shard), group, consumer, ownPending, count, ct);

    /// <summary>As the shard's overload, from one of the role's <see cref="PresenceKeys.EventStreams"/>.</summary>
    public async Task<StreamedEvent[]> ReadAsync(PresenceRole role, RedisKey stream, string group, string consumer, bool ownPending, int count, CancellationToken ct = default)
    {
        var entries = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamReadGroupAsync(s.key, s.group, s.consumer, s.position, s.count),
            (db: redis.GetDatabase(), key: stream, group: (RedisValue)group, consumer: (RedisValue)consumer,
                position: ownPending ? StreamPosition.Beginning : StreamPosition.NewMessages, count),
            idempotent: false, ct).ConfigureAwait(false);
        return Parse(role, entries);
    }

    /// <summary>Claims entries pending longer than <paramref name="minIdle"/> (a dead consumer's) from <paramref name="start"/> on.</summary>
    public async Task<(StreamedEvent[] Claimed, RedisValue Next)> ClaimAsync(
        PresenceRole role, int shard, string group, string consumer, TimeSpan minIdle, RedisValue start, int count, CancellationToken ct = default)
    {
        var result = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamAutoClaimAsync(s.key, s.group, s.consumer, s.minIdle, s.start, s.count),
            (db: redis.GetDatabase(), key: keys.Events(role, shard), group: (RedisValue)group, consumer: (RedisValue)consumer,
                minIdle: (long)minIdle.TotalMilliseconds, start, count),
            idempotent: false, ct).ConfigureAwait(false);
        return (Parse(role, [.. result.ClaimedEntries.Where(e => !e.IsNull)]), result.NextStartId);
    }

    public Task AckAsync(PresenceRole role, int shard, string group, RedisValue[] entryIds, CancellationToken ct = default) =>
        AckAsync(keys.Events(role, shard), group, entryIds, ct);

    /// <summary>Acknowledges entries of one of <see cref="PresenceKeys.EventStreams"/>.</summary>
    public async Task AckAsync(RedisKey stream, string group, RedisValue[] entryIds, CancellationToken ct = default)
    {
        if (entryIds.Length == 0)
        {
            return;
        }

        await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamAcknowledgeAsync(s.key, s.group, s.ids),
            (db: redis.GetDatabase(), key: stream, group: (RedisValue)group, ids: entryIds), idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>Caps the stream at about the configured length (whole nodes only, so it stays cheap).</summary>
    public async Task TrimAsync(PresenceRole role, int shard, CancellationToken ct = default) =>
        await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamTrimAsync(s.key, s.max, useApproximateMaxLength: true),
            (db: redis.GetDatabase(), key: keys.Events(role, shard), max: options.CurrentValue.EventStreamMaxLength), idempotent: true, ct).ConfigureAwait(false);

    /// <summary>Entries read but not acknowledged, by the whole group.</summary>
    public async Task<long> PendingCountAsync(PresenceRole role, int shard, string group, CancellationToken ct = default)
    {
        var info = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamPendingAsync(s.key, s.group),
            (db: redis.GetDatabase(), key: keys.Events(role, shard), group: (RedisValue)group), idempotent: true, ct).ConfigureAwait(false);
        return info.PendingMessageCount;
    }

    /// <summary>Forgets this consumer when it holds no pending entry (a graceful stop); true when it was removed.</summary>
    public async Task<bool> RemoveConsumerIfIdleAsync(PresenceRole role, int shard, string group, string consumer, CancellationToken ct = default)
    {
        var db = redis.GetDatabase();
        var pending = await db.StreamPendingMessagesAsync(keys.Events(role, shard), group, 1, consumer).WaitAsync(ct).ConfigureAwait(false);
        if (pending.Length > 0)
        {
            return false;
        }

        await db.StreamDeleteConsumerAsync(keys.Events(role, shard), group, consumer).WaitAsync(ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Forgets consumers of crashed readers: those idle at least <paramref name="minIdle"/> with nothing pending (their
    /// entries were claimed by live consumers first, so nothing is lost). A live consumer reads far more often than
    /// that; one removed by mistake is re-created by its next read. Returns how many were removed.
    /// </summary>
    public async Task<int> RemoveLapsedConsumersAsync(PresenceRole role, int shard, string group, TimeSpan minIdle, CancellationToken ct = default)
    {
        var db = redis.GetDatabase();
        var consumers = await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamConsumerInfoAsync(s.key, s.group),
            (db, key: keys.Events(role, shard), group: (RedisValue)group), idempotent: true, ct).ConfigureAwait(false);
        var removed = 0;
        foreach (var consumer in consumers)
        {
            if (consumer.PendingMessageCount == 0 && consumer.IdleTimeInMilliseconds >= (long)minIdle.TotalMilliseconds)
            {
                await resilience.ExecuteAsync(
                    static (s, _) => s.db.StreamDeleteConsumerAsync(s.key, s.group, s.name),
                    (db, key: keys.Events(role, shard), group: (RedisValue)group, name: (RedisValue)consumer.Name), idempotent: true, ct).ConfigureAwait(false);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>The <c>ver</c> of one user's latest event (0 when none), from the user's shard.</summary>
    public async Task<long> CurrentVersionAsync(PresenceRole role, string userId, CancellationToken ct = default) =>
        (await CurrentVersionsAsync(role, keys.ShardOf(userId), [userId], ct).ConfigureAwait(false))[0];

    /// <summary>Each user's current version (0 when unknown), in the order asked: an event below it is stale.</summary>
    public async Task<long[]> CurrentVersionsAsync(PresenceRole role, int shard, IReadOnlyList<string> ids, CancellationToken ct = default)
    {
        var values = await resilience.ExecuteAsync(
            static (s, _) => s.db.HashGetAsync(s.key, s.fields),
            (db: redis.GetDatabase(), key: keys.Versions(role, shard), fields: ids.Select(i => (RedisValue)i).ToArray()), idempotent: true, ct).ConfigureAwait(false);
        return [.. values.Select(v => v.TryParse(out long ver) ? ver : 0)];
    }

    /// <summary>Appends an event as the presence script would (tests and tools; the model itself writes from its script).</summary>
    public async Task<RedisValue> AppendAsync(PresenceEvent presenceEvent, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(presenceEvent);
        return await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamAddAsync(s.key, s.fields, maxLength: s.max, useApproximateMaxLength: true),
            (db: redis.GetDatabase(), key: keys.Events(presenceEvent.Role, presenceEvent.Id), fields: presenceEvent.Format(), max: options.CurrentValue.EventStreamMaxLength),
            idempotent: false, ct).ConfigureAwait(false);
    }

    private static StreamedEvent[] Parse(PresenceRole role, StreamEntry[] entries)
    {
        var events = new StreamedEvent[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            events[i] = new StreamedEvent(entries[i].Id, PresenceEvent.TryParse(entries[i], role, out var e) ? e : null);
        }

        return events;
    }
}
