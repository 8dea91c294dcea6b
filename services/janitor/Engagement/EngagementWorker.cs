using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.Janitor.Leadership;
using Presence.Janitor.Notifications;
using StackExchange.Redis;
using Role = Presence.Core.Role;

namespace Presence.Janitor.Engagement;

/// <summary>
/// While this replica leads, feeds the state events to the notifier and to the analytics fold, each as its own
/// consumer group, so a restart or a change of leader loses nothing (docs/architecture.md, "Watchlists and notifications").
/// </summary>
internal sealed partial class EngagementWorker(
    StateEventConsumer consumer,
    PreferredTherapistNotifier notifier,
    Analytics analytics,
    LeaderLease lease,
    IOptionsMonitor<EngagementOptions> options,
    TimeProvider time,
    ILogger<EngagementWorker> logger) : BackgroundService
{
    public const string NotifierGroup = "notifier";
    public const string AnalyticsGroup = "analytics";

    /// <summary>
    /// One pass of both groups; the number of entries handled. Created for the first time, the notifier's group starts
    /// at new entries (a note is about now; the history the capped stream holds would only send stale ones), the
    /// analytics group at the beginning (the recent history is folded too).
    /// </summary>
    public async Task<int> PumpOnceAsync(CancellationToken ct)
    {
        var notified = await consumer.PumpAsync(NotifierGroup, StreamPosition.NewMessages, NotifyAsync, ct).ConfigureAwait(false);
        var folded = await consumer.PumpAsync(AnalyticsGroup, StreamPosition.Beginning, (e, token) => analytics.FoldAsync(e, token), ct).ConfigureAwait(false);
        return notified + folded;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.CurrentValue.ConsumeStreams)
        {
            LogConsumersOff(logger);
            return;
        }

        var wasLeader = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var handled = 0;
            try
            {
                if (lease.IsLeader)
                {
                    wasLeader = true;
                    handled = await PumpOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                else if (wasLeader)
                {
                    wasLeader = false;
                    consumer.Reset();
                }
            }
            catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
            {
                // Unacknowledged entries stay pending and are read again first.
                LogPumpFailed(logger, ex);
                consumer.Reset();
            }

            if (handled == 0)
            {
                try
                {
                    await Task.Delay(options.CurrentValue.PollDelay, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private Task NotifyAsync(PresenceEvent e, CancellationToken ct) =>
        e.Role == Role.Therapist ? notifier.HandleAsync(e, ct) : Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Engagement consumers are off (Engagement:ConsumeStreams=false): no notifications, no analytics folding.")]
    private static partial void LogConsumersOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engagement consumers failed a pass; pending entries are read again.")]
    private static partial void LogPumpFailed(ILogger logger, Exception exception);
}
