using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Leadership;

namespace Presence.Janitor.Sweeping;

/// <summary>
/// Runs <see cref="Sweeper.SweepOnceAsync"/> every <see cref="JanitorOptions.SweepInterval"/> while this replica
/// leads. A Redis failure is logged and the next attempt waits out a doubling backoff (up to
/// <see cref="JanitorOptions.MaxBackoff"/>): the host keeps running, readiness reports Redis, and the first tick
/// after recovery catches up by score.
/// </summary>
internal sealed partial class SweepWorker(
    Sweeper sweeper,
    LeaderLease lease,
    JanitorMetrics metrics,
    IOptions<JanitorOptions> options,
    TimeProvider time,
    ILogger<SweepWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(o.SweepInterval, time);
        var failures = 0;
        var retryAt = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!lease.IsLeader || (failures > 0 && time.GetTimestamp() < retryAt))
                {
                    continue;
                }

                try
                {
                    var report = await sweeper.SweepOnceAsync(stoppingToken).ConfigureAwait(false);
                    if (failures > 0)
                    {
                        LogRecovered(logger, failures);
                        failures = 0;
                    }

                    if (!report.CaughtUp)
                    {
                        LogBehind(logger, report.OnlineRemoved, report.LastSeenTrimmed);
                    }
                }
                catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !stoppingToken.IsCancellationRequested)
                {
                    failures++;
                    var backoff = Backoff(o, failures);
                    retryAt = time.GetTimestamp() + (long)(backoff.TotalSeconds * time.TimestampFrequency);
                    metrics.RedisLoopError(RedisLoops.JanitorSweep, ex);
                    LogFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), failures, backoff, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Doubling from the sweep interval, capped. No jitter: only the leader sweeps, so there is no herd.</summary>
    internal static TimeSpan Backoff(JanitorOptions o, int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromTicks((long)Math.Min(o.SweepInterval.Ticks * factor, o.MaxBackoff.Ticks));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep failed (Redis {ErrorClass}, {Failures} in a row); next attempt in {Backoff}.")]
    private static partial void LogFailed(ILogger logger, string errorClass, int failures, TimeSpan backoff, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweeping again after {Failures} failed attempts.")]
    private static partial void LogRecovered(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep hit its per-tick bound (online {Online}, last-seen {LastSeen}); catching up next tick.")]
    private static partial void LogBehind(ILogger logger, long online, long lastSeen);
}
