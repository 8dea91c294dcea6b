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
    TimeProvider time,
    ILogger<InstanceLease> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(logger, instance.Id);
        using var timer = new PeriodicTimer(options.CurrentValue.InstanceLease / 3, time);
        do
        {
            try
            {
                await connections.RenewInstanceAsync(instance.Id, stoppingToken).ConfigureAwait(false);
            }
            catch (RedisUnavailableException ex)
            {
                // Two more tries before the lease lapses; if Redis stays away that long, so does everything else.
                LogRenewFailed(logger, instance.Id, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
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
        catch (Exception ex) when (ex is RedisUnavailableException or OperationCanceledException)
        {
            LogRemoveFailed(logger, instance.Id, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway instance {InstanceId} started")]
    private static partial void LogStarted(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the lease of gateway instance {InstanceId}")]
    private static partial void LogRenewFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway instance {InstanceId} removed on shutdown; {SignedOff} users left")]
    private static partial void LogRemoved(ILogger logger, string instanceId, int signedOff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove gateway instance {InstanceId} on shutdown; the janitor removes it when its lease lapses")]
    private static partial void LogRemoveFailed(ILogger logger, string instanceId, Exception exception);
}
