using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;
using StackExchange.Redis;

namespace Presence.Janitor.Engagement;

/// <summary>A consumer group's handler of one parsed state event; it returns once the event's work is done.</summary>
internal delegate Task StateEventHandler(StateEvent e, CancellationToken ct);

/// <summary>
/// One consumer group over a list of state-event streams (docs/architecture.md, "Watchlists and notifications"): the
/// janitor leader reads with the fixed consumer name <see cref="ConsumerName"/>, so whichever replica leads next
/// first re-reads what the last leader left unacknowledged (its pending list), then new entries. Each entry is
/// acknowledged only after its handler returned: at least once. The stream list comes from the caller, so shards
/// only change what is passed in.
/// </summary>
internal sealed partial class StateEventConsumer(
    IConnectionMultiplexer redis,
    RedisResilience resilience,
    IOptionsMonitor<EngagementOptions> options,
    ILogger<StateEventConsumer> logger)
{
    public const string ConsumerName = "janitor-leader";

    private readonly HashSet<string> _ready = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingDone = new(StringComparer.Ordinal);

    /// <summary>Reads and handles one batch from every stream; the number of entries handled (0: nothing new).</summary>
    public async Task<int> PumpAsync(IReadOnlyList<RedisKey> streams, string group, StateEventHandler handler, CancellationToken ct)
    {
        var handled = 0;
        foreach (var stream in streams)
        {
            var id = group + "|" + stream.ToString();
            if (!_ready.Contains(id))
            {
                await EnsureGroupAsync(stream, group, ct).ConfigureAwait(false);
                _ready.Add(id);
            }

            // Own pending entries first (a restart or a change of leader left them unacknowledged), then new ones.
            var batch = options.CurrentValue.BatchSize;
            var entries = Array.Empty<StreamEntry>();
            if (!_pendingDone.Contains(id))
            {
                entries = await ReadAsync(stream, group, StreamPosition.Beginning, batch, ct).ConfigureAwait(false);
                if (entries.Length < batch)
                {
                    _pendingDone.Add(id);
                }
            }

            if (entries.Length == 0)
            {
                entries = await ReadAsync(stream, group, StreamPosition.NewMessages, batch, ct).ConfigureAwait(false);
            }

            foreach (var entry in entries)
            {
                if (StateEvent.TryParse(entry.Values, out var e))
                {
                    await handler(e!, ct).ConfigureAwait(false);
                }
                else
                {
                    LogSkipped(logger, group, entry.Id.ToString());
                }

                await resilience.ExecuteAsync(static (s, _) => s.db.StreamAcknowledgeAsync(s.stream, s.group, s.id),
                    (db: redis.GetDatabase(), stream, group: (RedisValue)group, id: entry.Id), idempotent: true, ct).ConfigureAwait(false);
                handled++;
            }
        }

        return handled;
    }

    private async Task<StreamEntry[]> ReadAsync(RedisKey stream, string group, RedisValue position, int batch, CancellationToken ct) =>
        await resilience.ExecuteAsync(
            static (s, _) => s.db.StreamReadGroupAsync(s.stream, s.group, ConsumerName, s.position, s.batch),
            (db: redis.GetDatabase(), stream, group: (RedisValue)group, position, batch), idempotent: false, ct).ConfigureAwait(false);

    /// <summary>Forgets what this replica knew (it lost the lead): the next leader starts from the pending list.</summary>
    public void Reset()
    {
        _ready.Clear();
        _pendingDone.Clear();
    }

    private async Task EnsureGroupAsync(RedisKey stream, string group, CancellationToken ct)
    {
        try
        {
            // From the beginning of what the capped stream still holds: a first start folds the recent history too.
            await resilience.ExecuteAsync(
                static (s, _) => s.db.StreamCreateConsumerGroupAsync(s.stream, s.group, StreamPosition.Beginning, createStream: true),
                (db: redis.GetDatabase(), stream, group: (RedisValue)group), idempotent: true, ct).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Created before (an earlier leader or start).
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group {Group} skipped stream entry {EntryId}: not a versioned state event.")]
    private static partial void LogSkipped(ILogger logger, string group, string entryId);
}
