using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.Janitor.Leadership;
using Presence.Janitor.Notifications;
using StackExchange.Redis;

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
    JanitorMetrics metrics,
    IOptionsMonitor<EngagementOptions> options,
    TimeProvider time,
    ILogger<EngagementWorker> logger) : BackgroundService
{
    public const string NotifierGroup = "notifier";
    public const string AnalyticsGroup = "analytics";

    /// <summary>The longest wait between failed passes while Redis refuses.</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

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
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var handled = 0;
            var wait = options.CurrentValue.PollDelay;
            try
            {
                if (lease.IsLeader)
                {
                    wasLeader = true;
                    handled = await PumpOnceAsync(stoppingToken).ConfigureAwait(false);
                    failures = 0;
                }
                else if (wasLeader)
                {
                    wasLeader = false;
                    consumer.Reset();
                }
            }
            catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !stoppingToken.IsCancellationRequested)
            {
                // Unacknowledged entries stay pending and are read again first; like every loop, counted by class and
                // retried after a growing wait (docs/reliability.md, "Redis errors").
                failures++;
                wait = RedisLoops.Backoff(failures, options.CurrentValue.PollDelay, MaxBackoff);
                metrics.RedisLoopError(RedisLoops.JanitorEngagement, ex);
                LogPumpFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), failures, wait, ex);
                consumer.Reset();
            }

            if (handled == 0)
            {
                try
                {
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private Task NotifyAsync(PresenceEvent e, CancellationToken ct) =>
        e.Role == PresenceRole.Therapist ? notifier.HandleAsync(e, ct) : Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Engagement consumers are off (Engagement:ConsumeStreams=false): no notifications, no analytics folding.")]
    private static partial void LogConsumersOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engagement consumers failed a pass (Redis {ErrorClass}, {Failures} in a row); pending entries are read again in {Wait}.")]
    private static partial void LogPumpFailed(ILogger logger, string errorClass, int failures, TimeSpan wait, Exception exception);
}
