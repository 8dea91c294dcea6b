using Microsoft.Extensions.Options;
using Presence.Core;
using StackExchange.Redis;

namespace Presence.Janitor.Engagement;

/// <summary>A consumer group's handler of one state event; it returns once the event's work is done.</summary>
internal delegate Task PresenceEventHandler(PresenceEvent e, CancellationToken ct);

/// <summary>
/// One consumer group over every event stream of every role (docs/architecture.md, "Watchlists and notifications"),
/// through Core's <see cref="PresenceEventStream"/>. The janitor leader reads with the fixed consumer name
/// <see cref="ConsumerName"/>, so whichever replica leads next first re-reads what the last leader left
/// unacknowledged (its pending list), then new entries. Entries are acknowledged only after their handler returned:
/// at least once. The streams come from <see cref="PresenceKeys.EventStreams"/>, so shards change nothing here.
/// </summary>
internal sealed partial class StateEventConsumer(
    PresenceEventStream events,
    PresenceKeys keys,
    IOptionsMonitor<EngagementOptions> options,
    ILogger<StateEventConsumer> logger)
{
    public const string ConsumerName = "janitor-leader";

    private readonly HashSet<string> _ready = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingDone = new(StringComparer.Ordinal);

    /// <summary>Every stream the consumers read, from the one place that names them.</summary>
    public IReadOnlyList<(PresenceRole Role, RedisKey Stream)> Streams =>
        [.. Roles.All.SelectMany(role => keys.EventStreams(role).Select(stream => (role, stream)))];

    /// <summary>
    /// Reads one batch from every stream and handles them merged in time order (the number of entries handled;
    /// 0: nothing new). Each stream's own order is kept (a user's events all sit in one stream, so its versions come in
    /// order), and across streams the earlier event goes first, so a fold that relates two roles (a community user's
    /// wait for an available therapist) sees them as they happened. A group created now starts at
    /// <paramref name="createAt"/> (the beginning of what the capped stream holds, or only new entries).
    /// </summary>
    public async Task<int> PumpAsync(string group, RedisValue createAt, PresenceEventHandler handler, CancellationToken ct)
    {
        var streams = Streams;
        // One stream after another: a failing Redis stops the pass at its first refusal (counted under its own class),
        // rather than opening the breaker for every other stream's read at once.
        var batches = new StreamedEvent[streams.Count][];
        for (var i = 0; i < streams.Count; i++)
        {
            batches[i] = await ReadBatchAsync(group, createAt, streams[i].Role, streams[i].Stream, ct).ConfigureAwait(false);
        }

        // A k-way merge by the head's time: never reorders within a stream.
        var next = new int[batches.Length];
        var heads = new PriorityQueue<int, (DateTimeOffset At, int Stream)>();
        for (var i = 0; i < batches.Length; i++)
        {
            if (batches[i].Length > 0)
            {
                heads.Enqueue(i, (TimeOf(batches[i][0]), i));
            }
        }

        var done = new List<RedisValue>[batches.Length];
        var handled = 0;
        try
        {
            while (heads.TryDequeue(out var i, out _))
            {
                var entry = batches[i][next[i]++];
                if (entry.Event is { } e)
                {
                    await handler(e, ct).ConfigureAwait(false);
                }
                else
                {
                    // Malformed: acknowledged and skipped, not retried for ever.
                    LogSkipped(logger, group, entry.EntryId.ToString());
                }

                (done[i] ??= []).Add(entry.EntryId);
                handled++;
                if (next[i] < batches[i].Length)
                {
                    heads.Enqueue(i, (TimeOf(batches[i][next[i]]), i));
                }
            }
        }
        finally
        {
            await Task.WhenAll(done.Select((ids, i) => ids is null ? Task.CompletedTask : events.AckAsync(streams[i].Stream, group, [.. ids], ct)))
                .ConfigureAwait(false);
        }

        return handled;
    }

    /// <summary>Forgets what this replica knew (it lost the lead): the next leader starts from the pending list.</summary>
    public void Reset()
    {
        _ready.Clear();
        _pendingDone.Clear();
    }

    private static DateTimeOffset TimeOf(StreamedEvent entry) => entry.Event?.At ?? DateTimeOffset.MinValue;

    /// <summary>This consumer's own pending entries first (a restart or a change of leader left them unacknowledged), then new ones.</summary>
    private async Task<StreamedEvent[]> ReadBatchAsync(string group, RedisValue createAt, PresenceRole role, RedisKey stream, CancellationToken ct)
    {
        var id = group + "|" + stream.ToString();
        if (!_ready.Contains(id))
        {
            await events.EnsureGroupAsync(stream, group, createAt, ct).ConfigureAwait(false);
            _ready.Add(id);
        }

        var batch = options.CurrentValue.BatchSize;
        if (!_pendingDone.Contains(id))
        {
            var pending = await events.ReadAsync(role, stream, group, ConsumerName, ownPending: true, batch, ct).ConfigureAwait(false);
            if (pending.Length < batch)
            {
                _pendingDone.Add(id);
            }

            if (pending.Length > 0)
            {
                return pending;
            }
        }

        return await events.ReadAsync(role, stream, group, ConsumerName, ownPending: false, batch, ct).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group {Group} skipped stream entry {EntryId}: not a versioned state event.")]
    private static partial void LogSkipped(ILogger logger, string group, string entryId);
}
