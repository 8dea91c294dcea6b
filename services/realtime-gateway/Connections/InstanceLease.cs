using Microsoft.Extensions.Options;
using Presence.Core;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// Keeps this instance's lease alive (every third of <see cref="PresenceOptions.InstanceLease"/>) so the janitor can
/// tell a killed pod from a live one; on a graceful stop removes the instance and whatever connections it still holds.
/// </summary>
internal sealed partial class InstanceLease(
    ConnectionStore connections,
    GatewayInstance instance,
    IOptionsMonitor<PresenceOptions> options,
    PresenceMetrics metrics,
    TimeProvider time,
    ILogger<InstanceLease> logger) : BackgroundService
{
    /// <summary>First retry after a failed renewal; doubling from there up to the renewal pace.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(logger, instance.Id);
        var failures = 0;
        try
        {
            while (true)
            {
                var period = options.CurrentValue.InstanceLease / 3;
                TimeSpan wait;
                try
                {
                    await connections.RenewInstanceAsync(instance.Id, stoppingToken).ConfigureAwait(false);
                    if (failures > 0)
                    {
                        LogRenewRecovered(logger, instance.Id, failures);
                    }

                    failures = 0;
                    wait = period;
                }
                catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) && !stoppingToken.IsCancellationRequested)
                {
                    // Any Redis answer (down, OOM, MISCONF, READONLY, NOPERM, ...) leaves the host running: retried sooner
                    // than the renewal pace at first, so one lost renewal does not cost the lease.
                    failures++;
                    wait = RedisLoops.Backoff(failures, RetryDelay, period);
                    metrics.RedisLoopError(RedisLoops.GatewayLease, ex);
                    LogRenewFailed(logger, instance.Id, (RedisErrors.Classify(ex) ?? RedisErrorClass.Server).Name(), failures, wait, ex);
                }

                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // The web server stopped first (it closed the hub connections, each ending its session); this ends what is left
        // as closed too (the leave grace applies: clients reconnect to another instance inside it), so the janitor
        // does not wait for the lease to lapse.
        try
        {
            var signedOff = await connections.RemoveInstanceAsync(instance.Id, lost: false, cancellationToken).ConfigureAwait(false);
            LogRemoved(logger, instance.Id, signedOff);
        }
        catch (Exception ex) when (RedisErrors.IsRedisFailure(ex) || ex is OperationCanceledException)
        {
            LogRemoveFailed(logger, instance.Id, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway instance {InstanceId} started")]
    private static partial void LogStarted(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the lease of gateway instance {InstanceId} (Redis {ErrorClass}, {Failures} in a row); retrying in {Wait}")]
    private static partial void LogRenewFailed(ILogger logger, string instanceId, string errorClass, int failures, TimeSpan wait, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Renewed the lease of gateway instance {InstanceId} again after {Failures} failed attempts")]
    private static partial void LogRenewRecovered(ILogger logger, string instanceId, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway instance {InstanceId} removed on shutdown; {SignedOff} users left")]
    private static partial void LogRemoved(ILogger logger, string instanceId, int signedOff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove gateway instance {InstanceId} on shutdown; the janitor removes it when its lease lapses")]
    private static partial void LogRemoveFailed(ILogger logger, string instanceId, Exception exception);
}
