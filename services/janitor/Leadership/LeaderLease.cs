using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Janitor.Sweeping;

namespace Presence.Janitor.Leadership;

/// <summary>
/// The janitor leader lease (<c>presence:janitor:lease</c>, docs/architecture.md, "Keys"): any number of replicas compete,
/// one holds it. The holder renews every third of the lease; a follower retries when the holder's lease
/// would run out (its PTTL), so it takes over within one lease period of the leader's death.
/// <para>
/// <see cref="IsLeader"/> turns false by itself once the local validity passes (a share of the lease counted
/// from the moment the renewal was <em>sent</em>), so a leader cut off from Redis stops believing it leads
/// before Redis lets the lease lapse and a follower takes it: never two leaders at once. Overlap would
/// not lose anything anyway (the sweep is safe with two sweepers); it would only double the work.
/// </para>
/// </summary>
internal sealed partial class LeaderLease(
    LeaderLeaseStore store,
    IOptionsMonitor<JanitorOptions> options,
    JanitorMetrics metrics,
    RedisOutageWatch outages,
    TimeProvider time,
    ILogger<LeaderLease> logger)
{
    /// <summary>Share of the lease this holder trusts: the rest covers clock-rate drift between it and Redis.</summary>
    private const double ValidityShare = 0.9;

    private long _validUntil;
    private bool _leading;

    /// <summary>Who holds the lease: unique per process start, readable in <c>GET presence:janitor:lease</c>.</summary>
    public string Token { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    public bool IsLeader
    {
        get
        {
            var until = Volatile.Read(ref _validUntil);
            return until != 0 && time.GetTimestamp() < until;
        }
    }

    /// <summary>Successful renewals since this replica last acquired the lease.</summary>
    public int Renewals { get; private set; }

    /// <summary>Acquire-or-renew until cancelled. Cancelling does not release: <see cref="ReleaseAsync"/> does.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var next = await TryAcquireOrRenewAsync(ct).ConfigureAwait(false);
            // Task.Delay rather than PeriodicTimer: a follower's wait follows the holder's remaining lease.
            await Task.Delay(next, time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>One attempt to acquire or renew the lease; returns how long to wait before the next.</summary>
    public async Task<TimeSpan> TryAcquireOrRenewAsync(CancellationToken ct)
    {
        var o = options.CurrentValue;
        var sent = time.GetTimestamp();
        LeaseAttempt attempt;
        try
        {
            attempt = await store.AcquireOrRenewAsync(Token, o.LeaseDuration, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && outages.Note(ex))
        {
            // Keep what validity is left: a renewal may fail twice before the lease lapses. Every Redis answer lands
            // here (down, OOM, MISCONF, READONLY, NOPERM, ...): the next attempt comes at the renewal pace, as ever.
            metrics.RedisLoopError(RedisLoops.JanitorLeader, ex);
            LogAttemptFailed(logger, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), ex);
            NoteLossIfLapsed();
            return o.RenewInterval;
        }

        if (attempt.Held)
        {
            Volatile.Write(ref _validUntil, sent + (long)(o.LeaseDuration.TotalSeconds * ValidityShare * time.TimestampFrequency));
            if (_leading)
            {
                Renewals++;
            }
            else
            {
                _leading = true;
                Renewals = 0;
                metrics.LeaderChange("acquired");
                LogAcquired(logger, Token, o.LeaseDuration);
            }

            return o.RenewInterval;
        }

        Volatile.Write(ref _validUntil, 0);
        NoteLossIfLapsed();
        return attempt.HolderRemainingMs switch
        {
            // No TTL on the key (set by hand): it never lapses by itself, so look again at the renewal pace.
            -1 => o.RenewInterval,
            // Gone between GET and PTTL: try again at once.
            <= 0 => TimeSpan.FromMilliseconds(1),
            // Wake when the holder's lease would run out, but at least every renewal interval, so a released
            // lease is taken over quickly too.
            var remaining => TimeSpan.FromMilliseconds(Math.Min(remaining + 1, o.RenewInterval.TotalMilliseconds)),
        };
    }

    /// <summary>Gives the lease up (graceful shutdown) so a follower takes over at its next attempt, not after the lease runs out.</summary>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        if (!_leading)
        {
            return;
        }

        Volatile.Write(ref _validUntil, 0);
        _leading = false;
        metrics.LeaderChange("released");
        try
        {
            LogReleased(logger, await store.ReleaseAsync(Token, ct).ConfigureAwait(false));
        }
        catch (Exception ex) when (RedisErrors.IsRedisFailure(ex)
            || (ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            // Redis is away or the shutdown ran out of time: the lease runs out by itself, and a follower takes
            // over within one lease period. Shutdown goes on either way.
            LogReleaseFailed(logger, ex);
        }
    }

    private void NoteLossIfLapsed()
    {
        if (_leading && !IsLeader)
        {
            _leading = false;
            metrics.LeaderChange("lost");
            LogLost(logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Janitor leadership acquired as {Token} (lease {Lease}).")]
    private static partial void LogAcquired(ILogger logger, string token, TimeSpan lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Janitor leadership lost: the lease lapsed or another replica holds it.")]
    private static partial void LogLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Janitor lease released (held until now: {Held}).")]
    private static partial void LogReleased(ILogger logger, bool held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Janitor lease attempt failed (Redis {ErrorClass}); retrying.")]
    private static partial void LogAttemptFailed(ILogger logger, string errorClass, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Janitor lease release failed; it will lapse by itself.")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception);
}
