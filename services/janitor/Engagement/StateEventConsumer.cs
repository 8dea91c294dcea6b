using Microsoft.Extensions.Options;
using Presence.Core;
using StackExchange.Redis;
using Role = Presence.Core.Role;

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
    public IReadOnlyList<(Role Role, RedisKey Stream)> Streams =>
        [.. Roles.All.SelectMany(role => keys.EventStreams(role).Select(stream => (role, stream)))];

    /// <summary>
    /// Reads and handles one batch from every stream; the number of entries handled (0: nothing new). A group created
    /// now starts at <paramref name="createAt"/> (the beginning of what the capped stream holds, or only new entries).
    /// </summary>
    public async Task<int> PumpAsync(string group, RedisValue createAt, PresenceEventHandler handler, CancellationToken ct)
    {
        var handled = 0;
        foreach (var (role, stream) in Streams)
        {
            var id = group + "|" + stream.ToString();
            if (!_ready.Contains(id))
            {
                await events.EnsureGroupAsync(stream, group, createAt, ct).ConfigureAwait(false);
                _ready.Add(id);
            }

            // Own pending entries first (a restart or a change of leader left them unacknowledged), then new ones.
            var batch = options.CurrentValue.BatchSize;
            var entries = Array.Empty<StreamedEvent>();
            if (!_pendingDone.Contains(id))
            {
                entries = await events.ReadAsync(role, stream, group, ConsumerName, ownPending: true, batch, ct).ConfigureAwait(false);
                if (entries.Length < batch)
                {
                    _pendingDone.Add(id);
                }
            }

            if (entries.Length == 0)
            {
                entries = await events.ReadAsync(role, stream, group, ConsumerName, ownPending: false, batch, ct).ConfigureAwait(false);
            }

            var done = new List<RedisValue>(entries.Length);
            try
            {
                foreach (var entry in entries)
                {
                    if (entry.Event is { } e)
                    {
                        await handler(e, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        // Malformed: acknowledged and skipped, not retried for ever.
                        LogSkipped(logger, group, entry.EntryId.ToString());
                    }

                    done.Add(entry.EntryId);
                }
            }
            finally
            {
                await events.AckAsync(stream, group, [.. done], ct).ConfigureAwait(false);
            }

            handled += done.Count;
        }

        return handled;
    }

    /// <summary>Forgets what this replica knew (it lost the lead): the next leader starts from the pending list.</summary>
    public void Reset()
    {
        _ready.Clear();
        _pendingDone.Clear();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Group {Group} skipped stream entry {EntryId}: not a versioned state event.")]
    private static partial void LogSkipped(ILogger logger, string group, string entryId);
}
