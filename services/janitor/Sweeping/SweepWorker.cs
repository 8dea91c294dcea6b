using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Leadership;

namespace Presence.Janitor.Sweeping;

/// <summary>
/// Runs <see cref="Sweeper.SweepOnceAsync"/> every <see cref="JanitorOptions.SweepInterval"/> while this replica
/// leads, and between those ticks wakes when the first online-until passes (<see cref="DueTimes"/>) to run the online
/// sweep alone, so a user is reported within a few tens of milliseconds of its window rather than up to a whole
/// interval later (docs/benchmarks.md, janitor). A Redis failure is logged and the next attempt waits out a doubling
/// backoff (up to <see cref="JanitorOptions.MaxBackoff"/>): the host keeps running, readiness reports Redis, and the
/// first tick after recovery catches up by score.
/// </summary>
internal sealed partial class SweepWorker(
    Sweeper sweeper,
    DueTimes dueTimes,
    LeaderLease lease,
    JanitorMetrics metrics,
    IOptions<JanitorOptions> options,
    TimeProvider time,
    ILogger<SweepWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var failures = 0;
        var nextTick = 0L;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = o.SweepInterval;
                if (lease.IsLeader)
                {
                    try
                    {
                        var started = time.GetUtcNow();
                        bool caughtUp;
                        if (time.GetTimestamp() >= nextTick)
                        {
                            nextTick = time.GetTimestamp() + (long)(o.SweepInterval.TotalSeconds * time.TimestampFrequency);
                            var report = await sweeper.SweepOnceAsync(stoppingToken).ConfigureAwait(false);
                            caughtUp = report.CaughtUp;
                            if (!caughtUp)
                            {
                                LogBehind(logger, report.OnlineRemoved, report.LastSeenTrimmed);
                            }
                        }
                        else
                        {
                            (_, caughtUp) = await sweeper.SweepOnlineAsync(stoppingToken).ConfigureAwait(false);
                        }

                        if (failures > 0)
                        {
                            LogRecovered(logger, failures);
                            failures = 0;
                        }

                        wait = await NextWakeAsync(o, started, caughtUp, nextTick, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !stoppingToken.IsCancellationRequested)
                    {
                        failures++;
                        wait = Backoff(o, failures);
                        nextTick = 0;
                        metrics.RedisLoopError(RedisLoops.JanitorSweep, ex);
                        LogFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), failures, wait, ex);
                    }
                }

                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Until the next whole tick, or earlier when someone's online-until comes first (not sooner than a tenth of the
    /// interval, so a stream of lapses is worked off in batches). A user already due when the sweep started that the
    /// sweep did not remove (it caught up, so the user is not settleable: an invalid id) does not wake it early again.
    /// </summary>
    private async Task<TimeSpan> NextWakeAsync(JanitorOptions o, DateTimeOffset sweepStarted, bool caughtUp, long nextTick, CancellationToken ct)
    {
        var untilTick = TimeSpan.FromSeconds(Math.Max(0, nextTick - time.GetTimestamp()) / (double)time.TimestampFrequency);
        var floor = o.SweepInterval / 10;
        if (!caughtUp)
        {
            return floor < untilTick ? floor : untilTick;
        }

        var earliest = await dueTimes.EarliestOnlineUntilAsync(ct).ConfigureAwait(false);
        if (earliest is not { } due || due <= sweepStarted.ToUnixTimeMilliseconds())
        {
            return untilTick;
        }

        var untilDue = TimeSpan.FromMilliseconds(due - time.GetUtcNow().ToUnixTimeMilliseconds() + 1);
        var wake = untilDue < floor ? floor : untilDue;
        return wake < untilTick ? wake : untilTick;
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
